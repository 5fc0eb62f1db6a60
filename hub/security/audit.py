"""The audit trail: every state change, decision and operator action in one SM3 hash chain.

The chain covers three tables, each row written in the transaction that made its change:
`request_events` (every application move with its reason and the message that caused it, the
receivable's move on the same row: the flow's decisions, by "system"), `lifecycle_events` (the
limit reservation's and the registration's moves) and `audit_actions` (an operator's action,
who and why: `record_action`). Business transactions write those rows as they always did and
never touch the chain, so none of them waits for another's hash.

A sealer appends the new rows afterwards, in id order per table (merged by time), to
`audit_chain`: each entry names its row and carries the previous entry's hash and its own,
SM3(previous hash || the row's canonical bytes). `audit_head`, one row, holds the last seq and
hash and, per table, the id up to which every row is sealed; sealers lock it (FOR UPDATE;
SQLite has one writer), so the hubs' background `Sealer`s and `factorhub audit seal` make one
chain. PostgreSQL hands out ids before commit, so a lower id can become visible after a higher
one: there a sealer seals up to the ids it saw only once every transaction that might still
write below them has ended (`pg_current_snapshot`), a few rounds later.

`verify` recomputes every entry from its row (`Flaw` lists what it finds); `sealed` reads the
chain back for a report (`factorhub audit export`). The canonical bytes are the JSON array of
the table's source name and the columns in `_SOURCES`, in that order, `at` in ISO 8601 UTC: a
column added to a table later is not sealed until a new source says so, and old entries keep
verifying.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import heapq
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple, TypeAlias

import orjson
from sqlalchemy import Select, Table, func, insert, literal_column, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.db import Database
from hub.persistence.tables import (
    AuditActionRow,
    AuditEntryRow,
    AuditHeadRow,
    LifecycleEventRow,
    RequestEventRow,
    table_of,
)
from hub.security.gm import sm3

__all__ = [
    "GENESIS",
    "AuditError",
    "ChainHead",
    "Finding",
    "Flaw",
    "Sealed",
    "Sealer",
    "Verdict",
    "chain_head",
    "operator_name",
    "record_action",
    "seal_now",
    "sealed",
    "verify",
]

log = logging.getLogger("factorhub.audit")

GENESIS = "0" * 64
"""The hash the first entry is chained to."""
_BATCH = 5000
_PAGE = 2000
_NEAR = 16
"""How many entries either side `verify` looks at for a row's sealed content moved there."""

_Query: TypeAlias = Select[*tuple[Any, ...]]
_chain = table_of(AuditEntryRow)
_head = table_of(AuditHeadRow)
_actions = table_of(AuditActionRow)
_SQLITE = sqlite.dialect()


class AuditError(Exception):
    """The chain could not be sealed (transactions kept open too long)."""


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
_HEAD_LOCKED = _HEAD.with_for_update()
_INSERT_LINKS = insert(_chain)
_LINK_COLUMNS = ("seq", "source", "entry_id", "prev_hash", "hash")
_INSERT_LINKS_SQLITE = (
    f"INSERT INTO {_chain.name} ({', '.join(_LINK_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
)
_LINKS = select(_chain.c.seq, _chain.c.source, _chain.c.entry_id, _chain.c.prev_hash, _chain.c.hash)
_FIGURES = select(
    literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"),
    literal_column("pg_snapshot_xmax(pg_current_snapshot())::text::bigint"),
    *(select(func.coalesce(func.max(s.table.c.id), 0)).scalar_subquery() for s in _SOURCES),
)
"""PostgreSQL: the oldest transaction still running, the next one to start, and each table's
highest id, all as of one snapshot."""


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


# -- sealing -------------------------------------------------------------------------------


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


# -- verifying -----------------------------------------------------------------------------


