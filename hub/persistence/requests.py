"""Financing requests and their history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import FinancingRequest, FinancingState, IllegalTransition
from hub.persistence.money import to_fen
from hub.persistence.tables import RequestEventRow, RequestRow
from routes.ports import Clock, RequestRecord

__all__ = ["Cause", "HistoryEntry", "SqlRequestRepository"]


@dataclass(frozen=True, slots=True)
class Cause:
    """The message being handled, recorded with every transition it causes."""

    message_id: str | None = None
    message_type: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    state: str
    reason: str | None
    note: str | None
    message_id: str | None
    message_type: str | None
    at: datetime


class SqlRequestRepository:
    """Requests in SQL; transitions are checked against the current state, then recorded."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self.cause = Cause()

    async def add(self, request: FinancingRequest, *, source_system: str) -> bool:
        """Insert a new SUBMITTED request; False if this source document was already accepted."""
        existing = await self.find_by_source(
            request.tenant, source_system, request.invoice.provenance.source_document_id
        )
        if existing is not None:
            return False
        now = self._clock()
        await self._session.execute(
            insert(RequestRow).values(
                id=request.id,
                tenant=request.tenant,
                source_system=source_system,
                source_document_id=request.invoice.provenance.source_document_id,
                seller_uscc=request.seller.uscc,
                buyer_uscc=request.buyer.uscc,
                invoice_key=request.invoice.key,
                total_fen=to_fen(request.invoice.total),
                currency=request.invoice.total.currency,
                state=FinancingState.SUBMITTED.value,
                document=request.model_dump_json(),
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await self._event(request.id, FinancingState.SUBMITTED, None, None, now)
        return True

    async def find_by_source(self, tenant: str, source_system: str, document_id: str) -> str | None:
        return await self._session.scalar(
            select(RequestRow.id).where(
                RequestRow.tenant == tenant,
                RequestRow.source_system == source_system,
                RequestRow.source_document_id == document_id,
            )
        )

    async def get(self, request_id: str) -> RequestRecord:
        row = (
            await self._session.execute(
                select(RequestRow.document, RequestRow.state, RequestRow.reason).where(
                    RequestRow.id == request_id
                )
            )
        ).one()
        return RequestRecord(
            request=FinancingRequest.model_validate_json(row.document),
            state=FinancingState(row.state),
            reason=row.reason,
        )

    async def state_of(self, request_id: str) -> tuple[FinancingState, str | None] | None:
        row = (
            await self._session.execute(
                select(RequestRow.state, RequestRow.reason).where(RequestRow.id == request_id)
            )
        ).one_or_none()
        return None if row is None else (FinancingState(row.state), row.reason)

    async def transition(
        self,
        request_id: str,
        target: FinancingState,
        *,
        allowed_from: frozenset[FinancingState],
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        current = await self.state_of(request_id)
        if current is None:
            raise LookupError(f"no financing request {request_id}")
        state, _ = current
        if state not in allowed_from:
            raise IllegalTransition("financing", state.value, target.value)
        now = self._clock()
        result = await self._session.execute(
            update(RequestRow)
            .where(RequestRow.id == request_id, RequestRow.state == state.value)
            .values(
                state=target.value,
                reason=reason,
                detail=note,
                version=RequestRow.version + 1,
                updated_at=now,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise IllegalTransition("financing", state.value, target.value)
        await self._event(request_id, target, reason, note, now)

    async def history(self, request_id: str) -> list[HistoryEntry]:
        rows = await self._session.execute(
            select(RequestEventRow)
            .where(RequestEventRow.request_id == request_id)
            .order_by(RequestEventRow.id)
        )
        return [
            HistoryEntry(r.state, r.reason, r.note, r.message_id, r.message_type, r.at)
            for r in rows.scalars()
        ]

    async def _event(
        self,
        request_id: str,
        state: FinancingState,
        reason: str | None,
        note: str | None,
        at: datetime,
    ) -> None:
        await self._session.execute(
            insert(RequestEventRow).values(
                request_id=request_id,
                state=state.value,
                reason=reason,
                note=note,
                message_id=self.cause.message_id,
                message_type=self.cause.message_type,
                at=at,
            )
        )
