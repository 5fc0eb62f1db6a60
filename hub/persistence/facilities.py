"""Seller facilities, buyer (debtor) limits, anchor programmes, the 205号 portfolio and limit
reservations, exact in fen.

A unit of work reads each limit it touches once, under the row lock on PostgreSQL (SQLite has
a single writer): sellers, then buyers, then anchor programmes, each in USCC order, then the
portfolio row, so no interleaving of concurrent consumers can over-reserve or deadlock; the
figures are written back at flush. A reservation holds the same amount on the seller's
facility and, where they apply, on the buyer's limit, the anchor's programme (and the seller's
share of it) and the portfolio's book (`hub/persistence/programmes.py`); it remembers which,
and all of them move together on consume, release and repayment.

Each reservation moves as the §4.3 machine (RESERVATION) allows, every move recorded in the
lifecycle log with the message that caused it: `reserve` holds (-> RESERVED), `consume` occupies
(-> CONSUMED), `release` gives a hold back (§4.3 `cancel` -> CANCELLED), `restore` gives repaid
principal back (§4.3 `release` -> PARTIALLY_RELEASED / RELEASED). Settling a reservation that
is no longer held (consume or release again) does nothing, so a redelivered message never fails;
any other move the machine refuses is logged and raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import BankAccount, Money, Party, PartyRole
from hub.persistence import programmes, programmes_admin
from hub.persistence.lifecycles import Entity, LifecycleLog
from hub.persistence.money import from_fen, to_fen
from hub.persistence.programmes import AnchorLedger, PortfolioLedger
from hub.persistence.programmes_admin import (
    AnchorFigures,
    AnchorTerms,
    PortfolioFigures,
    PortfolioTerms,
)
from hub.persistence.sql import execute_many, upsert
from hub.persistence.tables import BuyerLimitRow, FacilityRow, ReservationRow, table_of
from routes.lifecycle import (
    RESERVATION,
    LimitReservationEvent,
    LimitReservationState,
    ReservationContext,
    TransitionRefused,
)
from routes.ports import Clock, Facility, ReserveOutcome

__all__ = ["BuyerLimitTerms", "FacilityTerms", "SqlFacilityRepository"]

_facilities = table_of(FacilityRow)
_buyers = table_of(BuyerLimitRow)
_GET_BUYERS = (
    select(_buyers)
    .where(_buyers.c.buyer_uscc.in_(bindparam("b_buyers", expanding=True)))
    .order_by(_buyers.c.buyer_uscc)
)
_SET_BUYER_FIGURES = (
    update(_buyers)
    .where(_buyers.c.buyer_uscc == bindparam("b_buyer"))
    .values(
        used_fen=bindparam("used_fen"),
        reserved_fen=bindparam("reserved_fen"),
        version=_buyers.c.version + 1,
    )
)
_reservations = table_of(ReservationRow)

_GET_FACILITIES = select(_facilities).where(
    _facilities.c.seller_uscc.in_(bindparam("b_sellers", expanding=True))
)
_SET_FIGURES = (
    update(_facilities)
    .where(_facilities.c.seller_uscc == bindparam("b_seller"))
    .values(
        used_fen=bindparam("used_fen"),
        reserved_fen=bindparam("reserved_fen"),
        version=_facilities.c.version + 1,
    )
)
_GET_RESERVATIONS = select(
    _reservations.c.request_id,
    _reservations.c.seller_uscc,
    _reservations.c.buyer_uscc,
    _reservations.c.amount_fen,
    _reservations.c.state,
    _reservations.c.used_fen,
    _reservations.c.anchor_uscc,
    _reservations.c.portfolio_debtor,
).where(_reservations.c.request_id.in_(bindparam("b_requests", expanding=True)))
_INSERT_RESERVATION = insert(_reservations)
_SET_RESERVATION_STATE = (
    update(_reservations)
    .where(_reservations.c.request_id == bindparam("b_request"))
    .values(
        state=bindparam("state"), used_fen=bindparam("used_fen"), updated_at=bindparam("updated_at")
    )
)
_S = LimitReservationState
_V = LimitReservationEvent
_SETTLED_BY = {
    _V.CONSUME: frozenset({_S.CONSUMED, _S.PARTIALLY_RELEASED, _S.RELEASED}),
    _V.CANCEL: frozenset({_S.CANCELLED, _S.EXPIRED}),
}
"""Where a reservation settled by this event already stands: settling it again does nothing."""
_STATES = {state.value: state for state in _S}

_O = ReserveOutcome
_SELLER = (_O.REDUCED_BY_SELLER, _O.INSUFFICIENT)
"""(reduced by, refused by) each limit: the outcomes that name it."""
_BUYER = (_O.REDUCED_BY_BUYER, _O.INSUFFICIENT_BUYER)
_ANCHOR = (_O.REDUCED_BY_ANCHOR, _O.INSUFFICIENT_ANCHOR)
_SHARE = (_O.REDUCED_BY_SELLER_SHARE, _O.INSUFFICIENT_SELLER_SHARE)
_PORTFOLIO = {
    "CONCENTRATION_50PCT": (_O.REDUCED_BY_CONCENTRATION, _O.INSUFFICIENT_CONCENTRATION),
    "RELATED_40PCT": (_O.REDUCED_BY_RELATED, _O.INSUFFICIENT_RELATED),
    "LEVERAGE_10X": (_O.REDUCED_BY_LEVERAGE, _O.INSUFFICIENT_LEVERAGE),
}


@dataclass(frozen=True, slots=True)
class FacilityTerms:
    """What an operator sets up for a seller: the limit and the payout account."""

    seller: Party
    limit: Money
    account: BankAccount


@dataclass(frozen=True, slots=True)
class BuyerLimitTerms:
    """What an operator sets for a buyer (debtor): the most financed against it at once."""

    buyer: Party
    limit: Money


@dataclass(slots=True, kw_only=True)
class _Figures(programmes.Tally):
    """A buyer limit as this unit of work sees it (held, settled and given back as the
    programmes' tallies are)."""

    currency: str
    limit_fen: int

    @property
    def headroom(self) -> int:
        return self.limit_fen - self.used_fen - self.reserved_fen


@dataclass(slots=True, kw_only=True)
class _Line(_Figures):
    """A facility as this unit of work sees it (read once, written back on flush)."""

    seller: Party
    account: BankAccount


@dataclass(slots=True)
class _Held:
    """A reservation as this unit of work sees it."""

    seller_uscc: str
    amount_fen: int
    state: LimitReservationState
    used_fen: int = 0
    buyer_uscc: str | None = None
    anchor_uscc: str | None = None
    portfolio_debtor: str | None = None
    new: bool = False
    dirty: bool = False


class SqlFacilityRepository:
    """Facilities and reservations, written behind like the requests.

    A facility row is read once per unit of work (locked on PostgreSQL, and SQLite has one
    writer) and the arithmetic is done here, exactly, in fen; `flush` writes the final figures
    back. Reservations of a batch's requests are read in one query the first time one is asked
    for (`expect` names the batch).
    """

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        lifecycles: LifecycleLog,
        *,
        lock_rows: bool = False,
    ) -> None:
        self._session = session
        self._clock = clock
        self._lifecycles = lifecycles
        self._lock_rows = lock_rows
        self._lines: dict[str, _Line | None] = {}
        self._peeked: dict[str, _Line | None] = {}
        self._held: dict[str, _Held | None] = {}
        self._buyers: dict[str, _Figures | None] = {}
        self._expected: set[str] = set()
        self._expected_sellers: set[str] = set()
        self._expected_buyers: set[str] = set()
        self._anchors = AnchorLedger(session, lock_rows=lock_rows)
        self._portfolio = PortfolioLedger(session, lock_rows=lock_rows)

    async def put(self, terms: FacilityTerms) -> None:
        """Open a facility, or change its limit and account (used and reserved are kept)."""
        values = {
            "seller_uscc": terms.seller.uscc,
            "seller_name": terms.seller.name,
            "currency": terms.limit.currency,
            "limit_fen": to_fen(terms.limit),
            "used_fen": 0,
            "reserved_fen": 0,
            "account_number": terms.account.number,
            "account_name": terms.account.name,
            "bank_name": terms.account.bank_name,
            "cnaps_code": terms.account.cnaps_code,
            "version": 1,
        }
        await upsert(
            self._session,
            FacilityRow,
            values,
            key="seller_uscc",
            update=(
                "seller_name",
                "currency",
                "limit_fen",
                "account_number",
                "account_name",
                "bank_name",
                "cnaps_code",
            ),
        )

    async def put_buyer(self, terms: BuyerLimitTerms) -> None:
        """Set a buyer's limit (used and reserved are kept)."""
        values = {
            "buyer_uscc": terms.buyer.uscc,
            "buyer_name": terms.buyer.name,
            "currency": terms.limit.currency,
            "limit_fen": to_fen(terms.limit),
            "used_fen": 0,
            "reserved_fen": 0,
            "version": 1,
        }
        await upsert(
            self._session,
            BuyerLimitRow,
            values,
            key="buyer_uscc",
            update=("buyer_name", "currency", "limit_fen"),
        )

    async def buyer_limit(self, buyer_uscc: str) -> tuple[Money, Money, Money] | None:
        """(limit, used, reserved) of a buyer's limit, or None when the buyer has none."""
        figures = await self._buyer(buyer_uscc)
        if figures is None:
            return None
        return (
            from_fen(figures.limit_fen, figures.currency),
            from_fen(figures.used_fen, figures.currency),
            from_fen(figures.reserved_fen, figures.currency),
        )

    async def put_anchor(self, terms: AnchorTerms) -> None:
        """Open an anchor programme, or change its limit and seller share (use is kept)."""
        await programmes_admin.put_anchor(self._session, terms)

    async def anchors(self) -> list[AnchorFigures]:
        """Every anchor programme as it stands, with each supplier's use."""
        return await programmes_admin.anchor_figures(self._session)

    async def put_portfolio(self, terms: PortfolioTerms) -> None:
        """Set the 205号 portfolio's net assets and other risk assets (the first time, its
        book starts from what the hub holds and uses)."""
        await programmes_admin.put_portfolio(self._session, terms, lock_rows=self._lock_rows)

    async def set_debtor(
        self, debtor_uscc: str, *, related: bool | None = None, other: Money | None = None
    ) -> None:
        """A debtor's related-party flag and exposure outside this hub (portfolio set first)."""
        await programmes_admin.set_debtor(
            self._session, debtor_uscc, related=related, other=other, lock_rows=self._lock_rows
        )

    async def portfolio(self) -> PortfolioFigures | None:
        """The portfolio as it stands (None: not configured)."""
        return await programmes_admin.portfolio_figures(self._session)

    def expect(
        self, request_ids: Iterable[str], sellers: Iterable[str] = (), buyers: Iterable[str] = ()
    ) -> None:
        """The requests this unit of work will handle and their sellers and buyers: their
        reservations load together, and their limits are locked together, in key order, the
        first time one is changed (so concurrent units of work cannot deadlock on them)."""
        self._expected.update(request_ids)
        self._expected_sellers.update(sellers)
        self._expected_buyers.update(buyers)
        self._anchors.expect(buyers, sellers)
        self._portfolio.expect(buyers)

    async def get(self, seller_uscc: str) -> Facility | None:
        """The facility as it stands (read without a lock unless this unit already holds it)."""
        line = self._lines.get(seller_uscc) or await self._peek(seller_uscc)
        if line is None:
            return None
        return Facility(
            seller=line.seller,
            limit=from_fen(line.limit_fen, line.currency),
            used=from_fen(line.used_fen, line.currency),
            reserved=from_fen(line.reserved_fen, line.currency),
            account=line.account,
        )

    async def reserve(
        self,
        request_id: str,
        seller_uscc: str,
        amount: Money,
        *,
        at_least: Money | None = None,
        buyer_uscc: str | None = None,
        portfolio: bool = False,
    ) -> tuple[ReserveOutcome, Money]:
        nothing = amount.model_copy(update={"amount": Decimal("0.00")})
        held = await self._reservation(request_id)
        if held is not None:
            return ReserveOutcome.RESERVED, from_fen(held.amount_fen, amount.currency)
        line = await self._line(seller_uscc)
        if line is None:
            return ReserveOutcome.NO_FACILITY, nothing
        buyer = anchor = share = book = debtor = None
        if buyer_uscc is not None:
            buyer = await self._buyer(buyer_uscc)
            anchor = await self._anchor(buyer_uscc)
            if anchor is not None:
                share = await self._anchors.use(buyer_uscc, seller_uscc)
            if portfolio:
                book = await self._book()
                debtor = None if book is None else await self._portfolio.debtor(buyer_uscc)
        currency = amount.currency
        if line.currency != currency:
            return ReserveOutcome.INSUFFICIENT, nothing
        if buyer is not None and buyer.currency != currency:
            return ReserveOutcome.INSUFFICIENT_BUYER, nothing
        if anchor is not None and anchor.currency != currency:
            return ReserveOutcome.INSUFFICIENT_ANCHOR, nothing
        if book is not None and book.currency != currency:
            return ReserveOutcome.PORTFOLIO_CURRENCY, nothing
        fen = to_fen(amount)
        floor = fen if at_least is None else max(min(to_fen(at_least), fen), 1)
        # Every limit's headroom, in this order: the least decides, the first of equals names
        # the reason.
        rooms = [(_SELLER, line.headroom)]
        if buyer is not None:
            rooms.append((_BUYER, buyer.headroom))
        if anchor is not None and share is not None:
            rooms += [(_ANCHOR, anchor.headroom), (_SHARE, anchor.share_room(share))]
        if book is not None and debtor is not None:
            rooms += [(_PORTFOLIO[code], cap) for code, cap in self._portfolio.caps(book, debtor)]
        (reduced, short), room = min(rooms, key=lambda item: item[1])
        outcome = ReserveOutcome.RESERVED
        if room < fen:
            if room < floor:
                return short, nothing
            fen, outcome = room, reduced  # partial approval: all that is left
        for tally in (line, buyer, anchor, share, book, debtor):
            if tally is not None:
                tally.hold(fen)
        self._held[request_id] = _Held(
            seller_uscc,
            fen,
            _S.RESERVED,
            buyer_uscc=buyer_uscc if buyer is not None else None,
            anchor_uscc=buyer_uscc if anchor is not None else None,
            portfolio_debtor=buyer_uscc if debtor is not None else None,
            new=True,
            dirty=True,
        )
        self._lifecycles.record(
            Entity.RESERVATION, request_id, None, "RESERVED", "reserve", note=f"{_yuan(fen)} held"
        )
        return outcome, from_fen(fen, currency)

    async def consume(self, request_id: str, amount: Money) -> None:
        await self._settle(request_id, _V.CONSUME, to_fen(amount))

    async def release(self, request_id: str) -> None:
        await self._settle(request_id, _V.CANCEL, 0)

    async def restore(
        self,
        seller_uscc: str,
        amount: Money,
        *,
        buyer_uscc: str | None = None,
        request_id: str | None = None,
    ) -> None:
        fen = to_fen(amount)
        held = None if request_id is None else await self._reservation(request_id)
        if request_id is not None and held is not None:
            # every limit the reservation held, and only those
            seller_uscc, buyer_uscc = held.seller_uscc, held.buyer_uscc
            self._give_back(request_id, held, fen)
        line = await self._line(seller_uscc)  # None: closed since; nothing to give back to
        buyer = None if buyer_uscc is None else await self._buyer(buyer_uscc)
        holdings = [] if held is None else await self._holdings(held)
        for tally in (line, buyer, *holdings):
            if tally is not None:
                tally.give_back(fen)

    async def flush(self) -> None:
        """Write back the facilities and reservations this unit of work changed."""
        lines = [(seller, line) for seller, line in self._lines.items() if line and line.dirty]
        if lines:
            await execute_many(
                self._session,
                _SET_FIGURES,
                [
                    {
                        "b_seller": seller,
                        "used_fen": line.used_fen,
                        "reserved_fen": line.reserved_fen,
                    }
                    for seller, line in lines
                ],
            )
            for _, line in lines:
                line.dirty = False
        buyers = [(uscc, b) for uscc, b in self._buyers.items() if b and b.dirty]
        if buyers:
            await execute_many(
                self._session,
                _SET_BUYER_FIGURES,
                [
                    {"b_buyer": uscc, "used_fen": b.used_fen, "reserved_fen": b.reserved_fen}
                    for uscc, b in buyers
                ],
            )
            for _, b in buyers:
                b.dirty = False
        await self._anchors.flush()
        await self._portfolio.flush()
        now = self._clock()
        new = [(r, h) for r, h in self._held.items() if h and h.dirty and h.new]
        changed = [(r, h) for r, h in self._held.items() if h and h.dirty and not h.new]
        if new:
            await execute_many(
                self._session,
                _INSERT_RESERVATION,
                [
                    {
                        "request_id": request_id,
                        "seller_uscc": held.seller_uscc,
                        "buyer_uscc": held.buyer_uscc,
                        "anchor_uscc": held.anchor_uscc,
                        "portfolio_debtor": held.portfolio_debtor,
                        "amount_fen": held.amount_fen,
                        "state": held.state.value,
                        "used_fen": held.used_fen,
                        "updated_at": now,
                    }
                    for request_id, held in new
                ],
            )
        if changed:
            await execute_many(
                self._session,
                _SET_RESERVATION_STATE,
                [
                    {
                        "b_request": request_id,
                        "state": held.state.value,
                        "used_fen": held.used_fen,
                        "updated_at": now,
                    }
                    for request_id, held in changed
                ],
            )
        for _, held in new + changed:
            held.new = held.dirty = False

    def forget(self) -> None:
        """Drop what was read and changed (after a rollback)."""
        self._lines.clear()
        self._peeked.clear()
        self._held.clear()
        self._buyers.clear()
        self._anchors.forget()
        self._portfolio.forget()

    async def _settle(self, request_id: str, event: LimitReservationEvent, used_fen: int) -> None:
        """Take the hold off its limits (consume: adding `used_fen` to what is used), as the
        §4.3 machine allows; a reservation no longer held is left alone."""
        held = await self._reservation(request_id)
        if held is None:
            return  # nothing held: nothing to settle
        if held.state is not _S.RESERVED:
            if held.state not in _SETTLED_BY[event]:  # not a repeat: worth a look
                self._lifecycles.ignored(
                    Entity.RESERVATION, request_id, event.value, held.state.value, "nothing held"
                )
            return  # settling twice does nothing: a redelivered message must not fail
        line = await self._line(held.seller_uscc)
        headroom = 0 if line is None else line.headroom
        context = ReservationContext(
            amount=Decimal(used_fen),
            reserved=Decimal(held.amount_fen),
            available=Decimal(headroom),
            limit_active=line is not None,
        )
        try:
            target = RESERVATION.next_state(held.state, event, context)
        except TransitionRefused as refused:
            self._lifecycles.refused(Entity.RESERVATION, request_id, refused)
            raise
        # line None only for a facility removed by hand; the hold still ends
        buyer = None if held.buyer_uscc is None else await self._buyer(held.buyer_uscc)
        for tally in (line, buyer, *await self._holdings(held)):
            if tally is not None:
                tally.settle(held.amount_fen, used_fen)
        note = (
            f"{_yuan(used_fen)} used of {_yuan(held.amount_fen)} held"
            if event is _V.CONSUME
            else f"{_yuan(held.amount_fen)} given back"
        )
        self._lifecycles.record(
            Entity.RESERVATION, request_id, held.state.value, target.value, event.value, note=note
        )
        held.state, held.used_fen, held.dirty = target, used_fen, True

    def _give_back(self, request_id: str, held: _Held, fen: int) -> None:
        """§4.3 `release` of repaid principal, checked before any limit moves. The hub gives
        principal back only when it is owed (a revolving limit repaid, a presumed payment
        undone), so the machine's `revolving` is taken as met; the amount must fit what the
        reservation still occupies."""
        context = ReservationContext(
            amount=Decimal(fen), used=Decimal(held.used_fen), revolving=True
        )
        try:
            target = RESERVATION.next_state(held.state, _V.RELEASE, context)
        except TransitionRefused as refused:
            self._lifecycles.refused(Entity.RESERVATION, request_id, refused)
            raise
        left = held.used_fen - fen
        self._lifecycles.record(
            Entity.RESERVATION,
            request_id,
            held.state.value,
            target.value,
            _V.RELEASE.value,
            note=f"{_yuan(fen)} repaid principal given back, {_yuan(left)} still used",
        )
        held.state, held.used_fen, held.dirty = target, left, True

    async def _holdings(self, held: _Held) -> list[programmes.Tally]:
        """The anchor programme, the seller's share of it and the portfolio's book and debtor
        the reservation holds on (locked in that order, after sellers and buyers)."""
        found: list[programmes.Tally] = []
        if held.anchor_uscc is not None:
            anchor = await self._anchor(held.anchor_uscc)
            if anchor is not None:  # None only for a programme removed by hand
                found += [anchor, await self._anchors.use(held.anchor_uscc, held.seller_uscc)]
        if held.portfolio_debtor is not None:
            book = await self._book()
            if book is not None:
                found += [book, await self._portfolio.debtor(held.portfolio_debtor)]
        return found

    async def _line(self, seller_uscc: str) -> _Line | None:
        """The facility, locked for this unit of work (with every expected seller's)."""
        if seller_uscc not in self._lines:
            wanted = sorted((self._expected_sellers | {seller_uscc}) - self._lines.keys())
            self._expected_sellers.clear()
            query = _GET_FACILITIES.order_by(_facilities.c.seller_uscc)
            if self._lock_rows:
                query = query.with_for_update()
            found = {
                row.seller_uscc: _line_of(row)
                for row in await self._session.execute(query, {"b_sellers": wanted})
            }
            for seller in wanted:
                self._lines[seller] = found.get(seller)
        return self._lines[seller_uscc]

    async def _buyer(self, buyer_uscc: str) -> _Figures | None:
        """The buyer's limit, locked for this unit of work (with every expected buyer's, in
        USCC order; sellers are always locked first, so lock order is the same everywhere)."""
        if buyer_uscc not in self._buyers:
            if self._expected_sellers:
                await self._line(min(self._expected_sellers))
            wanted = sorted((self._expected_buyers | {buyer_uscc}) - self._buyers.keys())
            self._expected_buyers.clear()
            query = _GET_BUYERS.with_for_update() if self._lock_rows else _GET_BUYERS
            found = {
                row.buyer_uscc: _Figures(
                    currency=row.currency,
                    limit_fen=row.limit_fen,
                    used_fen=row.used_fen,
                    reserved_fen=row.reserved_fen,
                )
                for row in await self._session.execute(query, {"b_buyers": wanted})
            }
            for buyer in wanted:
                self._buyers[buyer] = found.get(buyer)
        return self._buyers[buyer_uscc]

    async def _anchor(self, anchor_uscc: str) -> programmes.Programme | None:
        """The anchor's programme, locked after every expected seller and buyer."""
        await self._lock_sellers_and_buyers()
        return await self._anchors.programme(anchor_uscc)

    async def _book(self) -> programmes.Book | None:
        """The portfolio, locked last (after every expected seller, buyer and anchor)."""
        await self._lock_sellers_and_buyers()
        await self._anchors.lock_expected()
        return await self._portfolio.book()

    async def _lock_sellers_and_buyers(self) -> None:
        """Lock what is expected of the earlier kinds before a later kind (a unit of work that
        reaches an anchor first must not lock a seller after it)."""
        if self._expected_sellers:
            await self._line(min(self._expected_sellers))
        if self._expected_buyers:
            await self._buyer(min(self._expected_buyers))

    async def _peek(self, seller_uscc: str) -> _Line | None:
        """The facility read without a lock, once per unit of work (with every expected
        seller's: a batch asks for the same few sellers many times)."""
        if seller_uscc not in self._peeked:
            wanted = sorted((self._expected_sellers | {seller_uscc}) - self._peeked.keys())
            found = {
                row.seller_uscc: _line_of(row)
                for row in await self._session.execute(_GET_FACILITIES, {"b_sellers": wanted})
            }
            for seller in wanted:
                self._peeked[seller] = found.get(seller)
        return self._peeked[seller_uscc]

    async def _reservation(self, request_id: str) -> _Held | None:
        if request_id not in self._held:
            wanted = sorted((self._expected | {request_id}) - self._held.keys())
            self._expected.clear()
            found = {
                row.request_id: _Held(
                    row.seller_uscc,
                    row.amount_fen,
                    _STATES[row.state],
                    row.used_fen,
                    buyer_uscc=row.buyer_uscc,
                    anchor_uscc=row.anchor_uscc,
                    portfolio_debtor=row.portfolio_debtor,
                )
                for row in await self._session.execute(_GET_RESERVATIONS, {"b_requests": wanted})
            }
            for wanted_id in wanted:
                self._held[wanted_id] = found.get(wanted_id)
        return self._held[request_id]


def _yuan(fen: int) -> str:
    """Fen as yuan, exactly (for history notes)."""
    if fen < 0:
        return f"-{_yuan(-fen)}"
    return f"{fen // 100}.{fen % 100:02d}"


def _line_of(row: Any) -> _Line:
    return _Line(
        seller=Party(name=row.seller_name, uscc=row.seller_uscc, role=PartyRole.SELLER),
        currency=row.currency,
        limit_fen=row.limit_fen,
        used_fen=row.used_fen,
        reserved_fen=row.reserved_fen,
        account=BankAccount(
            number=row.account_number,
            name=row.account_name,
            bank_name=row.bank_name,
            cnaps_code=row.cnaps_code,
        ),
    )
