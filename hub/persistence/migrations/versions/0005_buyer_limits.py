"""buyer (debtor) limits, held together with the seller's facility

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buyer_limits",
        sa.Column("buyer_uscc", sa.String(length=18), nullable=False),
        sa.Column("buyer_name", sa.String(length=140), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("limit_fen", sa.BigInteger(), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("buyer_uscc"),
    )
    with op.batch_alter_table("limit_reservations") as batch:
        batch.add_column(sa.Column("buyer_uscc", sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("limit_reservations") as batch:
        batch.drop_column("buyer_uscc")
    op.drop_table("buyer_limits")
