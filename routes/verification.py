"""Invoice verification (发票查验, factoring-domain §3.2), done in the matching step's call.

What the tax platform says decides: void, red-flushed, out-of-control and inconsistent invoices
are refused with a reason (out-of-control and abnormal ones also raise an early warning on the
seller, §3.6); the parties it names must be the application's; a partly red-flushed invoice is
financed on its total less the red-letter invoices' (`red_flushed_face`).

An invoice the platform does not know yet (查无此票, or issued today and checkable from
tomorrow) and a check refused for the platform's daily limit are asked again THE NEXT DAY
(§4.1 `verification_retry`): the application stays SUBMITTED with a note, and the request is
sent to the matching step again at 09:00 China time the next day (a durable timer,
`routes.later.Later`), carrying its attempt count. After the policy's `max_retry_days` such
days (so 1 + max_retry_days checks in all) it is REJECTED with a stable reason:

- `INVOICE_NOT_FOUND` when the platform's last answer was "not found" / "not yet checkable";
- `VERIFICATION_UNAVAILABLE` when it was still refusing to check (daily limit, throttling).

Nothing is reserved before matching, and the invoice lock an application holds is free to be
taken over once it is REJECTED (`InvoiceLocks.claim`), so a new application for the same
invoice can be financed. A failing service (error answer, timeout) stays an ordinary transient
error: the consumer retries within seconds, then keeps the message in the dead-letter store.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from canonical import (
    EarlyWarning,
    EarlyWarningLevel,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    Message,
    TransientError,
)
from canonical.verification import InvoiceVerification, TaxStatus, VerificationResult
from routes.later import CHINA, Later, next_business_morning
from routes.outcomes import reject
from routes.ports import Clock, UnitOfWork
from routes.registry import Services

__all__ = [
    "RETRY_REASON",
    "asks_again_tomorrow",
    "red_flushed_face",
    "retry_tomorrow_or_reject",
    "verification_problem",
    "verify_invoices",
    "warning_for",
]

RETRY_REASON = "VERIFICATION_RETRY"
"""The reason a SUBMITTED application shows while it waits for the next day's 查验."""

_REFUSED_STATUS = {
    TaxStatus.VOID: "INVOICE_VOID",
    TaxStatus.RED_FLUSHED: "INVOICE_RED_FLUSHED",
    TaxStatus.OUT_OF_CONTROL: "INVOICE_OUT_OF_CONTROL",
    TaxStatus.ABNORMAL: "INVOICE_ABNORMAL",
}
_REFUSED_RESULT = {
    VerificationResult.INCONSISTENT: "INVOICE_DATA_MISMATCH",
    VerificationResult.TOO_OLD: "INVOICE_TOO_OLD",
}
_WARNED = frozenset({TaxStatus.OUT_OF_CONTROL, TaxStatus.ABNORMAL})
_NOT_FOUND = frozenset({VerificationResult.NOT_FOUND, VerificationResult.NOT_YET_CHECKABLE})
_NEXT_DAY = _NOT_FOUND | {VerificationResult.LIMIT_EXCEEDED}
_NOW = frozenset({VerificationResult.SERVICE_ERROR})
_WAITING = frozenset({FinancingState.SUBMITTED})


async def verify_invoices(
    messages: Sequence[FinancingSubmitted], services: Services
) -> list[InvoiceVerification | Exception | None]:
    """The platform's answer per message (None when this hub verifies nothing)."""
    if services.verification is None:
        return [None] * len(messages)
    answers = await services.verification.verify_many([m.request.invoice for m in messages])
    return [_transient_if_failed(answer) for answer in answers]


def _transient_if_failed(
    answer: InvoiceVerification | Exception,
) -> InvoiceVerification | Exception:
    if isinstance(answer, InvoiceVerification) and answer.result in _NOW:
        return TransientError("vat-platform", f"{answer.result.value}: {answer.message}")
    return answer


def asks_again_tomorrow(verification: InvoiceVerification) -> bool:
    """The platform could not answer today: not found yet, or its daily limit reached."""
    return verification.result in _NEXT_DAY


