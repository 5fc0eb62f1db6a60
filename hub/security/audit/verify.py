"""Checking the chain: recomputing every entry from its row, and reading it back for export.

`verify` names each flaw it finds (`Flaw`) rather than stopping at the first, so an auditor
sees everything that was changed; `sealed` yields the entries for `factorhub audit export`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.db import Database
from hub.security.audit.entries import (
    _BY_NAME,
    _HEAD,
    _SOURCES,
    GENESIS,
    _canonical,
    _chain,
    _fetch,
    _utc,
)
from hub.security.gm import sm3

__all__ = ["ChainHead", "Finding", "Flaw", "Sealed", "Verdict", "chain_head", "sealed", "verify"]

_PAGE = 2000
_NEAR = 16
"""How many entries either side `verify` looks at for a row's sealed content moved there."""
_LINKS = select(_chain.c.seq, _chain.c.source, _chain.c.entry_id, _chain.c.prev_hash, _chain.c.hash)


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


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed entry with its row's columns (as sealed; `at` a UTC datetime)."""

    seq: int
    table: str
    hash: str
    fields: Mapping[str, Any]


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
