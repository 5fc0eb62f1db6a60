"""Invoice verification (发票查验, factoring-domain §3.2), done in the matching step's call.

What the tax platform says decides: void, red-flushed, out-of-control and inconsistent invoices
are refused with a reason. An invoice the platform does not know yet (查无此票, or issued today
and checkable from tomorrow) and a check refused for the platform's daily limit are asked again
THE NEXT DAY (§4.1 `verification_retry`): the application stays SUBMITTED with a note, and the
request is sent to the matching step again at 09:00 China time the next day (a durable timer,
`routes.later.Later`), carrying its attempt count. After the policy's `max_retry_days` such days
(so 1 + max_retry_days checks in all) it is REJECTED with a stable reason:

- `INVOICE_NOT_FOUND` when the platform's last answer was "not found" / "not yet checkable";
- `VERIFICATION_UNAVAILABLE` when it was still refusing to check (daily limit, throttling).

Nothing is reserved before matching, and the invoice lock an application holds is free to be
taken over once it is REJECTED (`InvoiceLocks.claim`), so a new application for the same
invoice can be financed. A failing service (error answer, timeout) stays an ordinary transient
error: the consumer retries within seconds, then keeps the message in the dead-letter store.
"""

from __future__ import annotations

from collections.abc import Sequence

from canonical import FinancingRejected, FinancingState, FinancingSubmitted, Message, TransientError
from canonical.verification import InvoiceVerification, TaxStatus, VerificationResult
from routes.later import CHINA, Later, next_business_morning
from routes.ports import UnitOfWork
from routes.registry import Services

__all__ = [
    "RETRY_REASON",
    "asks_again_tomorrow",
    "retry_tomorrow_or_reject",
    "verification_problem",
    "verify_invoices",
]

RETRY_REASON = "VERIFICATION_RETRY"
"""The reason a SUBMITTED application shows while it waits for the next day's 查验."""

_REFUSED_STATUS = {
    TaxStatus.VOID: "INVOICE_VOID",
    TaxStatus.RED_FLUSHED: "INVOICE_RED_FLUSHED",
    TaxStatus.PARTLY_RED_FLUSHED: "INVOICE_PARTLY_RED_FLUSHED",
    TaxStatus.OUT_OF_CONTROL: "INVOICE_OUT_OF_CONTROL",
    TaxStatus.ABNORMAL: "INVOICE_ABNORMAL",
}
_REFUSED_RESULT = {
    VerificationResult.INCONSISTENT: "VERIFICATION_MISMATCH",
    VerificationResult.TOO_OLD: "INVOICE_TOO_OLD",
}
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
    await uow.requests.transition(
        msg.request_id, FinancingState.REJECTED, allowed_from=_WAITING, reason=code, note=detail
    )
    return [
        FinancingRejected(request_id=msg.request_id, reason=code, detail=detail, step="matching")
    ]


def verification_problem(verification: InvoiceVerification) -> tuple[str, str] | None:
    """(reason code, detail) when the platform's answer refuses the invoice, else None."""
    code = _REFUSED_RESULT.get(verification.result)
    if code is None and verification.status is not None:
        code = _REFUSED_STATUS.get(verification.status)
    if code is None and verification.result is not VerificationResult.CONSISTENT:
        code = "VERIFICATION_REFUSED"
    if code is None:
        return None
    detail = f"查验: {verification.result.value}, {verification.status or 'normal'}"
    return code, f"{detail} ({verification.result_code} {verification.message})"[:300]
