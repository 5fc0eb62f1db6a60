"""Receivable eligibility (§3.8, §2.9, §3.2): one status each, the first that applies.

Order: verification, match exception (mode `reject`), dispute, overdue, age, tenor; then
ELIGIBLE_REDUCED (a red-letter reduction or a delivered-only partial match) or ELIGIBLE.
Ages and days to due are measured at `as_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from routes.policy import Policy
from routes.quote.arithmetic import ZERO, fen_down
from routes.quote.matching import match_receivable
from routes.quote.models import ReceivableIn, ReceivableStatus, Verification

__all__ = ["Assessment", "assess"]

_VERIFICATION_CODES = {
    Verification.VOID: "INVOICE_VOID",
    Verification.RED_FLUSHED: "INVOICE_RED_FLUSHED",
    Verification.OUT_OF_CONTROL: "INVOICE_OUT_OF_CONTROL",
    Verification.NOT_FOUND: "INVOICE_NOT_FOUND",
    Verification.RATE_LIMITED: "VERIFICATION_PENDING",
}


@dataclass(frozen=True, slots=True)
class Assessment:
    """A receivable's status, eligible face, reason codes, financing maturity and review flag."""

    status: ReceivableStatus
    eligible_face: Decimal
    reasons: tuple[str, ...]
    maturity: date
    needs_review: bool = False


def assess(item: ReceivableIn, policy: Policy, as_of: date, disbursement: date) -> Assessment:
    """Decide one receivable's status and the face that counts towards the eligible base."""
    maturity = item.due_date + timedelta(days=policy.receivable_grace_days)

    def out(status: ReceivableStatus, *codes: str) -> Assessment:
        return Assessment(status, ZERO, codes, maturity)

    net_face = item.face - item.red_letter_amount
    if item.verification is not Verification.NORMAL:
        return out(ReceivableStatus.INELIGIBLE_VERIFICATION, _VERIFICATION_CODES[item.verification])
    if net_face <= 0:
        return out(ReceivableStatus.INELIGIBLE_VERIFICATION, "INVOICE_RED_FLUSHED")
    mode = policy.matching.partial_match_mode
    matched = match_receivable(item.match, item.face, policy.matching)
    if matched.exceptions and mode == "reject":
        return out(ReceivableStatus.MATCH_EXCEPTION, *matched.exceptions)
    if item.disputed:
        return out(ReceivableStatus.INELIGIBLE_DISPUTED, "DISPUTED")
    if item.due_date < as_of:
        return out(ReceivableStatus.INELIGIBLE_OVERDUE, "PAST_DUE")
    age = (as_of - item.issue_date).days
    if age < 0:
        return out(ReceivableStatus.INELIGIBLE_AGE, "ISSUED_AFTER_AS_OF")
    if age > policy.max_age_days:
        return out(ReceivableStatus.INELIGIBLE_AGE, "AGE_EXCEEDED")
    to_due = (item.due_date - as_of).days
    if to_due < policy.min_days_to_due:
        return out(ReceivableStatus.INELIGIBLE_TENOR, "TENOR_TOO_SHORT")
    if to_due > policy.max_days_to_due:
        return out(ReceivableStatus.INELIGIBLE_TENOR, "TENOR_TOO_LONG")
    if maturity <= disbursement:
        return out(ReceivableStatus.INELIGIBLE_TENOR, "DUE_BEFORE_DISBURSEMENT")
    reasons = ["RED_LETTER_REDUCED"] if item.red_letter_amount > 0 else []
    reasons.extend(matched.exceptions)
    eligible = net_face
    if matched.delivered_cap is not None:
        eligible = min(eligible, fen_down(matched.delivered_cap))
    status = ReceivableStatus.ELIGIBLE_REDUCED if reasons else ReceivableStatus.ELIGIBLE
    if eligible <= 0:
        return out(ReceivableStatus.MATCH_EXCEPTION, *matched.exceptions)
    return Assessment(
        status,
        eligible,
        tuple(reasons),
        maturity,
        needs_review=bool(matched.exceptions) and mode == "manual_review",
    )
