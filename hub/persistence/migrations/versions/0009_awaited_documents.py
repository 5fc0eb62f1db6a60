"""documents found by their keys (order number, the order a delivery note ships, a customs
contract), the documents stored before indexed too; and the orders applications wait for

Revision ID: 0009
Revises: 0008
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_keys",
        sa.Column("document_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("party_uscc", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "kind", "number"),
    )
    op.create_index("ix_document_keys_number", "document_keys", ["tenant", "number"])
    _index_stored_documents()
    op.create_table(
        "awaited_documents",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "number"),
    )
    op.create_index("ix_awaited_documents_number", "awaited_documents", ["tenant", "number"])


def _index_stored_documents() -> None:
    """The keys of the documents ingested before this revision (what routes.awaiting's
    `document_keys` gives, read from the stored canonical JSON)."""
    documents = sa.table(
        "documents",
        sa.column("id", sa.String),
        sa.column("tenant", sa.String),
        sa.column("document", sa.Text),
    )
    keys = sa.table(
        "document_keys",
        *(sa.column(name, sa.String) for name in ("document_id", "kind", "number", "tenant")),
        sa.column("party_uscc", sa.String),
    )
    rows = []
    for row in op.get_bind().execute(sa.select(documents)):
        for kind, number, party in _keys(json.loads(row.document)):
            rows.append(
                {
                    "document_id": row.id,
                    "kind": kind,
                    "number": number,
                    "tenant": row.tenant,
                    "party_uscc": party,
                }
            )
    if rows:
        op.bulk_insert(keys, rows)


def _keys(data: Any) -> list[tuple[str, str, str]]:
    if not isinstance(data, dict):
        return []
    if {"number", "order_date", "total"} <= data.keys():  # a purchase order
        buyer = data.get("buyer") or {}
        return [("order", str(data["number"]), str(buyer.get("uscc") or ""))]
    if {"number", "delivery_date"} <= data.keys() and data.get("order_number"):
        return [("delivery", str(data["order_number"])[:64], "")]
    if {"entry_id", "declare_date"} <= data.keys() and data.get("contract_number"):
        party = str(data.get("trade_uscc") or "")[:18]
        return [("customs", str(data["contract_number"])[:64], party)]
    return []


def downgrade() -> None:
    op.drop_index("ix_awaited_documents_number", table_name="awaited_documents")
    op.drop_table("awaited_documents")
    op.drop_index("ix_document_keys_number", table_name="document_keys")
    op.drop_table("document_keys")
