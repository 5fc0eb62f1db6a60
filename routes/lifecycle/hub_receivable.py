"""How the running flow moves the receivable (§4.2): with its application, move by move.

The hub finances one receivable per application (`FinancingRequest.receivable`), so the
receivable moves when, and only when, its application does: `RECEIVABLE_MOVES` lists each move
of `HUB_MOVES` (and the repayment an OVERDUE loan stays OVERDUE on) with the §4.2 events it
replays on the receivable, none when the receivable stays where it is. `receivable_state`
projects a hub state onto the receivable's. Where the hub folds states:

- IMPORTED while SUBMITTED or AWAITING_DOCUMENTS: the hub verifies (when a VAT platform is
  configured), matches and sizes in one step, so VERIFIED and MATCHED are passed through on
  the way to ELIGIBLE (§3.8 as the hub applies it: the eligible face matching finds). A refusal
  in that step is INVALID (`verification_failed`, as §4.1 folds void invoices, duplicates and
  mismatches into VERIFYING -> REJECTED); the hub never parks a receivable INELIGIBLE.
- VERIFIED while MATCH_REVIEW: verified, not matched; the operator's approval matches it
  (ELIGIBLE), a rejection is `match_failed` (INVALID).
- RESERVED while LIMIT_RESERVED or REGISTRY_REVIEW. ASSIGNED is passed through at
  registration: contract signing is not wired, as `HUB_MOVES` says for §4.1's contract_signed.
- REGISTERED while REGISTERED or DISBURSING (instructing a payment does not move it).
- FINANCED while DISBURSED, also after a repayment of fees or interest only.
- PARTIALLY_COLLECTED while PARTIALLY_REPAID, COLLECTED once SETTLED: the application's
  repayments are the receivable's collections (the debtor's, or under recourse the seller's).
- OVERDUE when the financing is (maturity and the penalty grace passed, §4.1), not on the
  invoice's due date alone; an NPL flag does not move the receivable.
- ELIGIBLE again when the application is rejected after matching (`unlocked`; from MATCHED it
  never left ELIGIBLE), including a presumed payment corrected to a failure (FINANCED
  `unlocked`, a decision row of §4.2).
- Never reached: INELIGIBLE, DILUTED, DISPUTED, REASSIGNED, CLOSED, WRITTEN_OFF (no credit
  notes, disputes, repurchases or write-offs yet).

The guards' facts are the hub's own findings (matching passed, a repayment was partial or in
full), carried in each move's context: the machine checks that §4.2 allows the move from where
the stored receivable stands, and refuses it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

from canonical import FinancingState
from routes.lifecycle.receivable import (
    RECEIVABLE,
    ReceivableContext,
    ReceivableEvent,
    ReceivableState,
)

__all__ = [
    "RECEIVABLE_MOVES",
    "ReceivableMove",
    "receivable_move",
    "receivable_state",
    "receivable_step",
]

F = FinancingState
R = ReceivableState
E = ReceivableEvent

FOUND = ReceivableContext(
    eligible=True,
    contract_signed=True,
    debtor_notice_sent=True,
    outstanding=Decimal("1.00"),
)
"""What the hub has established when it moves: matching passed, the registration stands for the
signed assignment, and money is outstanding."""
PAID_PART = replace(FOUND, amount=Decimal("0.50"))
"""A repayment the hub found partial."""
PAID_ALL = replace(FOUND, amount=Decimal("1.00"))
"""A repayment the hub found to settle everything."""

_PROJECTION = {
    F.SUBMITTED: R.IMPORTED,
    F.AWAITING_DOCUMENTS: R.IMPORTED,
    F.MATCH_REVIEW: R.VERIFIED,
    F.MATCHED: R.ELIGIBLE,
    F.LIMIT_RESERVED: R.RESERVED,
    F.REGISTRY_REVIEW: R.RESERVED,
    F.REGISTERED: R.REGISTERED,
    F.DISBURSING: R.REGISTERED,
    F.DISBURSED: R.FINANCED,
    F.PARTIALLY_REPAID: R.PARTIALLY_COLLECTED,
    F.OVERDUE: R.OVERDUE,
    F.SETTLED: R.COLLECTED,
    F.CANCELLED: R.ELIGIBLE,
}


def receivable_state(state: FinancingState, *, matched: bool = True) -> ReceivableState:
    """The receivable's state while its application is in `state`. For REJECTED, `matched`
    says whether the application had got past matching (the receivable is ELIGIBLE again) or
    not (INVALID)."""
    if state is F.REJECTED:
        return R.ELIGIBLE if matched else R.INVALID
    return _PROJECTION[state]


@dataclass(frozen=True, slots=True)
class ReceivableMove:
    """The receivable's part in one application move."""

    source: FinancingState
    target: FinancingState
    events: tuple[ReceivableEvent, ...]
    """The §4.2 events it replays; empty: the receivable stays where it is."""
    note: str
    reason: str | None = None
    """Only for an application move with this reason (None: any other)."""
    context: ReceivableContext = FOUND

    @property
    def label(self) -> str:
        """The events as recorded in the history."""
        return ", ".join(event.value for event in self.events)

    def replay(self, state: ReceivableState) -> ReceivableState:
        """The receivable's state after the events, or `TransitionRefused` (an
        `IllegalTransition`) when §4.2 does not allow one of them from where it stands."""
        for event in self.events:
            state = RECEIVABLE.next_state(state, event, self.context)
        return state