class Flaw(StrEnum):
    """What `verify` found wrong with an entry (or with the chain around it)."""

    EDITED = "edited"
    """The row no longer matches its seal: a field was changed (or the entry resealed)."""
    DELETED = "deleted"
    """The row the entry seals is gone."""
    MISSING = "missing"
    """Entries of the chain are gone: a gap in seq, or its end cut off."""
    REORDERED = "reordered"
    """Not where it was sealed: chained after another entry, or after a later row of its
    table."""
    BROKEN = "broken"
    """Chained to a hash no entry has: the entry before it was resealed or replaced."""
    INSERTED = "inserted"
    """A row among the sealed ids that the chain does not hold: written after sealing."""
    HEAD = "head"
    """The head, or a head exported earlier, names a hash the chain does not have."""


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last sealed entry: what a regulator keeps to check the chain against later."""

    seq: int
    hash: str
    sealed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int | None
    """The entry's sequence number (None: a row the chain does not hold)."""
    flaw: Flaw
    what: str


@dataclass(frozen=True, slots=True)
class Verdict:
    head: ChainHead
    entries: int
    """Entries read from the chain."""
    pending: int
    """Rows written since the last seal (not in the chain yet)."""
    findings: tuple[Finding, ...]

    @property
    def intact(self) -> bool:
        return not self.findings


class _Link(NamedTuple):
    seq: int
    source: str
    entry_id: int
    prev_hash: str
    hash: str


async def chain_head(database: Database) -> ChainHead:
    async with database.session() as session:
        head = (await session.execute(_HEAD)).one()
    return ChainHead(head.seq, head.hash, head.sealed_at)


async def verify(
    database: Database, *, expected: ChainHead | None = None, page: int = _PAGE
) -> Verdict:
    """Recompute the chain up to its head from the rows it seals; `expected`: a head exported
    earlier, which the chain must still hold."""
    async with database.session() as session:
        head = (await session.execute(_HEAD)).one()
    findings: list[Finding] = []
    relinked: list[tuple[int, str, int]] = []
    """(seq, the hash it is chained to, the seq before it)."""
    latest: dict[str, int] = {}
    seq, last, count, kept = 0, GENESIS, 0, None
    async for links in _links(database, head.seq, page):
        for index, (link, row) in enumerate(links):
            count += 1
            entry = f"{_table(link.source)} row {link.entry_id}"
            if link.seq != seq + 1:
                gone = f"{seq + 1}" if link.seq == seq + 2 else f"{seq + 1}..{link.seq - 1}"
                findings.append(Finding(seq + 1, Flaw.MISSING, f"seq {gone} gone"))
            elif link.prev_hash != last:
                relinked.append((link.seq, link.prev_hash, seq))
            before = latest.get(link.source, 0)
            if link.entry_id <= before:
                what = f"{entry} sealed after row {before}"
                findings.append(Finding(link.seq, Flaw.REORDERED, what))
            latest[link.source] = max(before, link.entry_id)
            if row is None:
                findings.append(Finding(link.seq, Flaw.DELETED, f"{entry} is gone"))
            elif not _matches(link, row):
                near = links[max(0, index - _NEAR) : index + _NEAR + 1]
                findings.append(_mismatch(link, entry, near))
            if expected is not None and link.seq == expected.seq:
                kept = link.hash
            seq, last = link.seq, link.hash
    if seq < head.seq:
        gone = f"{seq + 1}..{head.seq}" if head.seq > seq + 1 else f"{head.seq}"
        findings.append(Finding(seq + 1, Flaw.MISSING, f"seq {gone} gone (the end of the chain)"))
    elif last != head.hash:
        findings.append(Finding(seq, Flaw.HEAD, f"the head's hash is not seq {seq}'s"))
    if expected is not None and kept != expected.hash:
        now = "no such entry" if kept is None else f"it is now {kept}"
        what = f"the exported head seq {expected.seq} hash {expected.hash} does not match: {now}"
        findings.append(Finding(expected.seq, Flaw.HEAD, what))
    async with database.session() as session:
        findings += await _relinked(session, relinked)
        findings.sort(key=lambda f: f.seq or 0)
        inserted, pending = await _unsealed(session, head)
    return Verdict(
        ChainHead(head.seq, head.hash, head.sealed_at), count, pending, (*findings, *inserted)
    )


def _matches(link: _Link, row: tuple[Any, ...]) -> bool:
    try:
        previous = bytes.fromhex(link.prev_hash)
    except ValueError:  # not even a hash
        return False
    return sm3(previous + _canonical(link.source, row)).hex() == link.hash


