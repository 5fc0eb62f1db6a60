"""Anchor programmes and the 205号 portfolio, as a unit of work sees them (exact, in fen).

`SqlFacilityRepository` holds on these together with the seller's facility and the buyer's
limit, in one transaction. An anchor programme (reverse factoring: the buyer is the anchor)
caps what is financed against the anchor over all its suppliers, and each supplier's share of
it (§3.5); the portfolio is the commercial factor's risk-asset book, checked against the
205号 caps (§2.11) with the calculator's own arithmetic (`routes.quote.sizing`). Operators set
them up through `hub/persistence/programmes_admin.py`.

Locks: a programme row is read under its row lock on PostgreSQL (anchors in USCC order, after
sellers and buyers), the portfolio row last; a supplier's use of a programme and a debtor's
exposure are changed only under those locks, so the programme's and the portfolio's locks
guard them and they are read without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import FEN
from hub.persistence.sql import execute_many
from hub.persistence.tables import (
    AnchorProgrammeRow,
    AnchorSellerRow,
    PortfolioDebtorRow,
    PortfolioRow,
    table_of,
)
from routes.quote.models import Portfolio
from routes.quote.sizing import portfolio_headroom

__all__ = [
    "BP",
    "PORTFOLIO_ID",
    "AnchorLedger",
    "Book",
    "Debtor",
    "PortfolioLedger",
    "Programme",
    "Tally",
]

BP = 10_000
"""Basis points in 1 (shares are stored in basis points)."""
PORTFOLIO_ID = 1
"""The portfolio is one row."""

_programmes = table_of(AnchorProgrammeRow)
_uses = table_of(AnchorSellerRow)
_book = table_of(PortfolioRow)
_debtors = table_of(PortfolioDebtorRow)

_GET_PROGRAMMES = (
    select(_programmes)
    .where(_programmes.c.anchor_uscc.in_(bindparam("b_anchors", expanding=True)))
    .order_by(_programmes.c.anchor_uscc)
)
_SET_PROGRAMME = (
    update(_programmes)
    .where(_programmes.c.anchor_uscc == bindparam("b_anchor"))
    .values(
        used_fen=bindparam("used_fen"),
        reserved_fen=bindparam("reserved_fen"),
        version=_programmes.c.version + 1,
    )
)
_GET_USES = select(_uses).where(
    _uses.c.anchor_uscc.in_(bindparam("b_anchors", expanding=True)),
    _uses.c.seller_uscc.in_(bindparam("b_sellers", expanding=True)),
)
_INSERT_USE = insert(_uses)
_SET_USE = (
    update(_uses)
    .where(_uses.c.anchor_uscc == bindparam("b_anchor"))
    .where(_uses.c.seller_uscc == bindparam("b_seller"))
    .values(used_fen=bindparam("used_fen"), reserved_fen=bindparam("reserved_fen"))
)
_GET_BOOK = select(_book).where(_book.c.id == PORTFOLIO_ID)
_SET_BOOK = (
    update(_book)
    .where(_book.c.id == PORTFOLIO_ID)
    .values(
        used_fen=bindparam("used_fen"),
        reserved_fen=bindparam("reserved_fen"),
        version=_book.c.version + 1,
    )
)
_GET_DEBTORS = select(_debtors).where(
    or_(
        _debtors.c.related.is_(True),
        _debtors.c.debtor_uscc.in_(bindparam("b_debtors", expanding=True)),
    )
)
_INSERT_DEBTOR = insert(_debtors)
_SET_DEBTOR = (
    update(_debtors)
    .where(_debtors.c.debtor_uscc == bindparam("b_debtor"))
    .values(used_fen=bindparam("used_fen"), reserved_fen=bindparam("reserved_fen"))
)


@dataclass(slots=True)
class Tally:
    """Used and reserved of one limit, as this unit of work sees it."""

    used_fen: int = 0
    reserved_fen: int = 0
    new: bool = False
    dirty: bool = False

    def hold(self, fen: int) -> None:
        self.reserved_fen += fen
        self.dirty = True

    def settle(self, held_fen: int, used_fen: int) -> None:
        """The hold ends: `used_fen` of it (0 on release) becomes use."""
        self.reserved_fen -= held_fen
        self.used_fen += used_fen
        self.dirty = True

    def give_back(self, fen: int) -> None:
        """Repaid principal: use goes down, never below 0."""
        self.used_fen -= min(fen, self.used_fen)
        self.dirty = True


@dataclass(slots=True)
class Programme(Tally):
    """An anchor programme: its limit and the share of it one supplier may take."""

    currency: str = "CNY"
    limit_fen: int = 0
    share_bp: int = 2500

    @property
    def headroom(self) -> int:
        return self.limit_fen - self.used_fen - self.reserved_fen

    def share_room(self, use: Tally) -> int:
        """What is left of one supplier's share (floor of share x limit, in fen)."""
        return self.limit_fen * self.share_bp // BP - use.used_fen - use.reserved_fen


