"""§4.1: every move of the reference allowed, every other refused, each guard at its boundary."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from canonical import FinancingState, IllegalTransition
from routes.lifecycle import (
    APPLICATION,
    HUB_MOVES,
    ApplicationContext,
    ApplicationEvent,
    ApplicationState,
    TransitionRefused,
    application_state,
    next_application_state,
)

A = ApplicationState
V = ApplicationEvent

# Every fact established: the worked quote (principal 0.80 x 452,000.00 = 361,600.00;
# seller facility 3,000,000.00 free, buyer 5,000,000.00 - 1,000,000.00 used = 4,000,000.00 free,
# so the least available is 3,000,000.00).
OK = ApplicationContext(
    documents_complete=True,
    invoices_normal=True,
    parties_match=True,
    duplicate_free=True,
    pre_search_clear=True,
    principal=Decimal("361600.00"),
    available=Decimal("3000000.00"),
    approver_authority=Decimal("500000.00"),
    contract_signed=True,
    debtor_notice_sent=True,
    own_registration_exists=True,
    post_search_clear=True,
    limits_valid=True,
    early_warning_freeze=False,
    account_verified=True,
    channel_confirmed=True,
    days_since_approval=30,
    outstanding=Decimal("366059.73"),  # 361,600.00 + 4,459.73 interest
    days_past_due=91,
)
RETRY = replace(OK, transient_error=True, retry_days=1, max_retry_days=3)
PERMANENT = replace(OK, transient_error=False)
SHORT = replace(OK, available=Decimal("9999.99"))
RETRYABLE = replace(OK, failure_retryable=True)
PARTIAL = replace(OK, repayment=Decimal("100000.00"))
FULL = replace(OK, repayment=Decimal("366059.73"))

# The §4.1 diagram and table, transcribed row by row: (from, event, to, a context that passes).
REFERENCE = [
    (A.SUBMITTED, V.START_VERIFICATION, A.VERIFYING, OK),
    (A.VERIFYING, V.VERIFICATION_RETRY, A.VERIFYING, RETRY),
    (A.VERIFYING, V.VERIFICATION_PASSED, A.VERIFIED, OK),
    (A.VERIFYING, V.VERIFICATION_FAILED, A.REJECTED, PERMANENT),
    (A.VERIFIED, V.MATCH_PASSED, A.MATCHED, OK),
    (A.VERIFIED, V.MATCH_WITHIN_TOLERANCE, A.MATCHED, OK),
    (A.VERIFIED, V.MATCH_EXCEPTION, A.MATCH_REVIEW, OK),
    (A.MATCH_REVIEW, V.MANUAL_OVERRIDE, A.MATCHED, OK),
    (A.MATCH_REVIEW, V.MANUAL_REJECT, A.REJECTED, OK),
    (A.MATCHED, V.RESERVE_OK, A.LIMIT_RESERVED, OK),
    (A.MATCHED, V.RESERVE_FAILED, A.REJECTED, SHORT),
    (A.MATCHED, V.INELIGIBLE, A.REJECTED, OK),
    (A.MATCHED, V.DUPLICATE, A.REJECTED, OK),
    (A.LIMIT_RESERVED, V.CREDIT_APPROVED, A.APPROVED, OK),
    (A.LIMIT_RESERVED, V.CREDIT_REJECTED, A.REJECTED, OK),
    (A.APPROVED, V.CONTRACT_SIGNED, A.REGISTERING, OK),
    (A.REGISTERING, V.REGISTRATION_CONFIRMED, A.REGISTERED, OK),
    (A.REGISTERING, V.PRIOR_REGISTRATION_FOUND, A.REJECTED, OK),
    (A.REGISTERED, V.DISBURSEMENT_INSTRUCTED, A.DISBURSING, OK),
    (A.DISBURSING, V.DISBURSEMENT_SUCCEEDED, A.DISBURSED, OK),
    (A.DISBURSING, V.DISBURSEMENT_FAILED, A.REGISTERED, RETRYABLE),
    (A.APPROVED, V.APPLICANT_CANCEL, A.CANCELLED, OK),
    (A.APPROVED, V.APPROVAL_EXPIRED, A.CANCELLED, OK),
    (A.REGISTERED, V.APPLICANT_CANCEL, A.CANCELLED, OK),
    (A.REGISTERED, V.APPROVAL_EXPIRED, A.CANCELLED, OK),
    (A.DISBURSED, V.REPAYMENT, A.PARTIALLY_REPAID, PARTIAL),
    (A.DISBURSED, V.REPAYMENT, A.SETTLED, FULL),
    (A.DISBURSED, V.MATURITY_PASSED, A.OVERDUE, OK),
    (A.PARTIALLY_REPAID, V.REPAYMENT, A.PARTIALLY_REPAID, PARTIAL),
    (A.PARTIALLY_REPAID, V.REPAYMENT, A.SETTLED, FULL),
    (A.PARTIALLY_REPAID, V.MATURITY_PASSED, A.OVERDUE, OK),
    (A.OVERDUE, V.REPAYMENT, A.OVERDUE, PARTIAL),
    (A.OVERDUE, V.NPL_90D, A.OVERDUE, OK),
    (A.OVERDUE, V.REPAYMENT, A.SETTLED, FULL),
    (A.OVERDUE, V.WRITE_OFF_APPROVED, A.WRITTEN_OFF, replace(OK, recovery_exhausted=True)),
]
# Rows the reference does not draw, decided and documented in routes/lifecycle/README.md.
DECIDED = [(A.DISBURSING, V.DISBURSEMENT_FAILED, A.REJECTED, OK)]


def _row_id(row: tuple[A, V, A, ApplicationContext]) -> str:
    return f"{row[0]}-{row[1]}-{row[2]}"


@pytest.mark.parametrize("row", REFERENCE + DECIDED, ids=_row_id)
def test_every_move_of_the_reference_is_allowed(row):
    source, event, target, context = row
    assert next_application_state(source, event, context) is target


def test_the_table_holds_the_reference_rows_and_the_documented_decisions_only():
    table = {(t.source, t.event, t.target) for t in APPLICATION.transitions}
    assert table == {(s, e, t) for s, e, t, _ in REFERENCE + DECIDED}
    decided = {
        (t.source, t.event, t.target) for t in APPLICATION.transitions if "decision" in t.ref
    }
    assert decided == {(s, e, t) for s, e, t, _ in DECIDED}


ALLOWED_PAIRS = {(s, e) for s, e, _, _ in REFERENCE + DECIDED}
REFUSED_PAIRS = [(s, e) for s in A for e in V if (s, e) not in ALLOWED_PAIRS]


@pytest.mark.parametrize(("state", "event"), REFUSED_PAIRS, ids=lambda v: str(v))
def test_every_other_move_is_refused_naming_machine_state_and_event(state, event):
    with pytest.raises(IllegalTransition) as refused:
        next_application_state(state, event, OK)
    assert str(refused.value).startswith(
        f"application: event {event} is not allowed in state {state}"
    )
    assert isinstance(refused.value, TransitionRefused)
    assert (refused.value.machine, refused.value.state, refused.value.event) == (
        "application",
        state.value,
        event.value,
    )


def test_the_refused_pairs_are_the_great_majority():
    assert len(REFUSED_PAIRS) == len(A) * len(V) - len(ALLOWED_PAIRS) == 17 * 27 - 32


@pytest.mark.parametrize("state", [A.SETTLED, A.REJECTED, A.CANCELLED, A.WRITTEN_OFF])
def test_terminal_states_accept_no_event(state):
    assert APPLICATION.is_terminal(state)
    for event in V:
        with pytest.raises(TransitionRefused, match="a terminal state accepts no event"):
            next_application_state(state, event, OK)


def _refused(state: A, event: V, context: ApplicationContext) -> str:
    with pytest.raises(TransitionRefused) as refused:
        next_application_state(state, event, context)
    return refused.value.why


class TestGuards:
    def test_verification_needs_every_check_and_names_them_when_one_fails(self):
        why = _refused(A.VERIFYING, V.VERIFICATION_PASSED, replace(OK, pre_search_clear=False))
        assert "pre-search clear" in why
        assert "guard failed" in why

    def test_retry_is_allowed_until_max_retry_days_then_only_failure(self):
        last = replace(RETRY, retry_days=2)
        assert next_application_state(A.VERIFYING, V.VERIFICATION_RETRY, last) is A.VERIFYING
        exhausted = replace(RETRY, retry_days=3)
        assert "retry_days < max_retry_days" in _refused(
            A.VERIFYING, V.VERIFICATION_RETRY, exhausted
        )
        assert next_application_state(A.VERIFYING, V.VERIFICATION_FAILED, exhausted) is A.REJECTED

    def test_a_transient_error_within_the_window_is_not_a_failure(self):
        assert "permanent failure" in _refused(A.VERIFYING, V.VERIFICATION_FAILED, RETRY)

    def test_reserve_needs_headroom_for_the_principal_and_the_min_ticket(self):
        exact = replace(OK, available=Decimal("361600.00"))
        assert next_application_state(A.MATCHED, V.RESERVE_OK, exact) is A.LIMIT_RESERVED
        short = replace(OK, available=Decimal("361599.99"))
        assert "available >= principal" in _refused(A.MATCHED, V.RESERVE_OK, short)
        small = replace(OK, principal=Decimal("9999.99"))
        assert "min_ticket" in _refused(A.MATCHED, V.RESERVE_OK, small)

    def test_reserve_failed_only_when_headroom_is_under_the_min_ticket(self):
        at_ticket = replace(OK, available=Decimal("10000.00"))
        assert "headroom < min_ticket" in _refused(A.MATCHED, V.RESERVE_FAILED, at_ticket)

    def test_credit_approval_needs_authority_for_the_amount(self):
        low = replace(OK, approver_authority=Decimal("361599.99"))
        assert "approver authority" in _refused(A.LIMIT_RESERVED, V.CREDIT_APPROVED, low)

    def test_a_disclosed_contract_needs_the_debtor_notice_an_undisclosed_one_does_not(self):
        no_notice = replace(OK, debtor_notice_sent=False)
        assert "notice" in _refused(A.APPROVED, V.CONTRACT_SIGNED, no_notice)
        silent = replace(no_notice, disclosed=False)
        assert next_application_state(A.APPROVED, V.CONTRACT_SIGNED, silent) is A.REGISTERING

    def test_registration_needs_a_clear_re_search(self):
        earlier = replace(OK, post_search_clear=False)
        assert "post-search" in _refused(A.REGISTERING, V.REGISTRATION_CONFIRMED, earlier)

    def test_an_early_warning_freeze_blocks_the_disbursement(self):
        frozen = replace(OK, early_warning_freeze=True)
        assert "freeze" in _refused(A.REGISTERED, V.DISBURSEMENT_INSTRUCTED, frozen)

    def test_approval_expires_after_thirty_days_not_before(self):
        early = replace(OK, days_since_approval=29)
        assert "approval_valid_days" in _refused(A.APPROVED, V.APPROVAL_EXPIRED, early)

    def test_repayment_splits_partial_and_full_to_the_fen(self):
        fen_short = replace(OK, repayment=Decimal("366059.72"))
        assert next_application_state(A.DISBURSED, V.REPAYMENT, fen_short) is A.PARTIALLY_REPAID
        over = replace(OK, repayment=Decimal("452000.00"))  # surplus 85,940.27 goes to the seller
        assert next_application_state(A.DISBURSED, V.REPAYMENT, over) is A.SETTLED
        assert "0 < amount" in _refused(A.DISBURSED, V.REPAYMENT, replace(OK, repayment=Decimal(0)))

    def test_overdue_only_once_the_penalty_grace_is_exceeded(self):
        in_grace = replace(OK, days_past_due=3)
        assert "penalty_grace_days" in _refused(A.DISBURSED, V.MATURITY_PASSED, in_grace)
        past = replace(OK, days_past_due=4)
        assert next_application_state(A.DISBURSED, V.MATURITY_PASSED, past) is A.OVERDUE
        paid = replace(past, outstanding=Decimal("0.00"))
        assert "outstanding > 0" in _refused(A.PARTIALLY_REPAID, V.MATURITY_PASSED, paid)

    def test_non_performing_after_ninety_days_past_due_is_flagged(self):
        assert "DPD > 90" in _refused(A.OVERDUE, V.NPL_90D, replace(OK, days_past_due=90))
        assert APPLICATION.step(A.OVERDUE, V.NPL_90D, OK).effects == ("flag_non_performing",)

    def test_a_default_context_establishes_nothing_that_moves_an_application_forward(self):
        empty = ApplicationContext()
        guarded = [t for t in APPLICATION.transitions if t.guard and t.target is not A.REJECTED]
        assert len(guarded) == 22
        assert [t for t in guarded if t.guard and t.guard.holds(empty)] == []


class TestEffects:
    def test_rejection_after_registering_cancels_the_reservation_and_our_registration(self):
        step = APPLICATION.step(A.REGISTERING, V.PRIOR_REGISTRATION_FOUND, OK)
        assert step.effects == ("cancel_reservation", "cancel_own_registration")

    def test_disbursement_consumes_with_true_up(self):
        step = APPLICATION.step(A.DISBURSING, V.DISBURSEMENT_SUCCEEDED, OK)
        assert step.effects == ("consume_with_true_up",)

    def test_credit_rejection_cancels_the_reservation(self):
        assert APPLICATION.step(A.LIMIT_RESERVED, V.CREDIT_REJECTED, OK).effects == (
            "cancel_reservation",
        )


def _context(event: V, target: FinancingState) -> ApplicationContext:
    if event is V.RESERVE_FAILED:
        return SHORT
    if event is V.REPAYMENT:
        return FULL if target is FinancingState.SETTLED else PARTIAL
    return OK


class TestHubStates:
    def test_every_hub_state_but_two_waiting_ones_has_a_section_4_1_state_of_its_name(self):
        waiting = {FinancingState.REGISTRY_REVIEW, FinancingState.AWAITING_DOCUMENTS}
        named = {s for s in FinancingState if s not in waiting}
        assert all(application_state(s).value == s.value for s in named)
        assert application_state(FinancingState.REGISTRY_REVIEW) is A.REGISTERING
        assert application_state(FinancingState.AWAITING_DOCUMENTS) is A.SUBMITTED

    def test_the_hub_treats_disbursed_as_final_where_section_4_1_goes_on(self):
        assert FinancingState.DISBURSED.terminal
        assert not APPLICATION.is_terminal(application_state(FinancingState.DISBURSED))

    @pytest.mark.parametrize("move", [m for m in HUB_MOVES if m.events], ids=lambda m: m.note)
    def test_each_hub_move_is_replayed_by_its_section_4_1_events(self, move):
        state = application_state(move.source)
        for event in move.events:
            state = next_application_state(state, event, _context(event, move.target))
        assert state is application_state(move.target)

    @pytest.mark.parametrize("move", [m for m in HUB_MOVES if not m.events], ids=lambda m: m.note)
    def test_a_hub_move_without_a_replay_really_has_no_direct_move_in_section_4_1(self, move):
        source, target = application_state(move.source), application_state(move.target)
        assert all((t.source, t.target) != (source, target) for t in APPLICATION.transitions)
        assert "§4.1" in move.note
