"""Seller facilities and limit reservations: every change is one conditional UPDATE.

`reserve` adds to `reserved_fen` only WHERE the headroom covers the amount, so no interleaving
of concurrent consumers (on PostgreSQL the UPDATE takes the row lock) can over-reserve.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import BankAccount, Money, Party, PartyRole, ReservationState
from hub.persistence.money import from_fen, to_fen
from hub.persistence.tables import FacilityRow, ReservationRow
from routes.ports import Clock, Facility, ReserveOutcome

__all__ = ["FacilityTerms", "SqlFacilityRepository"]


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
        row = await self._session.get(FacilityRow, seller_uscc, populate_existing=True)
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
            update(FacilityRow)
            .where(
                FacilityRow.seller_uscc == seller_uscc,
                FacilityRow.currency == amount.currency,
                FacilityRow.limit_fen - FacilityRow.used_fen - FacilityRow.reserved_fen >= fen,
            )
            .values(reserved_fen=FacilityRow.reserved_fen + fen, version=FacilityRow.version + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            exists = await self._session.scalar(
                select(FacilityRow.seller_uscc).where(FacilityRow.seller_uscc == seller_uscc)
            )
            return ReserveOutcome.INSUFFICIENT if exists else ReserveOutcome.NO_FACILITY
        await self._session.execute(
            insert(ReservationRow).values(
                request_id=request_id,
                seller_uscc=seller_uscc,
                amount_fen=fen,
                state=ReservationState.RESERVED.value,
                updated_at=self._clock(),
            )
        )
        return ReserveOutcome.RESERVED

    async def consume(self, request_id: str, amount: Money) -> None:
        held = await self._reservation(request_id)
        if held is None or held.state != ReservationState.RESERVED.value:
            return
        await self._session.execute(
            update(FacilityRow)
            .where(FacilityRow.seller_uscc == held.seller_uscc)
            .values(
                reserved_fen=FacilityRow.reserved_fen - held.amount_fen,
                used_fen=FacilityRow.used_fen + to_fen(amount),
                version=FacilityRow.version + 1,
            )
        )
        await self._set_state(request_id, ReservationState.CONSUMED)

    async def release(self, request_id: str) -> None:
        held = await self._reservation(request_id)
        if held is None or held.state != ReservationState.RESERVED.value:
            return
        await self._session.execute(
            update(FacilityRow)
            .where(FacilityRow.seller_uscc == held.seller_uscc)
            .values(
                reserved_fen=FacilityRow.reserved_fen - held.amount_fen,
                version=FacilityRow.version + 1,
            )
        )
        await self._set_state(request_id, ReservationState.RELEASED)

    async def _reservation(self, request_id: str) -> ReservationRow | None:
        return await self._session.get(ReservationRow, request_id, populate_existing=True)

    async def _set_state(self, request_id: str, state: ReservationState) -> None:
        await self._session.execute(
            update(ReservationRow)
            .where(ReservationRow.request_id == request_id)
            .values(state=state.value, updated_at=self._clock())
        )
