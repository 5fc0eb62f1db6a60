"""The financing application lifecycle (§4.1), with the guards of its transition table.

The reference orders the flow so that the limit is reserved before final approval (two
applications cannot both win the same headroom) and the 中登 registration is filed after the
contract is signed but before any money moves (民法典 768 ranks by registration time).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from routes.lifecycle.machine import Guard, Machine, Transition

__all__ = [
    "APPLICATION",
    "ApplicationContext",
    "ApplicationEvent",
    "ApplicationState",
    "next_application_state",
]


class ApplicationState(StrEnum):
    """Where a financing application stands (`FinancingApplication.state`)."""

    SUBMITTED = "SUBMITTED"
    VERIFYING = "VERIFYING"
    VERIFIED = "VERIFIED"
    MATCHED = "MATCHED"
    MATCH_REVIEW = "MATCH_REVIEW"
    LIMIT_RESERVED = "LIMIT_RESERVED"
    APPROVED = "APPROVED"
    REGISTERING = "REGISTERING"
    REGISTERED = "REGISTERED"
    DISBURSING = "DISBURSING"
    DISBURSED = "DISBURSED"
    PARTIALLY_REPAID = "PARTIALLY_REPAID"
    OVERDUE = "OVERDUE"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    WRITTEN_OFF = "WRITTEN_OFF"


class ApplicationEvent(StrEnum):
    """What happened to the application; names as in §4.1."""

    START_VERIFICATION = "start_verification"
    VERIFICATION_RETRY = "verification_retry"
    VERIFICATION_PASSED = "verification_passed"
    VERIFICATION_FAILED = "verification_failed"
    MATCH_PASSED = "match_passed"
    MATCH_WITHIN_TOLERANCE = "match_within_tolerance"
    MATCH_EXCEPTION = "match_exception"
    MANUAL_OVERRIDE = "manual_override"
    MANUAL_REJECT = "manual_reject"
    RESERVE_OK = "reserve_ok"
    RESERVE_FAILED = "reserve_failed"
    INELIGIBLE = "ineligible"
    DUPLICATE = "duplicate"
    CREDIT_APPROVED = "credit_approved"
    CREDIT_REJECTED = "credit_rejected"
    CONTRACT_SIGNED = "contract_signed"
    REGISTRATION_CONFIRMED = "registration_confirmed"
    PRIOR_REGISTRATION_FOUND = "prior_registration_found"
    DISBURSEMENT_INSTRUCTED = "disbursement_instructed"
    DISBURSEMENT_SUCCEEDED = "disbursement_succeeded"
    DISBURSEMENT_FAILED = "disbursement_failed"
    APPLICANT_CANCEL = "applicant_cancel"
    APPROVAL_EXPIRED = "approval_expired"
    REPAYMENT = "repayment"
    MATURITY_PASSED = "maturity_passed"
    NPL_90D = "npl_90d"
    WRITE_OFF_APPROVED = "write_off_approved"


@dataclass(frozen=True, kw_only=True)
class ApplicationContext:
    """The facts the guards read. Every default fails closed: a fact not stated is not true."""

    documents_complete: bool = False
    invoices_normal: bool = False
    """Every invoice 正常, or partially red-flushed and reduced (§3.2)."""
    parties_match: bool = False
    duplicate_free: bool = False
    """No internal duplicate financing (§3.1)."""
    pre_search_clear: bool = False
    """The registry pre-search found no blocking registration."""
    transient_error: bool = False
    """The tax platform answered with a transient error (rate limit, same-day invoice, timeout)."""
    retry_days: int = 0
    max_retry_days: int = 0
    principal: Decimal = Decimal("0.00")
    available: Decimal = Decimal("0.00")
    """The least `available` over every limit layer the application touches."""
    min_ticket: Decimal = Decimal("10000.00")
    approver_authority: Decimal = Decimal("0.00")
    contract_signed: bool = False
    disclosed: bool = True
    """明保理 needs the debtor notice before registering; 暗保理 does not."""
    debtor_notice_sent: bool = False
    own_registration_exists: bool = False
    post_search_clear: bool = False
    """The re-search after our registration shows no earlier one covering the receivable."""
    limits_valid: bool = False
    early_warning_freeze: bool = True
    account_verified: bool = False
    channel_confirmed: bool = False
    failure_retryable: bool = False
    days_since_approval: int = 0
    approval_valid_days: int = 30
    repayment: Decimal = Decimal("0.00")
    outstanding: Decimal = Decimal("0.00")
    """Everything still due before this repayment (fees, penalty, interest, principal)."""
    days_past_due: int = 0
    penalty_grace_days: int = 3
    recovery_exhausted: bool = False


A = ApplicationState
V = ApplicationEvent
_G = Guard[ApplicationContext]

_DOCUMENTS_COMPLETE = _G("documents complete", lambda c: c.documents_complete)
_VERIFIED = _G(
    "invoices 正常 & parties match & no duplicate & pre-search clear",
    lambda c: c.invoices_normal and c.parties_match and c.duplicate_free and c.pre_search_clear,
)
_RETRY_ALLOWED = _G(
    "transient error & retry_days < max_retry_days",
    lambda c: c.transient_error and c.retry_days < c.max_retry_days,
)
_PERMANENT_FAILURE = _G(
    "permanent failure or retries exhausted",
    lambda c: not c.transient_error or c.retry_days >= c.max_retry_days,
)
_RESERVE_OK = _G(
    "available >= principal & principal >= min_ticket > 0",
    lambda c: c.available >= c.principal >= c.min_ticket > 0,
)
_HEADROOM_SHORT = _G("headroom < min_ticket", lambda c: c.available < c.min_ticket)
_AUTHORITY = _G(
    "0 < principal <= approver authority",
    lambda c: Decimal(0) < c.principal <= c.approver_authority,
)
_SIGNED = _G(
    "contract signed & debtor notice sent if disclosed",
    lambda c: c.contract_signed and (c.debtor_notice_sent or not c.disclosed),
)
_REGISTERED = _G(
    "own registration exists & post-search clear",
    lambda c: c.own_registration_exists and c.post_search_clear,
)
_PRE_DISBURSEMENT = _G(
    "limits valid & no early-warning freeze & account verified",
    lambda c: c.limits_valid and not c.early_warning_freeze and c.account_verified,
)
_CONFIRMED = _G("confirmation from the channel", lambda c: c.channel_confirmed)
_RETRYABLE = _G("retryable", lambda c: c.failure_retryable)
_FINAL_FAILURE = _G("final", lambda c: not c.failure_retryable)
_EXPIRED = _G(
    "days since approval >= approval_valid_days",
    lambda c: c.days_since_approval >= c.approval_valid_days,
)
_PARTIAL = _G("0 < amount < outstanding", lambda c: Decimal(0) < c.repayment < c.outstanding)
_FULL = _G("0 < outstanding <= amount", lambda c: Decimal(0) < c.outstanding <= c.repayment)
_OVERDUE = _G(
    "outstanding > 0 & DPD > penalty_grace_days",
    lambda c: c.outstanding > 0 and c.days_past_due > c.penalty_grace_days,
)
_NPL = _G("DPD > 90", lambda c: c.days_past_due > 90)
_RECOVERY_EXHAUSTED = _G("recovery exhausted", lambda c: c.recovery_exhausted)

_CANCEL_RESERVATION = "cancel_reservation"
_CANCEL_REGISTRATION = "cancel_own_registration"
_RELEASE_PRINCIPAL = "release_repaid_principal_if_revolving"
_REF = "§4.1"


def _t(
    source: A,
    event: V,
    target: A,
    guard: _G | None = None,
    effects: tuple[str, ...] = (),
    ref: str = _REF,
) -> Transition[A, V, ApplicationContext]:
    return Transition(source, event, target, guard, effects, ref)


_TRANSITIONS = (
    _t(A.SUBMITTED, V.START_VERIFICATION, A.VERIFYING, _DOCUMENTS_COMPLETE),
    _t(A.VERIFYING, V.VERIFICATION_RETRY, A.VERIFYING, _RETRY_ALLOWED),
    _t(A.VERIFYING, V.VERIFICATION_PASSED, A.VERIFIED, _VERIFIED),
    _t(A.VERIFYING, V.VERIFICATION_FAILED, A.REJECTED, _PERMANENT_FAILURE),
    _t(A.VERIFIED, V.MATCH_PASSED, A.MATCHED),
    _t(A.VERIFIED, V.MATCH_WITHIN_TOLERANCE, A.MATCHED),
    _t(A.VERIFIED, V.MATCH_EXCEPTION, A.MATCH_REVIEW),
    _t(A.MATCH_REVIEW, V.MANUAL_OVERRIDE, A.MATCHED),
    _t(A.MATCH_REVIEW, V.MANUAL_REJECT, A.REJECTED),
    _t(A.MATCHED, V.RESERVE_OK, A.LIMIT_RESERVED, _RESERVE_OK, ("reserve_each_limit",)),
    _t(A.MATCHED, V.RESERVE_FAILED, A.REJECTED, _HEADROOM_SHORT),
    _t(A.MATCHED, V.INELIGIBLE, A.REJECTED),
    _t(A.MATCHED, V.DUPLICATE, A.REJECTED),
    _t(A.LIMIT_RESERVED, V.CREDIT_APPROVED, A.APPROVED, _AUTHORITY),
    _t(A.LIMIT_RESERVED, V.CREDIT_REJECTED, A.REJECTED, None, (_CANCEL_RESERVATION,)),
    _t(A.APPROVED, V.CONTRACT_SIGNED, A.REGISTERING, _SIGNED),
    _t(A.REGISTERING, V.REGISTRATION_CONFIRMED, A.REGISTERED, _REGISTERED),
    _t(
        A.REGISTERING,
        V.PRIOR_REGISTRATION_FOUND,
        A.REJECTED,
        None,
        (_CANCEL_RESERVATION, _CANCEL_REGISTRATION),
    ),
    _t(A.REGISTERED, V.DISBURSEMENT_INSTRUCTED, A.DISBURSING, _PRE_DISBURSEMENT),
    _t(
        A.DISBURSING,
        V.DISBURSEMENT_SUCCEEDED,
        A.DISBURSED,
        _CONFIRMED,
        ("consume_with_true_up",),
    ),
    _t(A.DISBURSING, V.DISBURSEMENT_FAILED, A.REGISTERED, _RETRYABLE),
    _t(
        A.DISBURSING,
        V.DISBURSEMENT_FAILED,
        A.REJECTED,
        _FINAL_FAILURE,
        (_CANCEL_RESERVATION, _CANCEL_REGISTRATION),
        "decision: §3.7 (final disbursement failure cancels the reservation)",
    ),
    _t(A.APPROVED, V.APPLICANT_CANCEL, A.CANCELLED, None, (_CANCEL_RESERVATION,)),
    _t(A.APPROVED, V.APPROVAL_EXPIRED, A.CANCELLED, _EXPIRED, (_CANCEL_RESERVATION,)),
    _t(
        A.REGISTERED,
        V.APPLICANT_CANCEL,
        A.CANCELLED,
        None,
        (_CANCEL_RESERVATION, _CANCEL_REGISTRATION),
    ),
    _t(
        A.REGISTERED,
        V.APPROVAL_EXPIRED,
        A.CANCELLED,
        _EXPIRED,
        (_CANCEL_RESERVATION, _CANCEL_REGISTRATION),
    ),
    _t(A.DISBURSED, V.REPAYMENT, A.PARTIALLY_REPAID, _PARTIAL, (_RELEASE_PRINCIPAL,)),
    _t(A.DISBURSED, V.REPAYMENT, A.SETTLED, _FULL, (_RELEASE_PRINCIPAL, _CANCEL_REGISTRATION)),
    _t(A.DISBURSED, V.MATURITY_PASSED, A.OVERDUE, _OVERDUE),
    _t(A.PARTIALLY_REPAID, V.REPAYMENT, A.PARTIALLY_REPAID, _PARTIAL, (_RELEASE_PRINCIPAL,)),
    _t(
        A.PARTIALLY_REPAID,
        V.REPAYMENT,
        A.SETTLED,
        _FULL,
        (_RELEASE_PRINCIPAL, _CANCEL_REGISTRATION),
    ),
    _t(A.PARTIALLY_REPAID, V.MATURITY_PASSED, A.OVERDUE, _OVERDUE),
    _t(A.OVERDUE, V.REPAYMENT, A.OVERDUE, _PARTIAL, (_RELEASE_PRINCIPAL,)),
    _t(A.OVERDUE, V.NPL_90D, A.OVERDUE, _NPL, ("flag_non_performing",)),
    _t(A.OVERDUE, V.REPAYMENT, A.SETTLED, _FULL, (_RELEASE_PRINCIPAL, _CANCEL_REGISTRATION)),
    _t(A.OVERDUE, V.WRITE_OFF_APPROVED, A.WRITTEN_OFF, _RECOVERY_EXHAUSTED, ("book_loss",)),
)

_WAITING = {
    A.SUBMITTED: "documents incomplete: waits for the missing documents",
    A.VERIFYING: "tax platform answer or next-day retry, until max_retry_days",
    A.VERIFIED: "matching documents that arrive late (correlation timeout)",
    A.MATCH_REVIEW: "an operator: factorhub review approve|reject",
    A.MATCHED: "the limit reservation step",
    A.LIMIT_RESERVED: "the credit decision",
    A.APPROVED: "contract signing, until approval_expired",
    A.REGISTERING: "the 中登 registration and the re-search",
    A.REGISTERED: "final pre-disbursement checks, until approval_expired",
    A.DISBURSING: "the bank or e-CNY channel's answer (query by instruction id)",
    A.DISBURSED: "repayment or the daily maturity job",
    A.PARTIALLY_REPAID: "repayment or the daily maturity job",
    A.OVERDUE: "repayment, recourse buy-back or write-off",
}

APPLICATION: Machine[ApplicationState, ApplicationEvent, ApplicationContext] = Machine(
    name="application",
    initial=A.SUBMITTED,
    transitions=_TRANSITIONS,
    terminal=frozenset({A.SETTLED, A.REJECTED, A.CANCELLED, A.WRITTEN_OFF}),
    waiting=_WAITING,
)
"""The §4.1 machine; `APPLICATION.step` also returns the side effects the caller owes."""


def next_application_state(
    state: ApplicationState, event: ApplicationEvent, context: ApplicationContext
) -> ApplicationState:
    """The application's state after `event`; raises `TransitionRefused` when not allowed."""
    return APPLICATION.next_state(state, event, context)
