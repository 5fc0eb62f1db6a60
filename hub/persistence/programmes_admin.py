"""Operator set-up of anchor programmes and the 205号 portfolio (`factorhub facilities
anchor|anchors`, `factorhub portfolio set|show|debtor`): terms, figures as they stand, and the
portfolio's starting book. The runtime side (holds under row locks) is `programmes.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import Money, Party, PartyRole
from hub.persistence.money import from_fen, to_fen
from hub.persistence.programmes import BP, PORTFOLIO_ID, Book, Debtor
from hub.persistence.sql import execute_many, upsert
from hub.persistence.tables import (
    AnchorProgrammeRow,
    AnchorSellerRow,
    LoanRow,
    PortfolioDebtorRow,
    PortfolioRow,
    RequestRow,
    ReservationRow,
    table_of,
)
from routes.lifecycle import LimitReservationState

__all__ = [
    "DEFAULT_SELLER_SHARE",
    "AnchorFigures",
    "AnchorTerms",
    "DebtorFigures",
    "PortfolioFigures",
    "PortfolioNotSet",
    "PortfolioTerms",
    "anchor_figures",
    "portfolio_figures",
    "put_anchor",
    "put_portfolio",
    "set_debtor",
]

DEFAULT_SELLER_SHARE = Decimal("0.25")
"""§3.5: any single seller <= 25 % of an anchor programme."""

_programmes = table_of(AnchorProgrammeRow)
_uses = table_of(AnchorSellerRow)
_book = table_of(PortfolioRow)
_debtors = table_of(PortfolioDebtorRow)
_reservations = table_of(ReservationRow)
_GET_BOOK = select(_book).where(_book.c.id == PORTFOLIO_ID)
_INSERT_DEBTOR = insert(_debtors)
_requests = table_of(RequestRow)
_loans = table_of(LoanRow)
_LIVE = (
    select(
        _reservations.c.request_id,
        _reservations.c.state,
        _reservations.c.amount_fen,
        _requests.c.buyer_uscc,
        _loans.c.principal_fen,
        _loans.c.released_fen,
    )
    .join(_requests, _requests.c.id == _reservations.c.request_id)
    .outerjoin(_loans, _loans.c.request_id == _reservations.c.request_id)
    .where(
        _reservations.c.state.in_(
            [
                LimitReservationState.RESERVED.value,
                LimitReservationState.CONSUMED.value,
                LimitReservationState.PARTIALLY_RELEASED.value,
            ]
        ),
        _reservations.c.portfolio_debtor.is_(None),
        _requests.c.currency == bindparam("b_currency"),
    )
    .order_by(_reservations.c.request_id)
)
"""What the hub holds or uses when the portfolio is first set: its starting book."""
_MARK_IN_BOOK = (
    update(_reservations)
    .where(_reservations.c.request_id == bindparam("b_request"))
    .values(portfolio_debtor=bindparam("portfolio_debtor"))
)


@dataclass(frozen=True, slots=True)
class AnchorTerms:
    """What an operator sets for an anchor (core enterprise): the programme's limit and the
    share of it one supplier may take (a fraction, to the basis point; §3.5: 0.25)."""

    anchor: Party
    limit: Money
    seller_share: Decimal = DEFAULT_SELLER_SHARE

    def __post_init__(self) -> None:
        bp = self.seller_share * BP
        if not 0 < self.seller_share <= 1 or bp != bp.to_integral_value():
            raise ValueError(
                f"seller share {self.seller_share}: a fraction above 0 and at most 1, "
                "to the basis point (0.25 is 25 %)"
            )


@dataclass(frozen=True, slots=True)
class AnchorFigures:
    """An anchor programme as it stands, with each supplier's (used, reserved)."""

    anchor: Party
    limit: Money
    used: Money
    reserved: Money
    seller_share: Decimal
    sellers: dict[str, tuple[Money, Money]]

    @property
    def headroom(self) -> Money:
        return self.limit - self.used - self.reserved


@dataclass(frozen=True, slots=True)
class PortfolioTerms:
    """The factor's own figures: net assets, and risk assets outside this hub's book."""

    net_assets: Money
    other_risk_assets: Money

    def __post_init__(self) -> None:
        if self.net_assets.currency != self.other_risk_assets.currency:
            raise ValueError("net assets and other risk assets in one currency")
        if self.net_assets.amount <= 0 or self.other_risk_assets.amount < 0:
            raise ValueError("net assets above 0, other risk assets not negative")