def _m(
    source: F,
    target: F,
    events: tuple[E, ...],
    note: str,
    *,
    reason: str | None = None,
    context: ReceivableContext = FOUND,
) -> ReceivableMove:
    return ReceivableMove(source, target, events, note, reason, context)


_VERIFIED = (E.VERIFICATION_PASSED,)
_ELIGIBLE = (E.VERIFICATION_PASSED, E.MATCH_PASSED, E.ELIGIBILITY_CHECKED)
_DEREGISTERED = "a note that our registration is cancelled: the receivable does not move"

RECEIVABLE_MOVES: tuple[ReceivableMove, ...] = (
    _m(F.SUBMITTED, F.SUBMITTED, (), "a next-day 查验 retry noted: still IMPORTED"),
    _m(F.SUBMITTED, F.MATCHED, _ELIGIBLE, "verified, matched and sized in one step"),
    _m(F.SUBMITTED, F.MATCH_REVIEW, _VERIFIED, "a matching exception: verified, not matched"),
    _m(F.SUBMITTED, F.AWAITING_DOCUMENTS, (), "its orders have not come: still IMPORTED"),
    _m(F.AWAITING_DOCUMENTS, F.SUBMITTED, (), "the orders came: matched again from IMPORTED"),
    _m(F.AWAITING_DOCUMENTS, F.MATCH_REVIEW, _VERIFIED, "NO_ORDER waits for an operator"),
    _m(
        F.AWAITING_DOCUMENTS,
        F.REJECTED,
        (E.VERIFICATION_PASSED, E.MATCH_FAILED),
        "NO_ORDER under `match_exceptions: reject`",
    ),
    _m(
        F.SUBMITTED,
        F.REJECTED,
        (E.VERIFICATION_FAILED,),
        "refused at verification or matching (void, duplicate, mismatch under reject): "
        "§4.1's VERIFYING -> REJECTED",
    ),
    _m(
        F.MATCH_REVIEW,
        F.MATCHED,
        (E.MATCH_PASSED, E.ELIGIBILITY_CHECKED),
        "factorhub review approve",
    ),
    _m(F.MATCH_REVIEW, F.REJECTED, (E.MATCH_FAILED,), "factorhub review reject"),
    _m(F.MATCHED, F.LIMIT_RESERVED, (E.LOCKED,), "locked to its application"),
    _m(F.MATCHED, F.REJECTED, (), "the limits refused: ELIGIBLE for another application"),
    _m(
        F.LIMIT_RESERVED,
        F.REGISTERED,
        (E.ASSIGNED, E.REGISTRATION_CONFIRMED),
        "the registration stands for the signed assignment",
    ),
    _m(F.LIMIT_RESERVED, F.REJECTED, (E.UNLOCKED,), "REGISTRY_CONFLICT"),
    _m(F.LIMIT_RESERVED, F.REGISTRY_REVIEW, (), "another party's blanket: still RESERVED"),
    _m(F.REGISTRY_REVIEW, F.LIMIT_RESERVED, (), "filed again past the blanket"),
    _m(F.REGISTRY_REVIEW, F.REJECTED, (E.UNLOCKED,), "the operator upholds the blanket"),
    _m(F.REGISTERED, F.DISBURSING, (), "instructed: still REGISTERED"),
    _m(F.REGISTERED, F.REJECTED, (E.UNLOCKED,), "NO_FACILITY, NET_DISBURSEMENT_NEGATIVE"),
    _m(F.DISBURSING, F.DISBURSED, (E.DISBURSED,), "the bank paid"),
    _m(F.DISBURSING, F.REJECTED, (E.UNLOCKED,), "the bank refused to pay"),
    _m(F.DISBURSED, F.REJECTED, (E.UNLOCKED,), "a presumed payment corrected to a failure"),
    _m(F.DISBURSED, F.DISBURSED, (), "fees or interest only: no principal collected"),
    _m(F.DISBURSED, F.PARTIALLY_REPAID, (E.COLLECTION,), "partial", context=PAID_PART),
    _m(F.DISBURSED, F.SETTLED, (E.COLLECTION,), "in full", context=PAID_ALL),
    _m(F.PARTIALLY_REPAID, F.PARTIALLY_REPAID, (E.COLLECTION,), "again", context=PAID_PART),
    _m(F.PARTIALLY_REPAID, F.SETTLED, (E.COLLECTION,), "the rest", context=PAID_ALL),
    _m(F.DISBURSED, F.OVERDUE, (E.DUE_DATE_PASSED,), "maturity and grace passed"),
    _m(F.PARTIALLY_REPAID, F.OVERDUE, (E.DUE_DATE_PASSED,), "maturity and grace passed"),
    _m(F.OVERDUE, F.OVERDUE, (E.COLLECTION,), "a partial repayment", context=PAID_PART),
    _m(F.OVERDUE, F.OVERDUE, (), "flagged non-performing", reason="NON_PERFORMING"),
    _m(F.OVERDUE, F.SETTLED, (E.COLLECTION,), "overdue, repaid in full", context=PAID_ALL),
    *(_m(state, state, (), _DEREGISTERED) for state in (F.SETTLED, F.REJECTED, F.CANCELLED)),
)
"""The receivable's part in every move the running flow makes (see the module)."""

_BY_MOVE = {(m.source, m.target, m.reason): m for m in RECEIVABLE_MOVES}


def receivable_move(
    source: FinancingState, target: FinancingState, reason: str | None = None
) -> ReceivableMove | None:
    """The receivable's part in the application move (None: not a move the hub makes)."""
    if reason is not None:
        special = _BY_MOVE.get((source, target, reason))
        if special is not None:
            return special
    return _BY_MOVE.get((source, target, None))


@lru_cache(maxsize=1024)
def receivable_step(
    source: FinancingState, target: FinancingState, reason: str | None, receivable: str
) -> tuple[str, str] | None:
    """Where the application move takes a receivable standing at `receivable` (a state's
    value, as stored), and the events that take it there (None: it does not move);
    `TransitionRefused` when §4.2 refuses one. The machine is pure, so each answer is
    remembered: the hot path pays a lookup."""
    move = receivable_move(source, target, reason)
    if move is None or not move.events:
        return None
    return move.replay(ReceivableState(receivable)).value, move.label
