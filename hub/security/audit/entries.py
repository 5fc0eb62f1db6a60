"""What the chain seals and where: the sources, their rows' canonical bytes, operator actions.

An entry's hash covers `_canonical` of its row, so the sources' columns and `_values` are the
chain's format: never reorder or drop a column (sealed entries are computed from them). The
chain's own tables (`audit_chain`, `audit_head`) and `GENESIS` live here for the sealer and
verifier both.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeAlias

import orjson
from sqlalchemy import Select, Table, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.tables import (
    AuditActionRow,
    AuditEntryRow,
    AuditHeadRow,
    LifecycleEventRow,
    RequestEventRow,
    table_of,
)

__all__ = ["GENESIS", "operator_name", "record_action"]

GENESIS = "0" * 64
"""The hash the first entry is chained to."""

_Query: TypeAlias = Select[*tuple[Any, ...]]
_chain = table_of(AuditEntryRow)
_head = table_of(AuditHeadRow)
_actions = table_of(AuditActionRow)
_SQLITE = sqlite.dialect()


@dataclass(frozen=True, slots=True)
class _Source:
    """A table the chain seals: the columns of its rows' canonical bytes, `id` first (never
    reorder or drop one: sealed entries are computed from them)."""

    name: str
    table: Table
    columns: tuple[str, ...]

    @property
    def watermark(self) -> str:
        """The head's column: the id up to which every row is sealed."""
        return f"{self.name}_to"

    def select(self) -> _Query:
        return select(*(self.table.c[c] for c in self.columns))


_SOURCES = (
    _Source(
        "request",
        table_of(RequestEventRow),
        (
            "id",
            "request_id",
            "state",
            "reason",
            "note",
            "message_id",
            "message_type",
            "at",
            "receivable_from",
            "receivable_to",
            "receivable_event",
        ),
    ),
    _Source(
        "lifecycle",
        table_of(LifecycleEventRow),
        (
            "id",
            "request_id",
            "entity",
            "from_state",
            "to_state",
            "event",
            "note",
            "message_id",
            "message_type",
            "at",
        ),
    ),
    _Source(
        "action",
        _actions,
        ("id", "at", "actor", "action", "request_id", "from_state", "to_state", "details"),
    ),
)
_BY_NAME = {s.name: s for s in _SOURCES}
_AT = {s.name: 1 + s.columns.index("at") for s in _SOURCES}
"""Where `at` is among an entry's values (after its source's name)."""
_HEAD = select(_head).where(_head.c.id == 1)


def operator_name() -> str:
    """Who acts from this shell: FACTORHUB_OPERATOR, else the login name, else "unknown"."""
    name = os.environ.get("FACTORHUB_OPERATOR")
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
            name = "unknown"
    return name[:64]


async def record_action(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    request_id: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    details: str | None = None,
) -> None:
    """Append an operator's action in the caller's transaction (it stands or falls with what
    was done); the sealer chains it with the rest."""
    await session.execute(
        insert(_actions).values(
            at=at,
            actor=actor[:64],
            action=action,
            request_id=request_id,
            from_state=from_state,
            to_state=to_state,
            details=details,
        )
    )


def _canonical(source: str, row: Sequence[Any]) -> bytes:
    """What an entry seals of its row: compact UTF-8 JSON of `_values`."""
    return orjson.dumps(_values(source, row))


def _values(source: str, row: Sequence[Any]) -> list[Any]:
    """[source, *columns], `at` in ISO 8601 UTC."""
    values: list[Any] = [source, *row]
    at = _AT[source]
    values[at] = _iso(values[at])
    return values


def _at(values: list[Any]) -> str:
    return str(values[_AT[values[0]]])


@lru_cache(maxsize=1024)
def _iso(moment: datetime | str) -> str:
    """`at` in ISO 8601, UTC, as `datetime.isoformat` writes it, however the driver gave it;
    remembered (a batch stamps its rows with one clock reading)."""
    if isinstance(moment, str) and len(moment) == 26 and moment[10] == " " and moment[19] == ".":
        # SQLite's text of a UtcDateTime, UTC with microseconds: no need to parse it
        fraction = "" if moment.endswith(".000000") else moment[19:]
        return f"{moment[:10]}T{moment[11:19]}{fraction}+00:00"
    return _utc(moment).isoformat()


def _utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _fetch(session: AsyncSession, query: _Query) -> list[tuple[Any, ...]]:
    """The query's rows as plain tuples. On SQLite straight from the driver, its parameters
    (ids) written into the statement: SQLAlchemy's row processing would cost the sealer more
    than SQLite's own work (`_iso` reads the timestamps' text)."""
    if session.get_bind().dialect.name != "sqlite":
        return [tuple(row) for row in await session.execute(query)]
    sql = str(query.compile(dialect=_SQLITE, compile_kwargs={"literal_binds": True}))
    connection = await (await session.connection()).get_raw_connection()
    driver = connection.driver_connection._connection  # type: ignore[union-attr]
    return list(driver.execute(sql).fetchall())
