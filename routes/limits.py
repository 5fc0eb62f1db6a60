"""Limit check: hold the principal on the seller's facility and the buyer's (debtor's) limit,
atomically, in one transaction (§3.7), once the credit bureau has found nothing against either
party (`routes/credit.py`, the route's call)."""

from __future__ import annotations

from collections.abc import Sequence

from canonical import (
    DocumentsMatched,
    FinancingRejected,
    FinancingState,
    LimitReserved,
    Message,
)
from routes.credit import CreditFindings, credit_problem
from routes.ports import ReserveOutcome, UnitOfWork
from routes.registry import Services

__all__ = ["reserve_limit"]

_FROM = frozenset({FinancingState.MATCHED})


async def reserve_limit(
    msg: DocumentsMatched, credit: CreditFindings | None, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    """Reserve, or reject with SELLER_/BUYER_ DEREGISTERED / REVOKED / INACTIVE / UNKNOWN /
    DISHONEST / EXECUTED (what the credit bureau said, as the policy's `credit_checks` ask),
    LIMIT_SELLER / LIMIT_BUYER / NO_FACILITY / BELOW_MIN_TICKET.

    With partial approval (the policy's default, §2.2) a principal the headroom cannot cover in
    full is approved reduced to the least headroom of the two limits, as long as it stays at
    or above the minimum ticket; the reduced amount is what is registered and paid."""
    policy = services.policy
    if credit is not None:
        refused = credit_problem(credit, policy.credit_checks)
        if refused is not None:
            return await _reject(uow, msg, *refused, step="credit")
    if msg.principal.amount < policy.min_ticket:
        return await _reject(uow, msg, "BELOW_MIN_TICKET", f"principal {msg.principal}")
    floor = msg.principal.model_copy(update={"amount": policy.min_ticket})
    outcome, held = await uow.facilities.reserve(
        msg.request_id,
        msg.seller.uscc,
        msg.principal,
        at_least=floor if policy.partial_approval else None,
        buyer_uscc=msg.buyer.uscc,
    )
    if outcome is ReserveOutcome.NO_FACILITY:
        return await _reject(uow, msg, "NO_FACILITY", f"no facility for seller {msg.seller.uscc}")
    if outcome is ReserveOutcome.INSUFFICIENT:
        return await _reject(uow, msg, "LIMIT_SELLER", f"headroom below {msg.principal}")
    if outcome is ReserveOutcome.INSUFFICIENT_BUYER:
        detail = f"buyer {msg.buyer.uscc}: headroom below {msg.principal}"
        return await _reject(uow, msg, "LIMIT_BUYER", detail)
    note = None
    if outcome is ReserveOutcome.REDUCED_BY_SELLER:
        note = f"approved reduced to {held} by the seller's headroom (LIMIT_SELLER)"
    elif outcome is ReserveOutcome.REDUCED_BY_BUYER:
        note = f"approved reduced to {held} by the buyer's headroom (LIMIT_BUYER)"
    if credit is not None and credit.unchecked:
        note = "; ".join(n for n in (note, credit.unchecked) if n)
    await uow.requests.transition(
        msg.request_id, FinancingState.LIMIT_RESERVED, allowed_from=_FROM, note=note
    )
    return [
        LimitReserved(
            request_id=msg.request_id,
            seller=msg.seller,
            buyer=msg.buyer,
            invoice_key=msg.invoice_key,
            amount=held,
            eligible_base=msg.eligible_base,
            due_date=msg.due_date,
        )
    ]


async def _reject(
    uow: UnitOfWork, msg: DocumentsMatched, code: str, detail: str, *, step: str = "limits"
) -> Sequence[Message]:
    await uow.requests.transition(
        msg.request_id, FinancingState.REJECTED, allowed_from=_FROM, reason=code, note=detail
    )
    return [FinancingRejected(request_id=msg.request_id, reason=code, detail=detail, step=step)]