@dataclass(frozen=True, slots=True)
class DebtorFigures:
    debtor_uscc: str
    related: bool
    other: Money
    used: Money
    reserved: Money

    @property
    def exposure(self) -> Money:
        return self.other + self.used + self.reserved


@dataclass(frozen=True, slots=True)
class PortfolioFigures:
    """The portfolio as it stands, with what each 205号 cap allows next (per debtor)."""

    net_assets: Money
    other_risk_assets: Money
    used: Money
    reserved: Money
    debtors: tuple[DebtorFigures, ...] = field(default=())

    @property
    def risk_assets(self) -> Money:
        return self.other_risk_assets + self.used + self.reserved

    @property
    def related_exposure(self) -> Money:
        zero = self.used - self.used
        return sum((d.exposure for d in self.debtors if d.related), zero)


class PortfolioNotSet(LookupError):
    """A debtor's figures were set before the portfolio's (`factorhub portfolio set`)."""


async def put_anchor(session: AsyncSession, terms: AnchorTerms) -> None:
    """Open an anchor programme, or change its limit and share (used and reserved are kept)."""
    values = {
        "anchor_uscc": terms.anchor.uscc,
        "anchor_name": terms.anchor.name,
        "currency": terms.limit.currency,
        "limit_fen": to_fen(terms.limit),
        "used_fen": 0,
        "reserved_fen": 0,
        "seller_share_bp": int(terms.seller_share * BP),
        "version": 1,
    }
    await upsert(
        session,
        AnchorProgrammeRow,
        values,
        key="anchor_uscc",
        update=("anchor_name", "currency", "limit_fen", "seller_share_bp"),
    )


async def anchor_figures(session: AsyncSession) -> list[AnchorFigures]:
    """Every anchor programme with each supplier's use, in USCC order."""
    uses: dict[str, dict[str, tuple[Money, Money]]] = {}
    programmes = list(
        await session.execute(select(_programmes).order_by(_programmes.c.anchor_uscc))
    )
    currencies = {row.anchor_uscc: row.currency for row in programmes}
    for use in await session.execute(select(_uses).order_by(_uses.c.seller_uscc)):
        currency = currencies.get(use.anchor_uscc)
        if currency is not None:
            uses.setdefault(use.anchor_uscc, {})[use.seller_uscc] = (
                from_fen(use.used_fen, currency),
                from_fen(use.reserved_fen, currency),
            )
    return [
        AnchorFigures(
            anchor=Party(name=row.anchor_name, uscc=row.anchor_uscc, role=PartyRole.BUYER),
            limit=from_fen(row.limit_fen, row.currency),
            used=from_fen(row.used_fen, row.currency),
            reserved=from_fen(row.reserved_fen, row.currency),
            seller_share=Decimal(row.seller_share_bp) / BP,
            sellers=uses.get(row.anchor_uscc, {}),
        )
        for row in programmes
    ]


