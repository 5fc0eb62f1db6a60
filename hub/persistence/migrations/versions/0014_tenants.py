"""ingress authentication: the tenants (their sellers and signing keys) and the nonces their
signed pushes used (a unique key refuses a replay)

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=140), nullable=False),
        sa.Column("sellers", sa.Text(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("previous_key_id", sa.String(length=64), nullable=True),
        sa.Column("previous_key", sa.Text(), nullable=True),
        sa.Column("previous_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ingress_nonces",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "nonce"),
    )
    op.create_index("ix_ingress_nonces_seen_at", "ingress_nonces", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_ingress_nonces_seen_at", table_name="ingress_nonces")
    op.drop_table("ingress_nonces")
    op.drop_table("tenants")
