"""Small SQL helpers shared by the repositories (dialect differences live here)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, Table, Text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert, UpdateBase

from hub.persistence.tables import UtcDateTime
from observability.database import statement_span

__all__ = ["execute_many", "insert_ignoring_duplicates", "upsert"]

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


async def upsert(
    session: AsyncSession,
    row: Any,
    values: dict[str, Any],
    *,
    key: str,
    update: Iterable[str],
) -> None:
    """INSERT `values`, or where a row with that `key` exists, set only its `update` columns
    (what a limit has used and reserved is kept): the operators' set-up of a limit."""
    dialect = session.get_bind().dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(row).values(values)
    changed = {column: stmt.excluded[column] for column in update}
    await session.execute(stmt.on_conflict_do_update(index_elements=[key], set_=changed))


async def execute_many(
    session: AsyncSession, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run an INSERT / UPDATE once per row (all rows with the same keys); the rows affected
    (-1 when the driver cannot tell, as asyncpg for executemany).

    On SQLite (the embedded default, one connection run inline on the loop) the rows go to the
    driver's `executemany` with the statement compiled once: SQLAlchemy's per-row parameter
    processing costs about as much as SQLite's own work on these small rows. Elsewhere, and
    for any column type not plainly representable, SQLAlchemy runs it as usual.
    """
    if not rows:
        return 0
    plan = _plan(statement, tuple(rows[0])) if session.get_bind().dialect.name == "sqlite" else None
    if plan is None:
        result = await session.execute(statement, list(rows))
        return int(result.rowcount)  # type: ignore[attr-defined]
    bound = await session.connection()
    connection = await bound.get_raw_connection()
    driver: sqlite3.Connection = connection.driver_connection._connection  # type: ignore[union-attr]
    values = [plan.values(row) for row in rows]
    with statement_span(bound.sync_connection or bound.sync_engine, plan.sql, batch_size=len(rows)):
        try:
            return driver.executemany(plan.sql, values).rowcount
        except sqlite3.Error as error:  # the same exception tree as through SQLAlchemy
            raise DBAPIError.instance(plan.sql, values, error, sqlite3.Error) from error


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    names: tuple[str, ...]
    fixed: Mapping[str, Any]
    convert: Mapping[str, Callable[[Any], Any]]

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        convert, fixed, out = self.convert, self.fixed, []
        for name in self.names:
            value = row[name] if name in row else fixed[name]
            if value is not None and name in convert:
                value = convert[name](value)
            out.append(value)
        return tuple(out)


_PLANS: dict[tuple[int, tuple[str, ...]], _Plan | None] = {}
_SQLITE = sqlite.dialect(paramstyle="qmark")


def _plan(statement: UpdateBase, keys: tuple[str, ...]) -> _Plan | None:
    """The statement compiled for SQLite with positional parameters, or None when one of its
    parameters has a type this shortcut does not convert exactly as SQLAlchemy would."""
    cache_key = (id(statement), keys)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    compiled = statement.compile(dialect=_SQLITE, column_keys=list(keys))
    names = tuple(compiled.positiontup or ())
    convert: dict[str, Callable[[Any], Any]] = {}
    plan: _Plan | None = None
    for name in names:
        kind = compiled.binds[name].type
        if isinstance(kind, UtcDateTime):
            convert[name] = _sqlite_timestamp
        elif not isinstance(kind, String | Text | Integer):
            break
    else:
        plan = _Plan(compiled.string, names, dict(compiled.params), convert)
    _PLANS[cache_key] = plan
    return plan


@lru_cache(maxsize=256)
def _sqlite_timestamp(moment: datetime) -> str:
    """What SQLAlchemy stores for a UtcDateTime on SQLite (UTC, always with microseconds);
    remembered, since a batch stamps all its rows with one clock reading."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%d %H:%M:%S}.{utc.microsecond:06d}"
