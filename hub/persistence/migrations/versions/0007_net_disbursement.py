"""the payout's split (principal, fee base, interest deducted up front); registrations
cancelled after settlement; presumed payment outcomes

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    "disbursements": ("principal_fen", "base_fen", "upfront_interest_fen"),
    "loans": ("base_fen", "upfront_interest_fen"),
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, sa.BigInteger(), nullable=True))
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("disbursements") as batch:
        batch.add_column(sa.Column("presumed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disbursements") as batch:
        batch.drop_column("presumed")
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("cancelled_at")
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in reversed(columns):
                batch.drop_column(column)
