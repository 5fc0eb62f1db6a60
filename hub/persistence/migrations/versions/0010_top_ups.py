"""top-ups: applications financing an invoice beside the one its lock names, within the
advance-rate headroom (§2.2, §3.1)

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_top_ups",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_invoice_top_ups_fingerprint", "invoice_top_ups", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_invoice_top_ups_fingerprint", table_name="invoice_top_ups")
    op.drop_table("invoice_top_ups")