def _mismatch(
    link: _Link, entry: str, near: Sequence[tuple[_Link, tuple[Any, ...] | None]]
) -> Finding:
    """A row that does not match its seal: reordered when what was sealed under its id is now
    a row sealed near it (two rows swapped), else edited."""
    for other, row in near:
        if row is None or other.source != link.source or row[0] == link.entry_id:
            continue
        if _matches(link, (link.entry_id, *row[1:])):
            what = f"what was sealed as {entry} is now row {row[0]}"
            return Finding(link.seq, Flaw.REORDERED, what)
    return Finding(link.seq, Flaw.EDITED, f"{entry} does not match its seal")


async def _relinked(
    session: AsyncSession, relinked: Sequence[tuple[int, str, int]]
) -> list[Finding]:
    """Entries chained to another entry than the one before them: reordered when that hash is
    another entry's, else broken."""
    if not relinked:
        return []
    hashes = sorted({h for _, h, _ in relinked})
    query = select(_chain.c.hash, _chain.c.seq).where(_chain.c.hash.in_(hashes))
    owners: dict[str, int] = {h: seq for h, seq in await session.execute(query)}
    found: list[Finding] = []
    for seq, chained_to, before in relinked:
        owner = owners.get(chained_to)
        if owner is not None:
            what = f"chained after seq {owner}, not seq {before}"
            found.append(Finding(seq, Flaw.REORDERED, what))
        else:
            what = f"chained to a hash no entry has: seq {before} was resealed or replaced"
            found.append(Finding(seq, Flaw.BROKEN, what))
    return found


async def _unsealed(session: AsyncSession, head: Any) -> tuple[list[Finding], int]:
    """Rows at or below the sealed ids that the chain does not hold (inserted), and how many
    rows are newer than the seal (pending)."""
    inserted: list[Finding] = []
    pending = 0
    for source in _SOURCES:
        mark: int = getattr(head, source.watermark)
        ids = source.table.c.id
        chained = (
            select(_chain.c.seq)
            .where(_chain.c.source == source.name, _chain.c.entry_id == ids)
            .exists()
        )
        query = select(ids).where(ids <= mark, ~chained).order_by(ids)
        for entry_id in await session.scalars(query):
            what = f"{source.table.name} row {entry_id} is not in the chain"
            inserted.append(Finding(None, Flaw.INSERTED, what))
        pending += await session.scalar(select(func.count()).where(ids > mark)) or 0
    return inserted, pending


async def _links(
    database: Database, upto: int, page: int
) -> AsyncIterator[list[tuple[_Link, tuple[Any, ...] | None]]]:
    """The chain's entries up to seq `upto`, a page at a time (each read in its own short
    transaction), each with the row it seals (None: gone)."""
    after = 0
    while True:
        async with database.session() as session:
            query = _LINKS.where(_chain.c.seq > after, _chain.c.seq <= upto)
            links = [
                _Link(*r) for r in await session.execute(query.order_by(_chain.c.seq).limit(page))
            ]
            rows: dict[tuple[str, int], tuple[Any, ...]] = {}
            for source in _SOURCES:
                ids = sorted({link.entry_id for link in links if link.source == source.name})
                if ids:
                    of_page = source.select().where(source.table.c.id.in_(ids))
                    rows.update(((source.name, r[0]), r) for r in await _fetch(session, of_page))
        if not links:
            return
        yield [(link, rows.get((link.source, link.entry_id))) for link in links]
        after = links[-1].seq


def _table(source: str) -> str:
    known = _BY_NAME.get(source)
    return known.table.name if known else f"unknown table {source!r},"


# -- reading back --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed entry with its row's columns (as sealed; `at` a UTC datetime)."""

    seq: int
    table: str
    hash: str
    fields: Mapping[str, Any]


async def sealed(database: Database, *, upto: ChainHead) -> AsyncIterator[Sealed]:
    """The entries up to `upto` in chain order (one whose row is gone is left out: `verify`
    names it)."""
    async for links in _links(database, upto.seq, _PAGE):
        for link, row in links:
            if row is None:
                continue
            source = _BY_NAME[link.source]
            fields = dict(zip(source.columns, row, strict=True))
            fields["at"] = _utc(fields["at"])
            yield Sealed(link.seq, source.table.name, link.hash, fields)
