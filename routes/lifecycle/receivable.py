"""The receivable lifecycle (§4.2): from import to collection, reassignment or write-off.

The reference's table gives each state the states it leaves to. Where it names a target but
no row (PARTIALLY_COLLECTED) or says a state "stays financed" (DILUTED), both are treated as
financed states with FINANCED's exits; rows that rest on such a reading say `decision: ...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from routes.lifecycle.machine import Guard, Machine, Transition

__all__ = [
    "RECEIVABLE",
    "ReceivableContext",
    "ReceivableEvent",
    "ReceivableState",
    "next_receivable_state",
]


class ReceivableState(StrEnum):
    """Where one receivable stands (`Receivable.state`)."""

    IMPORTED = "IMPORTED"
    VERIFIED = "VERIFIED"
    MATCHED = "MATCHED"
    ELIGIBLE = "ELIGIBLE"
    INELIGIBLE = "INELIGIBLE"
    RESERVED = "RESERVED"
    ASSIGNED = "ASSIGNED"
    REGISTERED = "REGISTERED"
    FINANCED = "FINANCED"
    PARTIALLY_COLLECTED = "PARTIALLY_COLLECTED"
    DILUTED = "DILUTED"
    DISPUTED = "DISPUTED"
    OVERDUE = "OVERDUE"
    REASSIGNED = "REASSIGNED"
    COLLECTED = "COLLECTED"
    CLOSED = "CLOSED"
    INVALID = "INVALID"
    WRITTEN_OFF = "WRITTEN_OFF"


class ReceivableEvent(StrEnum):
    """What happened to the receivable."""

    VERIFICATION_PASSED = "verification_passed"
    VERIFICATION_FAILED = "verification_failed"
    MATCH_PASSED = "match_passed"
    MATCH_FAILED = "match_failed"
    ELIGIBILITY_CHECKED = "eligibility_checked"
    """§3.8 run at an application date; also how an INELIGIBLE receivable is cured."""
    LOCKED = "locked"
    """Its application reached LIMIT_RESERVED."""
    UNLOCKED = "unlocked"
    """Its application was rejected or cancelled (or, once financed, its payment undone)."""
    ASSIGNED = "assigned"
    REGISTRATION_CONFIRMED = "registration_confirmed"
    DISBURSED = "disbursed"
    COLLECTION = "collection"
    DILUTED = "diluted"
    DISPUTE_RAISED = "dispute_raised"
    DISPUTE_RESOLVED = "dispute_resolved"
    DUE_DATE_PASSED = "due_date_passed"
    REASSIGNED = "reassigned"
    """The seller repurchases it (反转让 / 回购)."""
    WRITTEN_OFF = "written_off"
    CLOSED = "closed"


@dataclass(frozen=True, kw_only=True)
class ReceivableContext:
    """The facts the guards read. Every default fails closed."""

    eligible: bool = False
    """The §3.8 checklist passed at the application date."""
    contract_signed: bool = False
    disclosed: bool = True
    debtor_notice_sent: bool = False
    amount: Decimal = Decimal("0.00")
    """A collection's amount, or a credit note's."""
    outstanding: Decimal = Decimal("0.00")
    recourse: bool = False
    recovery_exhausted: bool = False


R = ReceivableState
V = ReceivableEvent
_G = Guard[ReceivableContext]

_ELIGIBLE = _G("§3.8 passes", lambda c: c.eligible)
_INELIGIBLE = _G("§3.8 fails", lambda c: not c.eligible)
_SIGNED = _G(
    "contract signed & notice sent if disclosed",
    lambda c: c.contract_signed and (c.debtor_notice_sent or not c.disclosed),
)
_PARTIAL = _G("0 < amount < outstanding", lambda c: Decimal(0) < c.amount < c.outstanding)
_FULL = _G("0 < outstanding <= amount", lambda c: Decimal(0) < c.outstanding <= c.amount)
_CREDIT_NOTE = _G("credit note amount > 0", lambda c: c.amount > 0)
_UNPAID = _G("outstanding > 0", lambda c: c.outstanding > 0)
_RECOURSE = _G("recourse", lambda c: c.recourse)
_EXHAUSTED = _G("recovery exhausted", lambda c: c.recovery_exhausted)

_REF = "§4.2"
_AS_FINANCED = "decision: a financed state with FINANCED's exits"


def _t(
    source: R, event: V, target: R, guard: _G | None = None, ref: str = _REF
) -> Transition[R, V, ReceivableContext]:
    return Transition(source, event, target, guard, ref=ref)


def _financed_exits(source: R, ref: str) -> tuple[Transition[R, V, ReceivableContext], ...]:
    return (
        _t(source, V.COLLECTION, R.PARTIALLY_COLLECTED, _PARTIAL, ref),
        _t(source, V.COLLECTION, R.COLLECTED, _FULL, ref),
        _t(source, V.DILUTED, R.DILUTED, _CREDIT_NOTE, ref),
        _t(source, V.DISPUTE_RAISED, R.DISPUTED, None, ref),
        _t(source, V.DUE_DATE_PASSED, R.OVERDUE, _UNPAID, ref),
    )


_TRANSITIONS = (
    _t(R.IMPORTED, V.VERIFICATION_PASSED, R.VERIFIED),
    _t(R.IMPORTED, V.VERIFICATION_FAILED, R.INVALID),
    _t(R.VERIFIED, V.MATCH_PASSED, R.MATCHED),
    _t(R.VERIFIED, V.MATCH_FAILED, R.INVALID),
    _t(R.MATCHED, V.ELIGIBILITY_CHECKED, R.ELIGIBLE, _ELIGIBLE),
    _t(R.MATCHED, V.ELIGIBILITY_CHECKED, R.INELIGIBLE, _INELIGIBLE),
    _t(R.INELIGIBLE, V.ELIGIBILITY_CHECKED, R.ELIGIBLE, _ELIGIBLE),
    _t(R.INELIGIBLE, V.ELIGIBILITY_CHECKED, R.INELIGIBLE, _INELIGIBLE),
    _t(
        R.ELIGIBLE,
        V.ELIGIBILITY_CHECKED,
        R.INELIGIBLE,
        _INELIGIBLE,
        "decision: §3.8 re-runs at each application date",
    ),
    _t(R.ELIGIBLE, V.LOCKED, R.RESERVED),
    _t(R.RESERVED, V.UNLOCKED, R.ELIGIBLE),
    _t(R.RESERVED, V.ASSIGNED, R.ASSIGNED, _SIGNED),
    _t(R.ASSIGNED, V.UNLOCKED, R.ELIGIBLE, None, "decision: §4.1 can reject after signing"),
    _t(R.ASSIGNED, V.REGISTRATION_CONFIRMED, R.REGISTERED),
    _t(R.REGISTERED, V.UNLOCKED, R.ELIGIBLE, None, "decision: §4.1 REGISTERED -> CANCELLED"),
    _t(R.REGISTERED, V.DISBURSED, R.FINANCED),
    _t(
        R.FINANCED,
        V.UNLOCKED,
        R.ELIGIBLE,
        None,
        "decision: a presumed payment corrected to a failure (e-CNY PR03 -> PR01)",
    ),
    *_financed_exits(R.FINANCED, _REF),
    *_financed_exits(R.PARTIALLY_COLLECTED, _AS_FINANCED),
    *_financed_exits(R.DILUTED, _AS_FINANCED),
    _t(R.DISPUTED, V.DISPUTE_RESOLVED, R.FINANCED),
    _t(R.DISPUTED, V.REASSIGNED, R.REASSIGNED, _RECOURSE),
    _t(R.OVERDUE, V.COLLECTION, R.OVERDUE, _PARTIAL, "decision: as §4.1 OVERDUE"),
    _t(R.OVERDUE, V.COLLECTION, R.COLLECTED, _FULL),
    _t(R.OVERDUE, V.REASSIGNED, R.REASSIGNED, _RECOURSE),
    _t(R.OVERDUE, V.WRITTEN_OFF, R.WRITTEN_OFF, _EXHAUSTED),
    _t(R.REASSIGNED, V.CLOSED, R.CLOSED),
)

RECEIVABLE: Machine[ReceivableState, ReceivableEvent, ReceivableContext] = Machine(
    name="receivable",
    initial=R.IMPORTED,
    transitions=_TRANSITIONS,
    terminal=frozenset({R.COLLECTED, R.CLOSED, R.INVALID, R.WRITTEN_OFF}),
    waiting={
        R.IMPORTED: "the tax platform's verification",
        R.VERIFIED: "its matching documents",
        R.MATCHED: "the §3.8 checklist at an application date",
        R.ELIGIBLE: "an application to finance it",
        R.INELIGIBLE: "a cure (dispute resolved) and a new §3.8 run",
        R.RESERVED: "its application's contract, or rejection / cancellation",
        R.ASSIGNED: "the 中登 registration",
        R.REGISTERED: "the disbursement",
        R.FINANCED: "collection or the due date",
        R.PARTIALLY_COLLECTED: "collection of the rest or the due date",
        R.DILUTED: "the seller's top-up or repayment, then collection",
        R.DISPUTED: "the dispute's resolution or the seller's repurchase",
        R.OVERDUE: "collection, repurchase or write-off",
        R.REASSIGNED: "the seller's repurchase payment",
    },
)
"""The §4.2 machine."""


def next_receivable_state(
    state: ReceivableState, event: ReceivableEvent, context: ReceivableContext
) -> ReceivableState:
    """The receivable's state after `event`; raises `TransitionRefused` when not allowed."""
    return RECEIVABLE.next_state(state, event, context)
