"""`factorhub review`: the operator's queue of applications the flow will not decide alone.

An application waits here with its reason and the evidence in its detail: REGISTRY_REVIEW
(another party's blanket registration covers the seller's receivables, §3.1) and MATCH_REVIEW
(the invoice does not match its order within tolerance, §3.3). Approving puts it back into the
flow at the step that stopped it, with the finding cleared; rejecting ends it REJECTED and
gives its limit back. Both are recorded in the application's history with the operator's note,
and in the audit trail with who decided (`actor`: by default the operator's login name), and
both are one transaction with the message they emit (outbox), so nothing is lost or doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import select

from canonical import (
    FEN,
    DocumentsMatched,
    Envelope,
    FinancingRejected,
    FinancingRequest,
    FinancingState,
    LimitReserved,
    Message,
    Money,
)
from hub.persistence.money import from_fen
from hub.persistence.requests import Cause
from hub.persistence.tables import RequestRow, ReservationRow, table_of
from hub.persistence.uow import SqlUnitOfWork, UnitOfWorkFactory
from hub.security.audit import operator_name, record_action
from routes.matching import match_request
from routes.policy import FlowPolicy
from routes.top_ups import top_up_cap

__all__ = ["ReviewError", "ReviewItem", "approve", "pending_reviews", "reject"]

_requests = table_of(RequestRow)
_reservations = table_of(ReservationRow)
_WAITING = [s.value for s in FinancingState if s.awaiting_operator]


class ReviewError(Exception):
    """The application is not waiting for an operator (or does not exist)."""


@dataclass(frozen=True, slots=True)
class ReviewItem:
    request_id: str
    state: str
    reason: str | None
    detail: str | None
    seller_uscc: str
    invoice_key: str
    total: str
    waiting_since: datetime


async def pending_reviews(units: UnitOfWorkFactory) -> list[ReviewItem]:
    """Every application waiting for an operator, oldest first."""
    async with units() as uow:
        rows = await uow.session.execute(
            select(_requests)
            .where(_requests.c.state.in_(_WAITING))
            .order_by(_requests.c.updated_at, _requests.c.id)
        )
        return [
            ReviewItem(
                request_id=r.id,
                state=r.state,
                reason=r.reason,
                detail=r.detail,
                seller_uscc=r.seller_uscc,
                invoice_key=r.invoice_key,
                total=str(from_fen(r.total_fen, r.currency).amount),
                waiting_since=r.updated_at,
            )
            for r in rows
        ]


async def approve(
    units: UnitOfWorkFactory,
    request_id: str,
    *,
    note: str,
    policy: FlowPolicy,
    actor: str | None = None,
) -> FinancingState:
    """Clear the finding and hand the application back to the flow; the state it resumes in."""
    async with units() as uow:
        state = await _waiting(uow, request_id, "approve")
        record = await uow.requests.get(request_id)
        request = record.request
        message: Message
        if state is FinancingState.REGISTRY_REVIEW:
            held = await uow.session.scalar(
                select(_reservations.c.amount_fen).where(
                    _reservations.c.request_id == request_id,
                    _reservations.c.state == "RESERVED",
                )
            )
            if held is None:
                raise ReviewError(f"{request_id} holds no limit any more: reject it instead")
            target = FinancingState.LIMIT_RESERVED
            message = LimitReserved(
                request_id=request_id,
                seller=request.seller,
                buyer=request.buyer,
                invoice_key=request.invoice.key,
                amount=from_fen(held, request.invoice.total.currency),
                blanket_cleared=True,
                eligible_base=_eligible_base(request, policy),
                due_date=request.invoice.due_date,
            )
        else:
            target = FinancingState.MATCHED
            base = _eligible_base(request, policy)
            principal = (base * policy.advance_rate).amount.quantize(FEN, ROUND_DOWN)
            principal, capped = await _within_top_up_cap(uow, request, base, principal, policy)
            note = "; ".join(n for n in (note, capped) if n)
            message = DocumentsMatched(
                request_id=request_id,
                seller=request.seller,
                buyer=request.buyer,
                invoice_key=request.invoice.key,
                principal=request.invoice.total.model_copy(update={"amount": principal}),
                eligible_base=base,
                due_date=request.invoice.due_date,
            )
        await uow.requests.transition(
            request_id,
            target,
            allowed_from=frozenset({state}),
            note=f"approved by an operator: {note}"[:500],
        )
        await _audited(units, uow, actor, "approve", request_id, state, target, note)
        await _emit(uow, message, request.tenant, request.seller.uscc)
        await uow.commit()
        return target


async def _within_top_up_cap(
    uow: SqlUnitOfWork,
    request: FinancingRequest,
    base: Money,
    principal: Decimal,
    policy: FlowPolicy,
) -> tuple[Decimal, str | None]:
    """A top-up's principal within the invoice's advance-rate headroom, as matching caps it
    (`routes.top_ups`; its share recorded), with the note; ReviewError when the cap leaves
    too little. Any other application: as it is."""
    financing = await uow.invoice_locks.top_up(
        request.invoice.key, request.id, seller_uscc=request.seller.uscc, tenant=request.tenant
    )
    if financing is None or not financing.holders:
        return principal, None
    capped = top_up_cap(financing, base.amount, principal, policy)
    if capped.refused is not None:
        raise ReviewError(f"{request.id}: {capped.refused}: reject it instead")
    await uow.invoice_locks.hold(request.id, base.model_copy(update={"amount": capped.principal}))
    return capped.principal, capped.note


def _eligible_base(request: FinancingRequest, policy: FlowPolicy) -> Money:
    """The face the financing rests on: the delivered-only face when matching found one."""
    face = match_request(request, policy).eligible_face
    total = request.invoice.total
    return total if face is None else total.model_copy(update={"amount": face})


async def reject(
    units: UnitOfWorkFactory, request_id: str, *, note: str, actor: str | None = None
) -> None:
    """End the application REJECTED with the finding as its reason; its limit is released."""
    async with units() as uow:
        state = await _waiting(uow, request_id, "reject")
        current = await uow.requests.state_of(request_id)
        reason = (current[1] if current else None) or state.value
        record = await uow.requests.get(request_id)
        await uow.facilities.release(request_id)
        detail = f"rejected by an operator: {note}"[:500]
        await uow.requests.transition(
            request_id,
            FinancingState.REJECTED,
            allowed_from=frozenset({state}),
            reason=reason,
            note=detail,
        )
        await _audited(
            units, uow, actor, "reject", request_id, state, FinancingState.REJECTED, note
        )
        rejected = FinancingRejected(
            request_id=request_id, reason=reason, detail=detail, step="review"
        )
        await _emit(uow, rejected, record.request.tenant, record.request.seller.uscc)
        await uow.commit()


async def _waiting(uow: SqlUnitOfWork, request_id: str, action: str) -> FinancingState:
    uow.requests.cause = Cause(message_type=f"factorhub review {action}")
    current = await uow.requests.state_of(request_id)
    if current is None:
        raise ReviewError(f"no financing request {request_id}")
    if not current[0].awaiting_operator:
        raise ReviewError(f"{request_id} is {current[0].value}, not waiting for a review")
    return current[0]


async def _audited(
    units: UnitOfWorkFactory,
    uow: SqlUnitOfWork,
    actor: str | None,
    action: str,
    request_id: str,
    source: FinancingState,
    target: FinancingState,
    note: str,
) -> None:
    """The decision in the audit trail, with who made it (in the decision's transaction)."""
    await record_action(
        uow.session,
        at=units.clock(),
        actor=actor or operator_name(),
        action=f"review.{action}",
        request_id=request_id,
        from_state=source.value,
        to_state=target.value,
        details=note,
    )


async def _emit(uow: SqlUnitOfWork, message: Message, tenant: str, key: str) -> None:
    envelope = Envelope(
        correlation_id=message.request_id,
        tenant=tenant,
        source_system="operator",
        type=type(message).__name__,
        key=key,
        body=message.model_dump(mode="json"),
    ).carrying(message)
    await uow.outbox.add_many([(message.topic, envelope)])
