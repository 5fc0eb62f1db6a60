"""The receivable moves with its application: each hub move replayed through §4.2."""

from __future__ import annotations

import pytest

from canonical import FinancingState
from routes.lifecycle import (
    RECEIVABLE,
    RECEIVABLE_MOVES,
    ReceivableEvent,
    ReceivableState,
    TransitionRefused,
    receivable_move,
    receivable_state,
)
from routes.lifecycle.hub_states import HUB_PAIRS

F = FinancingState
R = ReceivableState
E = ReceivableEvent
_UNMATCHED = {F.SUBMITTED, F.AWAITING_DOCUMENTS, F.MATCH_REVIEW}
"""Applications rejected from here never got past matching: their receivable is INVALID."""


def _ends(move):  # type: ignore[no-untyped-def]
    matched = move.source not in _UNMATCHED
    return (
        receivable_state(move.source, matched=matched),
        receivable_state(move.target, matched=matched),
    )


def _id(move):  # type: ignore[no-untyped-def]
    return f"{move.source}-{move.target}" + (f"-{move.reason}" if move.reason else "")


@pytest.mark.parametrize("move", [m for m in RECEIVABLE_MOVES if m.events], ids=_id)
def test_each_hub_move_is_replayed_on_the_receivable_by_its_section_4_2_events(move):
    source, target = _ends(move)
    assert move.replay(source) is target


@pytest.mark.parametrize("move", [m for m in RECEIVABLE_MOVES if not m.events], ids=_id)
def test_a_hub_move_without_receivable_events_leaves_it_where_the_projection_has_it(move):
    source, target = _ends(move)
    assert source is target


def test_every_move_the_hub_makes_says_what_its_receivable_does_and_no_other():
    assert {(m.source, m.target) for m in RECEIVABLE_MOVES} == HUB_PAIRS
    assert all(receivable_move(s, t) is not None for s, t in HUB_PAIRS)


def test_every_hub_state_but_rejected_projects_onto_one_receivable_state():
    for state in F:
        assert receivable_state(state, matched=True) is receivable_state(state, matched=False) or (
            state is F.REJECTED
        )
    assert receivable_state(F.REJECTED) is R.ELIGIBLE
    assert receivable_state(F.REJECTED, matched=False) is R.INVALID


def test_a_paid_out_receivable_is_collected_in_parts_then_in_full():
    state = receivable_state(F.DISBURSED)
    for source, target in ((F.DISBURSED, F.PARTIALLY_REPAID), (F.PARTIALLY_REPAID, F.SETTLED)):
        move = receivable_move(source, target)
        assert move is not None
        state = move.replay(state)
    assert state is R.COLLECTED
    assert RECEIVABLE.is_terminal(state)


def test_a_non_performing_flag_does_not_move_the_receivable_but_a_repayment_does():
    flagged = receivable_move(F.OVERDUE, F.OVERDUE, "NON_PERFORMING")
    repaid = receivable_move(F.OVERDUE, F.OVERDUE)
    assert flagged is not None
    assert flagged.events == ()
    assert repaid is not None
    assert repaid.events == (E.COLLECTION,)
    assert repaid.replay(R.OVERDUE) is R.OVERDUE


def test_a_presumed_payment_undone_frees_the_receivable_for_another_application():
    move = receivable_move(F.DISBURSED, F.REJECTED, "BANK_PR01")
    assert move is not None
    assert move.replay(R.FINANCED) is R.ELIGIBLE


def test_a_move_from_where_the_receivable_does_not_stand_is_refused_naming_the_machine():
    move = receivable_move(F.SUBMITTED, F.MATCHED)
    assert move is not None
    with pytest.raises(TransitionRefused, match=r"^receivable: event verification_passed"):
        move.replay(R.INVALID)


def test_the_hub_never_parks_a_receivable_where_it_has_no_step_for_it():
    reached = {receivable_state(s) for s in F} | {R.INVALID}
    for move in RECEIVABLE_MOVES:
        source, _ = _ends(move)
        state = source
        for event in move.events:
            state = RECEIVABLE.next_state(state, event, move.context)
            reached.add(state)
    never = {R.INELIGIBLE, R.DILUTED, R.DISPUTED, R.REASSIGNED, R.CLOSED, R.WRITTEN_OFF}
    assert reached.isdisjoint(never)
    assert reached | never == set(R)