@dataclass(slots=True)
class Book(Tally):
    """The portfolio: net assets, risk assets outside this hub, and this hub's book."""

    currency: str = "CNY"
    net_assets_fen: int = 0
    other_fen: int = 0

    @property
    def risk_assets_fen(self) -> int:
        return self.other_fen + self.used_fen + self.reserved_fen


@dataclass(slots=True)
class Debtor(Tally):
    """The portfolio's exposure to one debtor (`other_fen`: held outside this hub)."""

    related: bool = False
    other_fen: int = 0

    @property
    def exposure_fen(self) -> int:
        return self.other_fen + self.used_fen + self.reserved_fen


class AnchorLedger:
    """The anchor programmes and supplier uses one unit of work reads and changes."""

    def __init__(self, session: AsyncSession, *, lock_rows: bool) -> None:
        self._session = session
        self._lock_rows = lock_rows
        self._programmes: dict[str, Programme | None] = {}
        self._uses: dict[tuple[str, str], Tally] = {}
        self._expected: set[str] = set()
        self._expected_sellers: set[str] = set()

    def expect(self, anchors: Iterable[str], sellers: Iterable[str]) -> None:
        self._expected.update(anchors)
        self._expected_sellers.update(sellers)

    async def lock_expected(self) -> None:
        """Read (lock) the expected programmes not read yet."""
        if self._expected:
            await self.programme(min(self._expected))

    async def programme(self, anchor_uscc: str) -> Programme | None:
        """The anchor's programme, locked (with every expected anchor's, in USCC order), and
        its expected suppliers' uses; None: the buyer is not an anchor with a programme."""
        if anchor_uscc not in self._programmes:
            wanted = sorted((self._expected | {anchor_uscc}) - self._programmes.keys())
            self._expected.clear()
            query = _GET_PROGRAMMES.with_for_update() if self._lock_rows else _GET_PROGRAMMES
            found = {
                row.anchor_uscc: Programme(
                    used_fen=row.used_fen,
                    reserved_fen=row.reserved_fen,
                    currency=row.currency,
                    limit_fen=row.limit_fen,
                    share_bp=row.seller_share_bp,
                )
                for row in await self._session.execute(query, {"b_anchors": wanted})
            }
            for anchor in wanted:
                self._programmes[anchor] = found.get(anchor)
            if found and self._expected_sellers:
                await self._read_uses(list(found), sorted(self._expected_sellers))
        return self._programmes[anchor_uscc]

    async def use(self, anchor_uscc: str, seller_uscc: str) -> Tally:
        """A supplier's use of a programme this unit of work has locked (new: none yet)."""
        key = (anchor_uscc, seller_uscc)
        if key not in self._uses:
            await self._read_uses([anchor_uscc], [seller_uscc])
            if key not in self._uses:
                self._uses[key] = Tally(new=True)
        return self._uses[key]

    async def flush(self) -> None:
        programmes = [(a, p) for a, p in self._programmes.items() if p and p.dirty]
        if programmes:
            await execute_many(
                self._session,
                _SET_PROGRAMME,
                [
                    {"b_anchor": a, "used_fen": p.used_fen, "reserved_fen": p.reserved_fen}
                    for a, p in programmes
                ],
            )
        new = [(k, u) for k, u in self._uses.items() if u.dirty and u.new]
        changed = [(k, u) for k, u in self._uses.items() if u.dirty and not u.new]
        if new:
            await execute_many(
                self._session,
                _INSERT_USE,
                [
                    {
                        "anchor_uscc": a,
                        "seller_uscc": s,
                        "used_fen": u.used_fen,
                        "reserved_fen": u.reserved_fen,
                    }
                    for (a, s), u in new
                ],
            )
        if changed:
            await execute_many(
                self._session,
                _SET_USE,
                [
                    {
                        "b_anchor": a,
                        "b_seller": s,
                        "used_fen": u.used_fen,
                        "reserved_fen": u.reserved_fen,
                    }
                    for (a, s), u in changed
                ],
            )
        for _, tally in [*programmes, *new, *changed]:
            tally.new = tally.dirty = False

    def forget(self) -> None:
        self._programmes.clear()
        self._uses.clear()

    async def _read_uses(self, anchors: list[str], sellers: list[str]) -> None:
        rows = await self._session.execute(_GET_USES, {"b_anchors": anchors, "b_sellers": sellers})
        for row in rows:
            key = (row.anchor_uscc, row.seller_uscc)
            if key not in self._uses:
                self._uses[key] = Tally(row.used_fen, row.reserved_fen)


