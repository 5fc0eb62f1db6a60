"""Matching (§3.3): the invoice against the purchase orders that came with it and, when the ERP
sent them too, the delivery notes (three-way), after locking the invoice against double
financing (§3.1).

Amounts are matched against the orders. Quantities are matched per item: against the delivery
notes when the item is on one (invoiced <= delivered x (1 + quantity tolerance)), else against
the orders (no delivery note came, or none names the item: a service, say). An invoice billing
more than was delivered is, by the policy's `partial_match_mode`, financed only for what was
delivered (`delivered_only`, the §6.0 default), or a MATCH_QTY mismatch (`reject`;
`manual_review` always waits for an operator).

An export invoice is matched against its customs declarations too (`routes.customs_match`).
A mismatch (amount, quantity, no order, customs) waits in MATCH_REVIEW for an operator
(`factorhub review`), or is rejected at once when the policy says `match_exceptions: reject`. A
void or red-flushed invoice, or one the tax platform refuses, is always rejected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from canonical import (
    DocumentsMatched,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    InvoiceStatus,
    Message,
)
from canonical.verification import InvoiceVerification
from routes.awaiting import complete_or_wait
from routes.customs_match import CUSTOMS_CODES, customs_problem
from routes.later import Later
from routes.outcomes import hold_for_review, reject
from routes.policy import FlowPolicy, MatchingPolicy
from routes.ports import UnitOfWork
from routes.quote.arithmetic import fen_down
from routes.quote.matching import match_receivable
from routes.quote.models import MatchIn
from routes.registry import Services
from routes.top_ups import cap_top_up
from routes.verification import (
    asks_again_tomorrow,
    red_flushed_face,
    retry_tomorrow_or_reject,
    verification_problem,
    warning_for,
)

__all__ = ["Match", "match_documents", "match_problem", "match_request"]

_FROM = frozenset({FinancingState.SUBMITTED})
_REVIEWABLE = frozenset({"NO_ORDER", "MATCH_AMOUNT", "MATCH_QTY", *CUSTOMS_CODES})
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Match:
    """What matching found: a problem as (code, detail), or the face to finance.

    `eligible_face` is None when the whole invoice total counts; else the delivered-only face,
    with `note` saying so. `shortfall` marks a problem that is a delivery shortfall (the policy's
    `partial_match_mode` is `reject` or `manual_review`)."""

    problem: tuple[str, str] | None = None
    eligible_face: Decimal | None = None
    note: str | None = None
    shortfall: bool = False


_MATCHED = Match()


def match_problem(request: FinancingRequest, policy: FlowPolicy) -> tuple[str, str] | None:
    """The first reason the invoice does not match its documents, as (code, detail), or None."""
    return match_request(request, policy).problem


def match_request(request: FinancingRequest, policy: FlowPolicy) -> Match:
    """Match the invoice against its orders, delivery notes and customs declarations (§3.3)."""
    invoice = request.invoice
    if invoice.status is InvoiceStatus.VOID:
        return Match(("INVOICE_VOID", "the invoice is void (作废)"))
    if invoice.status is InvoiceStatus.RED_FLUSHED or invoice.total.is_negative():
        return Match(("INVOICE_RED_FLUSHED", "the invoice is red-flushed (红冲)"))
    if not request.orders:
        return Match(("NO_ORDER", "no purchase order came with the invoice"))
    ordered = sum((o.total.amount for o in request.orders), Decimal(0))
    gap = abs(invoice.total.amount - ordered)
    allowed = max(ordered * policy.amount_tolerance_pct, policy.amount_tolerance_abs)
    if gap > allowed:
        return Match(("MATCH_AMOUNT", f"invoice total {invoice.total.amount} vs orders {ordered}"))
    if request.deliveries:
        match = _match_deliveries(request, policy, ordered)
    else:
        match = _match_ordered_quantities(request, policy)
    customs = None if match.problem else customs_problem(request, policy)
    if customs is not None:  # the face stays, for an operator approving the exception
        return Match(customs, eligible_face=match.eligible_face, note=match.note)
    return match


def _match_ordered_quantities(
    request: FinancingRequest, policy: FlowPolicy, skip: Container[str] = ()
) -> Match:
    """Per item (but those in `skip`): invoiced quantity <= ordered x (1 + tolerance)."""
    ordered_qty: dict[str, Decimal] = defaultdict(Decimal)
    for order in request.orders:
        for line in order.lines:
            ordered_qty[line.item_code] += line.quantity
    invoiced_qty: dict[str, Decimal] = defaultdict(Decimal)
    for line in request.invoice.lines:
        invoiced_qty[line.item_code] += line.quantity
    for item, qty in sorted(invoiced_qty.items()):
        if item in skip:
            continue
        cap = ordered_qty.get(item, Decimal(0)) * (1 + policy.quantity_tolerance_pct)
        if qty > cap:
            detail = f"item {item or '?'}: invoiced {qty} > ordered {ordered_qty[item]}"
            return Match(("MATCH_QTY", detail))
    return _MATCHED


@lru_cache(maxsize=16)
def _tolerances(quantity_tolerance_pct: Decimal) -> MatchingPolicy:
    """The quote calculator's matching policy with the flow's quantity tolerance (its invoice
    vs delivered rule is the one applied here; no order is given to it, so nothing else is)."""
    return MatchingPolicy(quantity_tolerance_pct=quantity_tolerance_pct)


def _match_deliveries(request: FinancingRequest, policy: FlowPolicy, ordered: Decimal) -> Match:
    """Per item a delivery note names: invoiced quantity <= delivered x (1 + tolerance); when it
    is over, either a MATCH_QTY problem or (delivered only) the face of what was delivered: per
    item, delivered quantity x the invoiced unit price incl. tax, never more than was invoiced
    for the item, summed and rounded down to the fen; never more than the invoice total or the
    orders. An item no delivery note names (a service: only goods are shipped) is matched
    against the orders, as without delivery notes, and counts in full."""
    delivered: dict[str, Decimal] = defaultdict(Decimal)
    for delivery in request.deliveries:
        for line in delivery.lines:
            delivered[line.item_code] += line.quantity
    unshipped = _match_ordered_quantities(request, policy, skip=delivered)
    if unshipped.problem is not None:
        return unshipped
    invoiced: dict[str, Decimal] = defaultdict(Decimal)
    value: dict[str, Decimal] = defaultdict(Decimal)  # incl. tax
    for line in request.invoice.lines:
        invoiced[line.item_code] += line.quantity
        value[line.item_code] += line.amount + line.tax
    rules = _tolerances(policy.quantity_tolerance_pct)
    over: list[str] = []
    for item, qty in invoiced.items():
        if qty <= 0 or item not in delivered:
            continue
        got = max(delivered[item], _ZERO)
        check = MatchIn.model_construct(
            invoiced_quantity=qty, delivered_quantity=got, unit_price=value[item] / qty
        )
        if "MATCH_QTY" in match_receivable(check, value[item], rules).exceptions:
            over.append(item)
    if not over:
        return _MATCHED
    first = min(over)
    detail = f"item {first or '?'}: invoiced {invoiced[first]} > delivered {delivered[first]}"
    if policy.partial_match_mode != "delivered_only":
        return Match(("MATCH_QTY", detail), shortfall=True)
    face = sum(
        (
            _delivered_value(qty, delivered[item], value[item])
            if item in delivered
            else value[item]
            for item, qty in invoiced.items()
        ),
        _ZERO,
    )
    total = request.invoice.total.amount
    face = min(fen_down(face), total, ordered)
    if face <= 0:
        return Match(("MATCH_QTY", f"{detail}: nothing invoiced was delivered"), shortfall=True)
    note = f"delivered only: eligible face {face} of invoice total {total} ({detail})"
    return Match(eligible_face=face, note=note)


def _delivered_value(invoiced: Decimal, delivered: Decimal, value: Decimal) -> Decimal:
    """What was delivered of one item, at its invoiced unit price incl. tax (value / invoiced),
    never more than its invoiced value; multiplied before dividing, so exact when it can be."""
    if invoiced <= 0 or delivered >= invoiced:  # nothing to deliver (a discount), or all of it
        return value
    return value * max(delivered, _ZERO) / invoiced


async def match_documents(
    msg: FinancingSubmitted,
    verification: InvoiceVerification | None,
    uow: UnitOfWork,
    services: Services,
) -> Sequence[Message | Later]:
    """Lock the invoice, check what the tax platform said of it (when it was asked), match,
    then compute the principal (advance rate x the invoice total, or the delivered-only face,
    rounded down to the fen).

    When the platform could not answer today (not found yet, daily limit), the application
    keeps its lock and is verified again the next day (`routes.verification`); the retry finds
    the invoice locked by itself, which is no duplicate. The same seller's second application
    on an invoice whose financing is live is a top-up, its principal capped at what the
    invoice's advance-rate headroom leaves (`routes.top_ups`)."""
    request = msg.request
    if msg.verification_attempt > 1:  # a next-day retry: only while the application waits
        current = await uow.requests.state_of(msg.request_id)
        if current is None or current[0] not in _FROM:
            return []
    owner = await uow.invoice_locks.claim(request.invoice.key, msg.request_id)
    top_up = None  # §3.1: the same seller's top-up of live financing, capped below (§2.2)
    if owner != msg.request_id and services.policy.top_ups:
        top_up = await uow.invoice_locks.top_up(
            request.invoice.key,
            msg.request_id,
            seller_uscc=request.seller.uscc,
            tenant=request.tenant,
        )
    if owner != msg.request_id and top_up is None:  # §3.1: the invoice backs another application
        detail = f"invoice {request.invoice.key} is financed by {owner}"
        return await reject(
            uow, msg.request_id, "DUPLICATE_FINANCING", detail, step="matching", allowed_from=_FROM
        )
    if verification is not None and asks_again_tomorrow(verification):
        return await retry_tomorrow_or_reject(msg, verification, uow, services)
    ready = await complete_or_wait(msg, verification, uow, services)  # orders ingested earlier
    if not isinstance(ready, FinancingRequest):
        return ready  # AWAITING_DOCUMENTS: orders the invoice names have not come
    request = ready
    policy = services.policy
    match = match_request(request, policy)
    problem = match.problem
    if verification is not None:
        problem = verification_problem(verification, request) or problem
    if problem is not None:
        code, detail = problem
        manual = match.shortfall and policy.partial_match_mode == "manual_review"
        if code in _REVIEWABLE and (policy.match_exceptions == "review" or manual):
            return await hold_for_review(uow, msg.request_id, code, detail, allowed_from=_FROM)
        rejected = await reject(
            uow, msg.request_id, code, detail, step="matching", allowed_from=_FROM
        )
        warning = warning_for(verification, request, services.clock, msg.request_id)
        return rejected if warning is None else [*rejected, warning]
    total = request.invoice.total
    face = total.amount if match.eligible_face is None else match.eligible_face
    note = match.note
    reduced = red_flushed_face(verification, request)
    if reduced is not None and reduced < face:
        face = reduced
        red = total.amount - reduced
        note = "; ".join(
            n for n in (note, f"partly red-flushed: eligible face {face} ({red} taken off)") if n
        )
    principal = fen_down(face * policy.advance_rate)
    asked = request.requested_amount
    if asked is not None and asked.currency == total.currency and asked.amount < principal:
        principal = fen_down(asked.amount)  # §2.2: never more than the seller asked for
        note = "; ".join(n for n in (note, f"principal {principal}: the amount requested") if n)
    if top_up is not None:  # §2.2: within what the invoice's other financing leaves
        capped = await cap_top_up(msg, top_up, face, principal, note, uow, policy)
        if isinstance(capped, list):
            return capped  # REJECTED TOPUP_CAP
        principal, note = capped
    await uow.requests.transition(
        msg.request_id, FinancingState.MATCHED, allowed_from=_FROM, note=note
    )
    return [
        DocumentsMatched(
            request_id=msg.request_id,
            seller=request.seller,
            buyer=request.buyer,
            invoice_key=request.invoice.key,
            principal=total.model_copy(update={"amount": principal}),
            eligible_base=total.model_copy(update={"amount": face}),
            due_date=request.invoice.due_date,
        )
    ]
