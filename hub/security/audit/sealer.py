"""Sealing: appending new source rows to the chain, in batches, under the head's lock.

On PostgreSQL ids are handed out before commit, so `_Horizon` holds the ids a sealer saw until
every transaction that might still write below them has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.db import Database
from hub.security.audit.entries import (
    _HEAD,
    _SOURCES,
    _at,
    _chain,
    _fetch,
    _head,
    _values,
)
from hub.security.gm import sm3

__all__ = ["AuditError", "Sealer", "seal_now"]

log = logging.getLogger("factorhub.audit")

_BATCH = 5000
_HEAD_LOCKED = _HEAD.with_for_update()
_INSERT_LINKS = insert(_chain)
_LINK_COLUMNS = ("seq", "source", "entry_id", "prev_hash", "hash")
_INSERT_LINKS_SQLITE = (
    f"INSERT INTO {_chain.name} ({', '.join(_LINK_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
)
_FIGURES = select(
    literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"),
    literal_column("pg_snapshot_xmax(pg_current_snapshot())::text::bigint"),
    *(select(func.coalesce(func.max(s.table.c.id), 0)).scalar_subquery() for s in _SOURCES),
)
"""PostgreSQL: the oldest transaction still running, the next one to start, and each table's
highest id, all as of one snapshot."""


class AuditError(Exception):
    """The chain could not be sealed (transactions kept open too long)."""


@dataclass(slots=True)
class _Horizon:
    """PostgreSQL: when ids seen once are final. The highest ids are read with a snapshot;
    the next round notes which transactions had started by then (xmax: any that took an id
    below those ids has, even one that took it just before the snapshot and its transaction
    id just after); once the oldest running transaction is newer, every row below them is
    committed or never will be."""

    maxima: dict[str, int] | None = None
    xmax: int | None = None

    def advance(self, xmin: int, xmax: int, maxima: dict[str, int]) -> dict[str, int] | None:
        if self.maxima is None:
            self.maxima = maxima
        elif self.xmax is None:
            self.xmax = xmax
        elif xmin >= self.xmax:
            settled, self.maxima, self.xmax = self.maxima, maxima, None
            return settled
        return None


class Sealer:
    """Appends new history and action rows to the chain: `seal` once, or every `interval`
    seconds in a hub (`start`, `aclose`)."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime],
        *,
        interval: float = 1.0,
        batch: int = _BATCH,
    ) -> None:
        self._database = database
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._horizon = _Horizon()
        self._task: asyncio.Task[None] | None = None

    async def seal(self) -> int | None:
        """Seal what is final; how many entries (None: on PostgreSQL, transactions that may
        still write below the ids seen are running, so nothing is final yet)."""
        if self._database.is_sqlite:  # one writer: whatever is committed is final
            return await self._seal_upto(None)
        async with self._database.session() as session:
            xmin, xmax, *highest = (await session.execute(_FIGURES)).one()
        settled = self._horizon.advance(
            xmin, xmax, {s.name: int(n) for s, n in zip(_SOURCES, highest, strict=True)}
        )
        return None if settled is None else await self._seal_upto(settled)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-sealer")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.seal()
            except Exception:  # the next round tries again; the hub goes on
                log.exception("sealing the audit chain failed")

    async def _seal_upto(self, upto: Mapping[str, int] | None) -> int:
        sealed = 0
        while True:
            async with self._database.session() as session, session.begin():
                count, full = await _seal_batch(session, upto, self._clock(), self._batch)
            sealed += count
            if not full:
                return sealed


async def seal_now(
    database: Database, clock: Callable[[], datetime], *, patience: float = 60.0
) -> int:
    """Seal every row committed before the call (on PostgreSQL, once the transactions running
    now have ended); how many entries."""
    sealer = Sealer(database, clock)
    deadline = asyncio.get_running_loop().time() + patience
    while (count := await sealer.seal()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AuditError(f"transactions open for over {patience:.0f} s: nothing sealed")
        await asyncio.sleep(0.02)
    return count


async def _seal_batch(
    session: AsyncSession, upto: Mapping[str, int] | None, now: datetime, batch: int
) -> tuple[int, bool]:
    """Chain up to `batch` rows per table past the head's watermarks (and not past `upto`);
    the entries added and whether a table had more."""
    head = (await session.execute(_HEAD_LOCKED)).one()
    streams: list[list[list[Any]]] = []
    marks: dict[str, int] = {}
    full = False
    for source in _SOURCES:
        after: int = getattr(head, source.watermark)
        ids = source.table.c.id
        query = source.select().where(ids > after)
        if upto is not None:
            query = query.where(ids <= upto[source.name])
        rows = await _fetch(session, query.order_by(ids).limit(batch))
        streams.append([_values(source.name, row) for row in rows])
        full = full or len(rows) == batch
        if len(rows) == batch or upto is None:
            marks[source.watermark] = rows[-1][0] if rows else after
        else:  # every id up to `upto` is final: the gaps are rolled-back transactions
            marks[source.watermark] = max(after, upto[source.name])
    seq, last = head.seq, head.hash
    previous = bytes.fromhex(last)
    links: list[tuple[int, str, int, str, str]] = []
    for values in heapq.merge(*streams, key=_at):
        digest = sm3(previous + orjson.dumps(values))
        seq += 1
        hashed = digest.hex()
        links.append((seq, values[0], values[1], last, hashed))
        previous, last = digest, hashed
    if links:
        await _store(session, links)
    if links or any(marks[k] != getattr(head, k) for k in marks):
        moved = {"seq": seq, "hash": last, "sealed_at": now} if links else {}
        await session.execute(update(_head).where(_head.c.id == 1).values(**moved, **marks))
    return len(links), full


async def _store(session: AsyncSession, links: list[tuple[int, str, int, str, str]]) -> None:
    """Insert the new entries (on SQLite through the driver: plain text and integers)."""
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(
            _INSERT_LINKS, [dict(zip(_LINK_COLUMNS, link, strict=True)) for link in links]
        )
        return
    connection = await (await session.connection()).get_raw_connection()
    driver = connection.driver_connection._connection  # type: ignore[union-attr]
    driver.executemany(_INSERT_LINKS_SQLITE, links)