async def retry_tomorrow_or_reject(
    msg: FinancingSubmitted,
    verification: InvoiceVerification,
    uow: UnitOfWork,
    services: Services,
) -> Sequence[Message | Later]:
    """Leave the application SUBMITTED with a note and send it to matching again the next
    morning; or, once `max_retry_days` next-day retries are used, reject it."""
    attempt = msg.verification_attempt
    retries = services.policy.max_retry_days
    answer = f"{verification.result.value} ({verification.result_code} {verification.message})"
    if attempt <= retries:
        due = next_business_morning(services.clock())
        note = (
            f"查验 {answer}, asking again on {due.astimezone(CHINA):%Y-%m-%d %H:%M} "
            f"Asia/Shanghai, attempt {attempt + 1} of {retries + 1}"
        )
        await uow.requests.transition(
            msg.request_id,
            FinancingState.SUBMITTED,
            allowed_from=_WAITING,
            reason=RETRY_REASON,
            note=note[:500],
        )
        return [Later(msg.model_copy(update={"verification_attempt": attempt + 1}), due)]
    code = "INVOICE_NOT_FOUND" if verification.result in _NOT_FOUND else "VERIFICATION_UNAVAILABLE"
    detail = f"查验 {answer} on attempt {attempt} of {retries + 1}: no more retries"[:300]
    return await reject(uow, msg.request_id, code, detail, step="matching", allowed_from=_WAITING)


def verification_problem(
    verification: InvoiceVerification, request: FinancingRequest | None = None
) -> tuple[str, str] | None:
    """(reason code, detail) when the platform's answer refuses the invoice, else None.

    With the `request`, the parties the platform knows must be the application's (§3.2 field
    checks: seller tax number = the seller's USCC, buyer tax number = the debtor's), and a
    partly red-flushed invoice whose red amount the platform did not give, or which is
    flushed to nothing, is refused (one with a known red amount is financed on what is left:
    `red_flushed_face`)."""
    code = _REFUSED_RESULT.get(verification.result)
    if code is None and verification.status is not None:
        code = _REFUSED_STATUS.get(verification.status)
    if code is None and verification.result is not VerificationResult.CONSISTENT:
        code = "VERIFICATION_REFUSED"
    if code is None and request is not None:
        return _party_problem(verification, request) or _red_problem(verification, request)
    if code is None:
        return None
    detail = f"查验: {verification.result.value}, {verification.status or 'normal'}"
    return code, f"{detail} ({verification.result_code} {verification.message})"[:300]


def red_flushed_face(
    verification: InvoiceVerification | None, request: FinancingRequest
) -> Decimal | None:
    """部分红冲 (§3.2): the invoice total less what its red-letter invoices took off; None
    when the invoice is not partly red-flushed."""
    if verification is None or verification.status is not TaxStatus.PARTLY_RED_FLUSHED:
        return None
    if verification.red_total is None:
        return None
    return request.invoice.total.amount - verification.red_total.amount


def warning_for(
    verification: InvoiceVerification | None,
    request: FinancingRequest,
    clock: Clock,
    request_id: str,
) -> EarlyWarning | None:
    """§3.2/§3.6: an invoice the tax authority lists as 失控 or 异常 is refused AND raises an
    early warning on the seller, for risk systems to freeze its limits."""
    if verification is None or verification.status not in _WARNED:
        return None
    return EarlyWarning(
        request_id=request_id,
        level=EarlyWarningLevel.ALERT,
        trigger=_REFUSED_STATUS[verification.status],
        seller_uscc=request.seller.uscc,
        buyer_uscc=request.buyer.uscc,
        as_of=clock().astimezone(CHINA).date(),
    )


def _party_problem(
    verification: InvoiceVerification, request: FinancingRequest
) -> tuple[str, str] | None:
    for role, known, party in (
        ("seller", verification.seller_tax_no, request.seller),
        ("buyer", verification.buyer_tax_no, request.buyer),
    ):
        if known and known != party.uscc:
            detail = f"the tax platform names {known} as the {role}, the application {party.uscc}"
            return "INVOICE_PARTY_MISMATCH", detail
    return None


def _red_problem(
    verification: InvoiceVerification, request: FinancingRequest
) -> tuple[str, str] | None:
    if verification.status is not TaxStatus.PARTLY_RED_FLUSHED:
        return None
    if verification.red_total is None:
        detail = "查验: partly red-flushed (部分红冲), and the platform did not say by how much"
        return "INVOICE_PARTLY_RED_FLUSHED", detail
    left = request.invoice.total.amount - verification.red_total.amount
    if left <= 0:
        detail = f"查验: red-letter invoices take off {verification.red_total.amount}: nothing left"
        return "INVOICE_RED_FLUSHED", detail
    return None