class PortfolioLedger:
    """The 205号 book and the debtor exposures one unit of work reads and changes."""

    def __init__(self, session: AsyncSession, *, lock_rows: bool) -> None:
        self._session = session
        self._lock_rows = lock_rows
        self._book: Book | None = None
        self._read = False
        self._debtors: dict[str, Debtor] = {}
        self._expected: set[str] = set()

    def expect(self, debtors: Iterable[str]) -> None:
        self._expected.update(debtors)

    async def book(self) -> Book | None:
        """The portfolio, locked; on first read also every related debtor's exposure and the
        expected debtors'. None: not configured (no 205号 checks)."""
        if not self._read:
            query = _GET_BOOK.with_for_update() if self._lock_rows else _GET_BOOK
            row = (await self._session.execute(query)).one_or_none()
            self._read = True
            if row is not None:
                self._book = Book(
                    used_fen=row.used_fen,
                    reserved_fen=row.reserved_fen,
                    currency=row.currency,
                    net_assets_fen=row.net_assets_fen,
                    other_fen=row.other_risk_assets_fen,
                )
                await self._read_debtors(sorted(self._expected))
            self._expected.clear()
        return self._book

    async def debtor(self, debtor_uscc: str) -> Debtor:
        """A debtor's exposure (the portfolio must be read; new: none yet)."""
        if debtor_uscc not in self._debtors:
            await self._read_debtors([debtor_uscc])
            if debtor_uscc not in self._debtors:
                self._debtors[debtor_uscc] = Debtor(new=True)
        return self._debtors[debtor_uscc]

    def caps(self, book: Book, debtor: Debtor) -> list[tuple[str, int]]:
        """What each 205号 cap allows as the new risk asset, in fen (rounded down), by the
        quote calculator's formulas: single debtor, related parties (a related debtor only),
        leverage. Every related debtor is loaded, so their exposure is exact."""
        related = sum(d.exposure_fen for d in self._debtors.values() if d.related)
        figures = Portfolio.model_construct(
            net_assets=_yuan(book.net_assets_fen),
            risk_assets=_yuan(book.risk_assets_fen),
            debtor_exposure=_yuan(debtor.exposure_fen),
            debtor_related=debtor.related,
            related_exposure=_yuan(related),
        )
        return [
            (code, int((value / FEN).to_integral_value(ROUND_FLOOR)))
            for code, value in portfolio_headroom(figures)
        ]

    async def flush(self) -> None:
        book = self._book
        if book is not None and book.dirty:
            await self._session.execute(
                _SET_BOOK, {"used_fen": book.used_fen, "reserved_fen": book.reserved_fen}
            )
            book.dirty = False
        new = [(k, d) for k, d in self._debtors.items() if d.dirty and d.new]
        changed = [(k, d) for k, d in self._debtors.items() if d.dirty and not d.new]
        if new:
            await execute_many(
                self._session,
                _INSERT_DEBTOR,
                [
                    {
                        "debtor_uscc": k,
                        "related": d.related,
                        "other_fen": d.other_fen,
                        "used_fen": d.used_fen,
                        "reserved_fen": d.reserved_fen,
                    }
                    for k, d in new
                ],
            )
        if changed:
            await execute_many(
                self._session,
                _SET_DEBTOR,
                [
                    {"b_debtor": k, "used_fen": d.used_fen, "reserved_fen": d.reserved_fen}
                    for k, d in changed
                ],
            )
        for _, debtor in [*new, *changed]:
            debtor.new = debtor.dirty = False

    def forget(self) -> None:
        self._book = None
        self._read = False
        self._debtors.clear()

    async def _read_debtors(self, debtors: list[str]) -> None:
        for row in await self._session.execute(_GET_DEBTORS, {"b_debtors": debtors}):
            if row.debtor_uscc not in self._debtors:
                self._debtors[row.debtor_uscc] = _debtor_of(row)


def _debtor_of(row: Any) -> Debtor:
    return Debtor(
        used_fen=row.used_fen,
        reserved_fen=row.reserved_fen,
        related=row.related,
        other_fen=row.other_fen,
    )


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) * FEN
