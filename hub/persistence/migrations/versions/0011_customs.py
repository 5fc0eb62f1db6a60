"""an application waits for customs declarations too: awaited documents have a kind (`order`
or `customs`), part of their key, so one number can be awaited as an order and as a contract

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("request_id", "number", "tenant", "since", "due_at")


def upgrade() -> None:
    waits = _read()
    _recreate(with_kind=True)
    if waits:
        op.bulk_insert(_table(with_kind=True), [{**w, "kind": "order"} for w in waits])


def downgrade() -> None:
    waits = [w for w in _read(with_kind=True) if w["kind"] == "order"]
    _recreate(with_kind=False)
    if waits:
        rows = [{c: w[c] for c in _COLUMNS} for w in waits]
        op.bulk_insert(_table(with_kind=False), rows)


def _table(*, with_kind: bool) -> sa.TableClause:
    return sa.table(
        "awaited_documents",
        *(sa.column(c, sa.String) for c in ("request_id", "number", "tenant")),
        *((sa.column("kind", sa.String),) if with_kind else ()),
        sa.column("since", sa.DateTime(timezone=True)),
        sa.column("due_at", sa.DateTime(timezone=True)),
    )


def _read(*, with_kind: bool = False) -> list[dict[str, object]]:
    """The waits in progress (a few rows: they last until their documents come)."""
    rows = op.get_bind().execute(sa.select(_table(with_kind=with_kind))).mappings()
    return [dict(row) for row in rows]


def _recreate(*, with_kind: bool) -> None:
    """The table again, with or without `kind` in its primary key (a primary key changes by
    recreating the table on SQLite anyway)."""
    op.drop_index("ix_awaited_documents_number", table_name="awaited_documents")
    op.drop_table("awaited_documents")
    key = ("request_id", "kind", "number") if with_kind else ("request_id", "number")
    op.create_table(
        "awaited_documents",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        *((sa.Column("kind", sa.String(length=16), nullable=False),) if with_kind else ()),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(*key),
    )
    op.create_index("ix_awaited_documents_number", "awaited_documents", ["tenant", "number"])
