"""Seller facilities and limit reservations: every change is one conditional UPDATE.

`reserve` adds to `reserved_fen` only WHERE the headroom covers the amount, so no interleaving
of concurrent consumers (on PostgreSQL the UPDATE takes the row lock) can over-reserve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import BankAccount, Money, Party, PartyRole, ReservationState
from hub.persistence.money import from_fen, to_fen
from hub.persistence.tables import FacilityRow, ReservationRow, table_of
from routes.ports import Clock, Facility, ReserveOutcome

__all__ = ["FacilityTerms", "SqlFacilityRepository"]

_facilities = table_of(FacilityRow)
_reservations = table_of(ReservationRow)

_GET_FACILITY = select(_facilities).where(_facilities.c.seller_uscc == bindparam("b_seller"))
_RESERVE = (
    update(_facilities)
    .where(
        _facilities.c.seller_uscc == bindparam("b_seller"),
        _facilities.c.currency == bindparam("b_currency"),
        _facilities.c.limit_fen - _facilities.c.used_fen - _facilities.c.reserved_fen
        >= bindparam("b_fen"),
    )
    .values(
        reserved_fen=_facilities.c.reserved_fen + bindparam("b_fen"),
        version=_facilities.c.version + 1,
    )
)
_SETTLE = (
    update(_facilities)
    .where(_facilities.c.seller_uscc == bindparam("b_seller"))
    .values(
        reserved_fen=_facilities.c.reserved_fen - bindparam("b_held"),
        used_fen=_facilities.c.used_fen + bindparam("b_used"),
        version=_facilities.c.version + 1,
    )
)
_GET_RESERVATION = select(
    _reservations.c.seller_uscc, _reservations.c.amount_fen, _reservations.c.state
).where(_reservations.c.request_id == bindparam("b_request"))
_INSERT_RESERVATION = insert(_reservations)
_SET_RESERVATION_STATE = (
    update(_reservations)
    .where(_reservations.c.request_id == bindparam("b_request"))
    .values(state=bindparam("state"), updated_at=bindparam("updated_at"))
)


@dataclass(frozen=True, slots=True)
class FacilityTerms:
    """What an operator sets up for a seller: the limit and the payout account."""

    seller: Party
    limit: Money
    account: BankAccount


class SqlFacilityRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

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
        dialect = self._session.get_bind().dialect.name
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(FacilityRow).values(values)
        changed = {
            k: stmt.excluded[k]
            for k in values
            if k not in {"used_fen", "reserved_fen", "seller_uscc", "version"}
        }
        await self._session.execute(
            stmt.on_conflict_do_update(index_elements=["seller_uscc"], set_=changed)
        )

    async def get(self, seller_uscc: str) -> Facility | None:
        row = (await self._session.execute(_GET_FACILITY, {"b_seller": seller_uscc})).one_or_none()
        if row is None:
            return None
        return Facility(
            seller=Party(name=row.seller_name, uscc=row.seller_uscc, role=PartyRole.SELLER),
            limit=from_fen(row.limit_fen, row.currency),
            used=from_fen(row.used_fen, row.currency),
            reserved=from_fen(row.reserved_fen, row.currency),
            account=BankAccount(
                number=row.account_number,
                name=row.account_name,
                bank_name=row.bank_name,
                cnaps_code=row.cnaps_code,
            ),
        )

    async def reserve(self, request_id: str, seller_uscc: str, amount: Money) -> ReserveOutcome:
        if await self._reservation(request_id) is not None:
            return ReserveOutcome.RESERVED
        fen = to_fen(amount)
        result = await self._session.execute(
            _RESERVE, {"b_seller": seller_uscc, "b_currency": amount.currency, "b_fen": fen}
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            exists = await self._session.scalar(
                select(_facilities.c.seller_uscc).where(_facilities.c.seller_uscc == seller_uscc)
            )
            return ReserveOutcome.INSUFFICIENT if exists else ReserveOutcome.NO_FACILITY
        await self._session.execute(
            _INSERT_RESERVATION,
            {
                "request_id": request_id,
                "seller_uscc": seller_uscc,
                "amount_fen": fen,
                "state": ReservationState.RESERVED.value,
                "updated_at": self._clock(),
            },
        )
        return ReserveOutcome.RESERVED

    async def consume(self, request_id: str, amount: Money) -> None:
        await self._settle(request_id, ReservationState.CONSUMED, to_fen(amount))

    async def release(self, request_id: str) -> None:
        await self._settle(request_id, ReservationState.RELEASED, 0)

    async def _settle(self, request_id: str, outcome: ReservationState, used_fen: int) -> None:
        """Take the reservation off the facility, adding `used_fen` to what is used."""
        held = await self._reservation(request_id)
        if held is None or held.state != ReservationState.RESERVED.value:
            return
        await self._session.execute(
            _SETTLE,
            {"b_seller": held.seller_uscc, "b_held": held.amount_fen, "b_used": used_fen},
        )
        await self._session.execute(
            _SET_RESERVATION_STATE,
            {"b_request": request_id, "state": outcome.value, "updated_at": self._clock()},
        )

    async def _reservation(self, request_id: str) -> Any:
        return (
            await self._session.execute(_GET_RESERVATION, {"b_request": request_id})
        ).one_or_none()
