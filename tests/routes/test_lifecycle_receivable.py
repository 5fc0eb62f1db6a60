"""§4.2: every move of the receivable table allowed, every other refused, the guards hold."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from routes.lifecycle import (
    RECEIVABLE,
    ReceivableContext,
    ReceivableEvent,
    ReceivableState,
    TransitionRefused,
    next_receivable_state,
)

R = ReceivableState
V = ReceivableEvent
D = Decimal

OK = ReceivableContext(
    eligible=True,
    contract_signed=True,
    debtor_notice_sent=True,
    amount=D("452000.00"),
    outstanding=D("452000.00"),
    recourse=True,
    recovery_exhausted=True,
)
NO = replace(OK, eligible=False)
PART = replace(OK, amount=D("100000.00"))

# §4.2 "Leaves to", row by row.
REFERENCE = [
    (R.IMPORTED, V.VERIFICATION_PASSED, R.VERIFIED, OK),
    (R.IMPORTED, V.VERIFICATION_FAILED, R.INVALID, OK),
    (R.VERIFIED, V.MATCH_PASSED, R.MATCHED, OK),
    (R.VERIFIED, V.MATCH_FAILED, R.INVALID, OK),
    (R.MATCHED, V.ELIGIBILITY_CHECKED, R.ELIGIBLE, OK),
    (R.MATCHED, V.ELIGIBILITY_CHECKED, R.INELIGIBLE, NO),
    (R.INELIGIBLE, V.ELIGIBILITY_CHECKED, R.ELIGIBLE, OK),
    (R.INELIGIBLE, V.ELIGIBILITY_CHECKED, R.INELIGIBLE, NO),
    (R.ELIGIBLE, V.LOCKED, R.RESERVED, OK),
    (R.RESERVED, V.UNLOCKED, R.ELIGIBLE, OK),
    (R.RESERVED, V.ASSIGNED, R.ASSIGNED, OK),
    (R.ASSIGNED, V.REGISTRATION_CONFIRMED, R.REGISTERED, OK),
    (R.REGISTERED, V.DISBURSED, R.FINANCED, OK),
    (R.FINANCED, V.COLLECTION, R.PARTIALLY_COLLECTED, PART),
    (R.FINANCED, V.COLLECTION, R.COLLECTED, OK),
    (R.FINANCED, V.DILUTED, R.DILUTED, OK),
    (R.FINANCED, V.DISPUTE_RAISED, R.DISPUTED, OK),
    (R.FINANCED, V.DUE_DATE_PASSED, R.OVERDUE, OK),
    (R.DISPUTED, V.DISPUTE_RESOLVED, R.FINANCED, OK),
    (R.DISPUTED, V.REASSIGNED, R.REASSIGNED, OK),
    (R.OVERDUE, V.COLLECTION, R.COLLECTED, OK),
    (R.OVERDUE, V.REASSIGNED, R.REASSIGNED, OK),
    (R.OVERDUE, V.WRITTEN_OFF, R.WRITTEN_OFF, OK),
    (R.REASSIGNED, V.CLOSED, R.CLOSED, OK),
]
_FINANCED_EXITS = [row[1:] for row in REFERENCE if row[0] is R.FINANCED]
DECIDED = [
    (R.ELIGIBLE, V.ELIGIBILITY_CHECKED, R.INELIGIBLE, NO),
    (R.ASSIGNED, V.UNLOCKED, R.ELIGIBLE, OK),
    (R.REGISTERED, V.UNLOCKED, R.ELIGIBLE, OK),
    (R.FINANCED, V.UNLOCKED, R.ELIGIBLE, OK),
    (R.OVERDUE, V.COLLECTION, R.OVERDUE, PART),
    *[(R.PARTIALLY_COLLECTED, *row) for row in _FINANCED_EXITS],
    *[(R.DILUTED, *row) for row in _FINANCED_EXITS],
]


@pytest.mark.parametrize("row", REFERENCE + DECIDED, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_every_move_of_the_reference_is_allowed(row):
    source, event, target, context = row
    assert next_receivable_state(source, event, context) is target


def test_the_table_holds_the_reference_rows_and_the_documented_decisions_only():
    rows = {(t.source, t.event, t.target) for t in RECEIVABLE.transitions}
    assert rows == {(s, e, t) for s, e, t, _ in REFERENCE + DECIDED}
    decided = {(t.source, t.event, t.target) for t in RECEIVABLE.transitions if "decision" in t.ref}
    assert decided == {(s, e, t) for s, e, t, _ in DECIDED}


ALLOWED = {(s, e) for s, e, _, _ in REFERENCE + DECIDED}
REFUSED = [(s, e) for s in R for e in V if (s, e) not in ALLOWED]


@pytest.mark.parametrize(("state", "event"), REFUSED, ids=str)
def test_every_other_move_is_refused_naming_machine_state_and_event(state, event):
    with pytest.raises(TransitionRefused, match=f"^receivable: event {event} .* state {state}:"):
        next_receivable_state(state, event, OK)


@pytest.mark.parametrize("state", [R.COLLECTED, R.CLOSED, R.INVALID, R.WRITTEN_OFF])
def test_terminal_states_accept_no_event(state):
    for event in V:
        with pytest.raises(TransitionRefused, match="terminal"):
            next_receivable_state(state, event, OK)


class TestGuards:
    def test_only_an_eligible_receivable_can_be_locked_to_an_application(self):
        with pytest.raises(TransitionRefused, match="no such move"):
            next_receivable_state(R.INELIGIBLE, V.LOCKED, OK)

    def test_a_disclosed_assignment_needs_the_debtor_notice(self):
        with pytest.raises(TransitionRefused, match="notice"):
            next_receivable_state(R.RESERVED, V.ASSIGNED, replace(OK, debtor_notice_sent=False))
        silent = replace(OK, debtor_notice_sent=False, disclosed=False)
        assert next_receivable_state(R.RESERVED, V.ASSIGNED, silent) is R.ASSIGNED

    def test_collection_one_fen_short_is_partial(self):
        short = replace(OK, amount=D("451999.99"))
        assert next_receivable_state(R.FINANCED, V.COLLECTION, short) is R.PARTIALLY_COLLECTED

    def test_only_recourse_allows_the_seller_to_repurchase(self):
        with pytest.raises(TransitionRefused, match="recourse"):
            next_receivable_state(R.OVERDUE, V.REASSIGNED, replace(OK, recourse=False))

    def test_a_paid_receivable_does_not_fall_overdue(self):
        with pytest.raises(TransitionRefused, match="outstanding > 0"):
            next_receivable_state(R.FINANCED, V.DUE_DATE_PASSED, replace(OK, outstanding=D(0)))
