"""Small SQL helpers shared by the repositories (dialect differences live here)."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

__all__ = ["insert_ignoring_duplicates"]

_IGNORING: dict[tuple[str, str], Insert] = {}


def insert_ignoring_duplicates(session: AsyncSession, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for `table` (built once per dialect, then cached)."""
    dialect = session.get_bind().dialect.name
    statement = _IGNORING.get((dialect, table.name))
    if statement is None:
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = make(table).on_conflict_do_nothing()
        _IGNORING[(dialect, table.name)] = statement
    return statement
