"""Invoice verification (发票查验, factoring-domain §3.2), done in the matching step's call.

What the tax platform says decides: void, red-flushed, out-of-control and inconsistent invoices
are refused with a reason; an invoice the platform does not know yet (issued today, not found)
or a busy platform is asked again later (a transient failure: the consumer retries, then keeps
the message in the dead-letter store, the application waiting with the reason).
"""

from __future__ import annotations

from collections.abc import Sequence

from canonical import FinancingSubmitted, TransientError
from canonical.verification import InvoiceVerification, TaxStatus, VerificationResult
from routes.registry import Services

__all__ = ["verification_problem", "verify_invoices"]

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
_LATER = frozenset(
    {
        VerificationResult.NOT_FOUND,
        VerificationResult.NOT_YET_CHECKABLE,
        VerificationResult.LIMIT_EXCEEDED,
        VerificationResult.SERVICE_ERROR,
    }
)


async def verify_invoices(
    messages: Sequence[FinancingSubmitted], services: Services
) -> list[InvoiceVerification | Exception | None]:
    """The platform's answer per message (None when this hub verifies nothing)."""
    if services.verification is None:
        return [None] * len(messages)
    answers = await services.verification.verify_many([m.request.invoice for m in messages])
    return [_later_if_unknown(answer) for answer in answers]


def _later_if_unknown(
    answer: InvoiceVerification | Exception,
) -> InvoiceVerification | Exception:
    if isinstance(answer, InvoiceVerification) and answer.result in _LATER:
        return TransientError("vat-platform", f"{answer.result.value}: {answer.message}")
    return answer


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