async def put_portfolio(session: AsyncSession, terms: PortfolioTerms, *, lock_rows: bool) -> None:
    """Set the factor's net assets and other risk assets. The first time, the book starts
    from every live reservation and paid-out financing in the hub (what is held, and what is
    used net of principal given back), so it counts everything from then on; set it while
    the limit step is quiet, as a reservation made at that very moment is not counted."""
    query = _GET_BOOK.with_for_update() if lock_rows else _GET_BOOK
    row = (await session.execute(query)).one_or_none()
    net, other = to_fen(terms.net_assets), to_fen(terms.other_risk_assets)
    currency = terms.net_assets.currency
    if row is not None:
        if row.currency != currency:
            raise ValueError(f"the portfolio is kept in {row.currency}")
        await _check_other(session, other)
        await session.execute(
            update(_book)
            .where(_book.c.id == PORTFOLIO_ID)
            .values(net_assets_fen=net, other_risk_assets_fen=other, version=_book.c.version + 1)
        )
        return
    book = Book(currency=currency, net_assets_fen=net, other_fen=other)
    debtors: dict[str, Debtor] = {}
    marks = []
    for held in await session.execute(_LIVE, {"b_currency": currency}):
        debtor = debtors.setdefault(held.buyer_uscc, Debtor(new=True))
        if held.state == LimitReservationState.RESERVED.value:
            book.hold(held.amount_fen)
            debtor.hold(held.amount_fen)
        else:
            used = (
                held.amount_fen
                if held.principal_fen is None
                else (held.principal_fen - held.released_fen)
            )
            book.settle(0, used)
            debtor.settle(0, used)
        marks.append({"b_request": held.request_id, "portfolio_debtor": held.buyer_uscc})
    await session.execute(
        insert(_book).values(
            id=PORTFOLIO_ID,
            currency=currency,
            net_assets_fen=net,
            other_risk_assets_fen=other,
            used_fen=book.used_fen,
            reserved_fen=book.reserved_fen,
            version=1,
        )
    )
    await execute_many(session, _MARK_IN_BOOK, marks)
    await execute_many(
        session,
        _INSERT_DEBTOR,
        [
            {
                "debtor_uscc": uscc,
                "related": False,
                "other_fen": 0,
                "used_fen": d.used_fen,
                "reserved_fen": d.reserved_fen,
            }
            for uscc, d in sorted(debtors.items())
        ],
    )


async def set_debtor(
    session: AsyncSession,
    debtor_uscc: str,
    *,
    related: bool | None = None,
    other: Money | None = None,
    lock_rows: bool,
) -> None:
    """Mark a debtor a related party of the factor (or not), and/or set what the factor holds
    against it outside this hub (part of the portfolio's other risk assets)."""
    query = _GET_BOOK.with_for_update() if lock_rows else _GET_BOOK
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise PortfolioNotSet("set the portfolio first (factorhub portfolio set)")
    current = (
        await session.execute(select(_debtors).where(_debtors.c.debtor_uscc == debtor_uscc))
    ).one_or_none()
    values: dict[str, Any] = {}
    if related is not None:
        values["related"] = related
    if other is not None:
        if other.currency != row.currency:
            raise ValueError(f"the portfolio is kept in {row.currency}")
        values["other_fen"] = to_fen(other)
        others = await _others(session, excluding=debtor_uscc)
        if others + values["other_fen"] > row.other_risk_assets_fen:
            raise ValueError(
                "the debtors' exposures outside this hub are part of the portfolio's other "
                f"risk assets ({from_fen(row.other_risk_assets_fen, row.currency)}): "
                "they cannot add up to more"
            )
    if current is None:
        values = {"related": False, "other_fen": 0, **values}
        await session.execute(
            insert(_debtors).values(debtor_uscc=debtor_uscc, used_fen=0, reserved_fen=0, **values)
        )
    elif values:
        await session.execute(
            update(_debtors).where(_debtors.c.debtor_uscc == debtor_uscc).values(**values)
        )


async def portfolio_figures(session: AsyncSession) -> PortfolioFigures | None:
    """The portfolio and every debtor it knows (None: not configured)."""
    row = (await session.execute(_GET_BOOK)).one_or_none()
    if row is None:
        return None
    c = row.currency
    debtors = tuple(
        DebtorFigures(
            d.debtor_uscc,
            d.related,
            from_fen(d.other_fen, c),
            from_fen(d.used_fen, c),
            from_fen(d.reserved_fen, c),
        )
        for d in await session.execute(select(_debtors).order_by(_debtors.c.debtor_uscc))
    )
    return PortfolioFigures(
        net_assets=from_fen(row.net_assets_fen, c),
        other_risk_assets=from_fen(row.other_risk_assets_fen, c),
        used=from_fen(row.used_fen, c),
        reserved=from_fen(row.reserved_fen, c),
        debtors=debtors,
    )


async def _check_other(session: AsyncSession, other_fen: int) -> None:
    if await _others(session) > other_fen:
        raise ValueError(
            "other risk assets include what the factor holds against each debtor outside this "
            "hub; they cannot be less than those exposures added up"
        )


async def _others(session: AsyncSession, *, excluding: str | None = None) -> int:
    query = select(func.coalesce(func.sum(_debtors.c.other_fen), 0))
    if excluding is not None:
        query = query.where(_debtors.c.debtor_uscc != excluding)
    return int((await session.execute(query)).scalar_one())
