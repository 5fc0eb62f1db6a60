"""Documents that come late (§3.3): an invoice naming orders that did not come with it.

An ERP often pushes the invoice before (or without) the sales orders it names. Matching first
looks for them among the documents ingested earlier through `/v1/ingest`, by tenant and order
number (one indexed query; an order naming another buyer does not count), and matches with
what it finds, with the delivery notes shipping against those orders. What it does not find is
waited for: the application goes AWAITING_DOCUMENTS with a note naming the orders, and a timer
(`Later`, the durable timers table) is set the policy's `document_wait_hours` ahead (0: no
waiting, matched at once with what there is).

- An awaited order arriving through `/v1/ingest` (`documents_arrived`, in the transaction that
  stores it) completes every wait it finishes: the application is SUBMITTED again, its stored
  request amended with the documents now known, and handed back to matching by a fresh
  `FinancingSubmitted` carrying them; matching then goes on as usual (MATCHED, delivered only,
  MATCH_REVIEW). A document for an application no longer waiting changes nothing.
- The timer (`DocumentWaitExpired`, route `expire-document-wait`) finding the application still
  waiting makes it a NO_ORDER exception naming the orders that never came and how long they
  were waited for: MATCH_REVIEW, or REJECTED under `match_exceptions: reject` (which frees the
  invoice lock for a new application). For an application that moved on it does nothing.

An export invoice's customs declarations (`routes.customs_match`) come in the same query, when
the policy matches them; under `customs_matching: required` an export invoice without one waits
for it the same way (its contracts awaited beside the orders: `kind` `customs`), handed back
when a declaration under one of them is ingested, CUSTOMS_MISSING when the wait runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from canonical import (
    CustomsDeclaration,
    DeliveryNote,
    DocumentWaitExpired,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    InvoiceStatus,
    Message,
    PurchaseOrder,
)
from canonical.verification import InvoiceVerification
from routes.customs_match import (
    CUSTOMS_MISSING,
    awaited_contracts,
    declarations_for,
    wants_declarations,
)
from routes.later import CHINA, Later
from routes.outcomes import hold_for_review, reject
from routes.ports import DocumentKey, DocumentWait, TradeDocuments, UnitOfWork
from routes.registry import Services
from routes.verification import verification_problem

__all__ = [
    "AWAITING_REASON",
    "awaited_orders",
    "complete_or_wait",
    "document_keys",
    "documents_arrived",
    "expire_document_wait",
    "with_documents",
]

AWAITING_REASON = "DOCUMENTS_AWAITED"
"""The reason an AWAITING_DOCUMENTS application shows (its note names the orders)."""

_NUMBER_MAX = 64  # the longest order number a document can carry
_SUBMITTED = frozenset({FinancingState.SUBMITTED})
_AWAITING = frozenset({FinancingState.AWAITING_DOCUMENTS})


def document_keys(document: object) -> tuple[DocumentKey, ...]:
    """What an ingested document is found by (nothing for documents no matching uses)."""
    if isinstance(document, PurchaseOrder):
        buyer = document.buyer.uscc if document.buyer is not None else ""
        return (DocumentKey("order", document.number, buyer),)
    if isinstance(document, DeliveryNote) and document.order_number:
        return (DocumentKey("delivery", document.order_number[:_NUMBER_MAX]),)
    if isinstance(document, CustomsDeclaration) and document.contract_number:
        number = document.contract_number[:_NUMBER_MAX]
        return (DocumentKey("customs", number, document.trade_uscc[:18]),)
    return ()


def awaited_orders(request: FinancingRequest) -> tuple[str, ...]:
    """The orders the invoice names that the request does not carry."""
    have = {order.number for order in request.orders}
    return tuple(
        number
        for number in dict.fromkeys(request.invoice.order_numbers)
        if number not in have and 0 < len(number) <= _NUMBER_MAX
    )


def with_documents(request: FinancingRequest, found: TradeDocuments) -> FinancingRequest:
    """The request with the orders it names and lacks (the latest of each number for its
    buyer), the delivery notes shipping against its orders that it lacks and, when it has
    none, the declarations under its contracts; the same object when nothing is added."""
    missing = set(awaited_orders(request))
    orders: dict[str, PurchaseOrder] = {}
    for order in found.orders:  # latest first
        if order.number in missing and order.number not in orders and _for_buyer(order, request):
            orders[order.number] = order
    ordered = {o.number for o in request.orders} | orders.keys()
    shipped = {d.number for d in request.deliveries}
    deliveries: dict[str, DeliveryNote] = {}
    for note in found.deliveries:
        if note.order_number in ordered and note.number not in shipped | deliveries.keys():
            deliveries[note.number] = note
    declarations = declarations_for(request, found.declarations)
    if not orders and not deliveries and not declarations:
        return request
    return request.model_copy(
        update={
            "orders": (*request.orders, *orders.values()),
            "deliveries": (*request.deliveries, *deliveries.values()),
            "declarations": (*request.declarations, *declarations),
        }
    )


async def complete_or_wait(
    msg: FinancingSubmitted,
    verification: InvoiceVerification | None,
    uow: UnitOfWork,
    services: Services,
) -> FinancingRequest | list[Message | Later]:
    """The request to match, with the orders its invoice names (and an export invoice's
    customs declarations) found among the documents ingested earlier; or, when some have not
    come and the policy waits, what waiting emits (the application is then
    AWAITING_DOCUMENTS). A refused invoice never waits."""
    request = msg.request
    policy = services.policy
    customs = wants_declarations(request, policy)
    if not (customs or awaited_orders(request)) or _refused(request, verification):
        return request
    numbers = request.invoice.order_numbers
    found = await uow.document_index.find(request.tenant, numbers, customs=customs)
    completed = with_documents(request, found)
    if completed is not request:
        await uow.document_index.amend(completed)
    still = awaited_orders(completed)
    contracts = awaited_contracts(completed, policy)
    hours = policy.document_wait_hours
    if not (still or contracts) or hours == 0:
        return completed
    since = services.clock()
    due = since + timedelta(hours=hours)
    await uow.document_index.wait_for(
        request.id, request.tenant, still, since=since, due_at=due, customs=contracts
    )
    note = (
        f"waiting for {_awaited(still, contracts)}, until "
        f"{due.astimezone(CHINA):%Y-%m-%d %H:%M} Asia/Shanghai ({hours} h)"
    )
    await uow.requests.transition(
        msg.request_id,
        FinancingState.AWAITING_DOCUMENTS,
        allowed_from=_SUBMITTED,
        reason=AWAITING_REASON,
        note=note[:500],
    )
    expiry = DocumentWaitExpired(
        request_id=msg.request_id,
        awaited=tuple(dict.fromkeys((*still, *contracts))),
        waiting_since=since,
        hours=hours,
    )
    return [Later(expiry, due)]


async def documents_arrived(
    tenant: str, keys: Sequence[DocumentKey], uow: UnitOfWork
) -> list[FinancingSubmitted]:
    """A document was just stored under `tenant` with these keys: hand back to matching
    every waiting application whose orders are now all known, and its declaration too when it
    waits for one (in the caller's transaction)."""
    numbers = {key.number for key in keys if key.kind in ("order", "customs")}
    if not numbers:
        return []
    waiting: list[tuple[FinancingRequest, DocumentWait]] = []
    for wait in await uow.document_index.waiting_for(tenant, numbers):
        current = await uow.requests.state_of(wait.request_id)  # locked on PostgreSQL
        if current is not None and current[0] is FinancingState.AWAITING_DOCUMENTS:
            waiting.append(((await uow.requests.get(wait.request_id)).request, wait))
    if not waiting:
        return []
    named = {n for request, _ in waiting for n in request.invoice.order_numbers}
    customs = any(wait.customs for _, wait in waiting)
    found = await uow.document_index.find(tenant, named, customs=customs)
    handed: list[FinancingSubmitted] = []
    for request, wait in waiting:
        completed = with_documents(request, found)
        if completed is request or awaited_orders(completed):
            continue
        if wait.customs and not completed.declarations:
            continue  # the orders are all here, the declaration it waits for is not
        handed.append(await _hand_back(request, completed, uow))
    return handed


async def expire_document_wait(
    msg: DocumentWaitExpired, _called: object, uow: UnitOfWork, services: Services
) -> Sequence[Message | Later]:
    """The wait ran out: NO_ORDER (or, only a required declaration missing, CUSTOMS_MISSING)
    for an application still waiting (MATCH_REVIEW, or REJECTED under `match_exceptions:
    reject`); nothing for one that moved on. Should everything awaited be known by now after
    all, it is handed back to matching instead."""
    current = await uow.requests.state_of(msg.request_id)
    if current is None or current[0] is not FinancingState.AWAITING_DOCUMENTS:
        return []
    policy = services.policy
    request = (await uow.requests.get(msg.request_id)).request
    customs = wants_declarations(request, policy)
    found = await uow.document_index.find(
        request.tenant, request.invoice.order_numbers, customs=customs
    )
    completed = with_documents(request, found)
    never = awaited_orders(completed)
    contracts = awaited_contracts(completed, policy)
    if not (never or contracts):
        return [await _hand_back(request, completed, uow)]
    await uow.document_index.stop_waiting(msg.request_id)
    if completed is not request:
        await uow.document_index.amend(completed)
    since = msg.waiting_since.astimezone(CHINA)
    reason = "NO_ORDER" if never else CUSTOMS_MISSING
    detail = (
        f"{_awaited(never, contracts)} never came: waited {msg.hours} h "
        f"from {since:%Y-%m-%d %H:%M} Asia/Shanghai"
    )[:300]
    if policy.match_exceptions == "review":
        return await hold_for_review(uow, msg.request_id, reason, detail, allowed_from=_AWAITING)
    return await reject(
        uow, msg.request_id, reason, detail, step="matching", allowed_from=_AWAITING
    )


async def _hand_back(
    request: FinancingRequest, completed: FinancingRequest, uow: UnitOfWork
) -> FinancingSubmitted:
    """SUBMITTED again, the stored request amended, and a fresh message for matching."""
    came = [o.number for o in completed.orders if o not in request.orders]
    declared = [d.entry_id for d in completed.declarations if d not in request.declarations]
    what = [
        *([f"order(s) {', '.join(came)}"] if came else []),
        *([f"customs declaration(s) {', '.join(declared)}"] if declared else []),
    ]
    await uow.document_index.stop_waiting(request.id)
    await uow.document_index.amend(completed)
    await uow.requests.transition(
        request.id,
        FinancingState.SUBMITTED,
        allowed_from=_AWAITING,
        note=(f"{' and '.join(what)} came: matched again" if what else "matched again")[:500],
    )
    return FinancingSubmitted(request_id=request.id, request=completed)


def _awaited(orders: Sequence[str], contracts: Sequence[str]) -> str:
    """What a wait is for, in words: the orders named by the invoice, a declaration."""
    what = [f"order(s) {', '.join(orders)} named by the invoice"] if orders else []
    if contracts:
        what.append(f"a customs declaration under contract(s) {', '.join(contracts)}")
    return " and ".join(what)


def _for_buyer(order: PurchaseOrder, request: FinancingRequest) -> bool:
    return order.buyer is None or order.buyer.uscc == request.buyer.uscc


def _refused(request: FinancingRequest, verification: InvoiceVerification | None) -> bool:
    """Matching refuses the invoice whatever documents come: void, red-flushed, or refused by
    the tax platform."""
    invoice = request.invoice
    if invoice.status is not InvoiceStatus.NORMAL or invoice.total.is_negative():
        return True
    return verification is not None and verification_problem(verification) is not None
