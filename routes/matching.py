"""Matching: the invoice against the purchase order that came with it (§3.3, simplified),
after locking the invoice against double financing (§3.1).

A mismatch (amount, quantity, no order) waits in MATCH_REVIEW for an operator (`factorhub
review`), or is rejected at once when the policy says `match_exceptions: reject`. A void or
red-flushed invoice, or one the tax platform refuses, is always rejected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from canonical import (
    FEN,
    DocumentsMatched,
    FinancingRejected,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    InvoiceStatus,
    Message,
)
from canonical.verification import InvoiceVerification
from routes.policy import FlowPolicy
from routes.ports import UnitOfWork
from routes.registry import Services
from routes.verification import verification_problem

__all__ = ["match_documents", "match_problem"]

_FROM = frozenset({FinancingState.SUBMITTED})
_REVIEWABLE = frozenset({"NO_ORDER", "MATCH_AMOUNT", "MATCH_QTY"})


def match_problem(request: FinancingRequest, policy: FlowPolicy) -> tuple[str, str] | None:
    """The first reason the invoice does not match its order, as (code, detail), or None."""
    invoice = request.invoice
    if invoice.status is InvoiceStatus.VOID:
        return "INVOICE_VOID", "the invoice is void (作废)"
    if invoice.status is InvoiceStatus.RED_FLUSHED or invoice.total.is_negative():
        return "INVOICE_RED_FLUSHED", "the invoice is red-flushed (红冲)"
    if not request.orders:
        return "NO_ORDER", "no purchase order came with the invoice"
    ordered = sum((o.total.amount for o in request.orders), Decimal(0))
    gap = abs(invoice.total.amount - ordered)
    allowed = max(ordered * policy.amount_tolerance_pct, policy.amount_tolerance_abs)
    if gap > allowed:
        return "MATCH_AMOUNT", f"invoice total {invoice.total.amount} vs orders {ordered}"
    ordered_qty: dict[str, Decimal] = defaultdict(Decimal)
    for order in request.orders:
        for line in order.lines:
            ordered_qty[line.item_code] += line.quantity
    invoiced_qty: dict[str, Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        invoiced_qty[line.item_code] += line.quantity
    for item, qty in sorted(invoiced_qty.items()):
        cap = ordered_qty.get(item, Decimal(0)) * (1 + policy.quantity_tolerance_pct)
        if qty > cap:
            return "MATCH_QTY", f"item {item or '?'}: invoiced {qty} > ordered {ordered_qty[item]}"
    return None


async def match_documents(
    msg: FinancingSubmitted,
    verification: InvoiceVerification | None,
    uow: UnitOfWork,
    services: Services,
) -> Sequence[Message]:
    """Lock the invoice, check what the tax platform said of it (when it was asked), match,
    then compute the principal (advance rate x invoice total, rounded down)."""
    request = msg.request
    owner = await uow.invoice_locks.claim(request.invoice.key, msg.request_id)
    if owner != msg.request_id:  # §3.1: the invoice already backs another application
        detail = f"invoice {request.invoice.key} is financed by {owner}"
        await uow.requests.transition(
            msg.request_id,
            FinancingState.REJECTED,
            allowed_from=_FROM,
            reason="DUPLICATE_FINANCING",
            note=detail,
        )
        return [
            FinancingRejected(
                request_id=msg.request_id,
                reason="DUPLICATE_FINANCING",
                detail=detail,
                step="matching",
            )
        ]
    problem = match_problem(request, services.policy)
    if verification is not None:
        problem = verification_problem(verification) or problem
    if problem is not None:
        code, detail = problem
        if code in _REVIEWABLE and services.policy.match_exceptions == "review":
            await uow.requests.transition(
                msg.request_id,
                FinancingState.MATCH_REVIEW,
                allowed_from=_FROM,
                reason=code,
                note=detail,
            )
            return []
        await uow.requests.transition(
            msg.request_id, FinancingState.REJECTED, allowed_from=_FROM, reason=code, note=detail
        )
        return [
            FinancingRejected(
                request_id=msg.request_id, reason=code, detail=detail, step="matching"
            )
        ]
    principal = (request.invoice.total * services.policy.advance_rate).amount.quantize(
        FEN, ROUND_DOWN
    )
    await uow.requests.transition(msg.request_id, FinancingState.MATCHED, allowed_from=_FROM)
    return [
        DocumentsMatched(
            request_id=msg.request_id,
            seller=request.seller,
            buyer=request.buyer,
            invoice_key=request.invoice.key,
            principal=request.invoice.total.model_copy(update={"amount": principal}),
        )
    ]
