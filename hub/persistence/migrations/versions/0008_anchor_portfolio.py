"""anchor programmes (with each supplier's use for its share cap) and the 205号 portfolio
(its figures and its exposure per debtor); a reservation names the programme and the debtor
it holds on

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "anchor_programmes",
        sa.Column("anchor_uscc", sa.String(length=18), nullable=False),
        sa.Column("anchor_name", sa.String(length=140), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("limit_fen", sa.BigInteger(), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("seller_share_bp", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("anchor_uscc"),
    )
    op.create_table(
        "anchor_sellers",
        sa.Column("anchor_uscc", sa.String(length=18), nullable=False),
        sa.Column("seller_uscc", sa.String(length=18), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("anchor_uscc", "seller_uscc"),
    )
    op.create_table(
        "portfolio",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_assets_fen", sa.BigInteger(), nullable=False),
        sa.Column("other_risk_assets_fen", sa.BigInteger(), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "portfolio_debtors",
        sa.Column("debtor_uscc", sa.String(length=18), nullable=False),
        sa.Column("related", sa.Boolean(), nullable=False),
        sa.Column("other_fen", sa.BigInteger(), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("reserved_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("debtor_uscc"),
    )
    with op.batch_alter_table("limit_reservations") as batch:
        batch.add_column(sa.Column("anchor_uscc", sa.String(length=18), nullable=True))
        batch.add_column(sa.Column("portfolio_debtor", sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("limit_reservations") as batch:
        batch.drop_column("portfolio_debtor")
        batch.drop_column("anchor_uscc")
    op.drop_table("portfolio_debtors")
    op.drop_table("portfolio")
    op.drop_table("anchor_sellers")
    op.drop_table("anchor_programmes")
