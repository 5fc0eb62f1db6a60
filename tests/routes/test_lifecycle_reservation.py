"""§4.3 and §3.7: the reservation's moves, and the amounts they move on the limit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonical import LimitExceeded
from routes.lifecycle import (
    RESERVATION,
    LimitLedger,
    LimitReservationEvent,
    LimitReservationState,
    LimitStatus,
    Reservation,
    ReservationContext,
    TransitionRefused,
    apply_reservation_event,
    next_reservation_state,
    reserve,
)

S = LimitReservationState
V = LimitReservationEvent
D = Decimal

HELD = ReservationContext(
    amount=D("361600.00"), reserved=D("361600.00"), available=D("0.00"), limit_active=True
)
USED = ReservationContext(amount=D("100000.00"), used=D("361600.00"), revolving=True)
ALL = ReservationContext(amount=D("361600.00"), used=D("361600.00"), revolving=True)
LATE = ReservationContext(days_since_approval=30)

REFERENCE = [
    (S.RESERVED, V.CONSUME, S.CONSUMED, HELD),
    (S.RESERVED, V.CANCEL, S.CANCELLED, HELD),
    (S.RESERVED, V.EXPIRE, S.EXPIRED, LATE),
    (S.CONSUMED, V.RELEASE, S.PARTIALLY_RELEASED, USED),
    (S.PARTIALLY_RELEASED, V.RELEASE, S.PARTIALLY_RELEASED, USED),
    (S.PARTIALLY_RELEASED, V.RELEASE, S.RELEASED, ALL),
]
DECIDED = [(S.CONSUMED, V.RELEASE, S.RELEASED, ALL)]


@pytest.mark.parametrize("row", REFERENCE + DECIDED, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_every_move_of_the_reference_is_allowed(row):
    source, event, target, context = row
    assert next_reservation_state(source, event, context) is target


def test_the_table_holds_the_reference_rows_and_the_documented_decisions_only():
    rows = {(t.source, t.event, t.target) for t in RESERVATION.transitions}
    assert rows == {(s, e, t) for s, e, t, _ in REFERENCE + DECIDED}


REFUSED = [(s, e) for s in S for e in V if (s, e) not in {(r[0], r[1]) for r in REFERENCE}]


@pytest.mark.parametrize(("state", "event"), REFUSED, ids=str)
def test_every_other_move_is_refused_naming_machine_state_and_event(state, event):
    with pytest.raises(TransitionRefused, match=f"limit_reservation: event {event} .* {state}"):
        next_reservation_state(state, event, ALL)


# The quote: 3,000,000.00 seller facility, 361,600.00 principal.
FACILITY = LimitLedger(limit_amount=D("3000000.00"))


class TestAmounts:
    def test_reserve_holds_the_principal(self):
        ledger, held = reserve(FACILITY, D("361600.00"))
        assert (ledger.reserved, ledger.available) == (D("361600.00"), D("2638400.00"))
        assert held == Reservation(state=S.RESERVED, reserved=D("361600.00"))

    def test_cancel_gives_back_exactly_the_hold(self):
        ledger, held = reserve(FACILITY, D("361600.00"))
        ledger, cancelled = apply_reservation_event(ledger, held, V.CANCEL)
        assert ledger == FACILITY
        assert (cancelled.state, cancelled.returned) == (S.CANCELLED, D("361600.00"))

    def test_a_smaller_disbursement_releases_the_difference(self):
        ledger, held = reserve(FACILITY, D("361600.00"))
        ledger, used = apply_reservation_event(ledger, held, V.CONSUME, D("360000.00"))
        assert (ledger.reserved, ledger.used, ledger.available) == (
            D("0.00"),
            D("360000.00"),
            D("2640000.00"),
        )
        assert used.state is S.CONSUMED

    def test_a_larger_disbursement_occupies_the_extra_only_if_available(self):
        # 400,000.00 limit; another application holds 38,000.00; ours holds 361,600.00, so
        # 400.00 is left: paying 362,000.00 fits to the fen, 362,000.01 does not.
        ledger, _ = reserve(LimitLedger(limit_amount=D("400000.00")), D("38000.00"))
        ledger, held = reserve(ledger, D("361600.00"))
        assert ledger.available == D("400.00")
        with pytest.raises(TransitionRefused, match="extra <= available"):
            apply_reservation_event(ledger, held, V.CONSUME, D("362000.01"))
        ledger, _ = apply_reservation_event(ledger, held, V.CONSUME, D("362000.00"))
        assert (ledger.used, ledger.reserved, ledger.available) == (
            D("362000.00"),
            D("38000.00"),
            D("0.00"),
        )

    def test_repaid_principal_comes_back_on_a_revolving_limit_in_parts(self):
        ledger, held = reserve(FACILITY, D("361600.00"))
        ledger, r = apply_reservation_event(ledger, held, V.CONSUME, D("361600.00"))
        ledger, r = apply_reservation_event(ledger, r, V.RELEASE, D("100000.00"))
        assert (r.state, ledger.used) == (S.PARTIALLY_RELEASED, D("261600.00"))
        with pytest.raises(TransitionRefused, match="guard failed"):
            apply_reservation_event(ledger, r, V.RELEASE, D("261600.01"))
        ledger, r = apply_reservation_event(ledger, r, V.RELEASE, D("261600.00"))
        assert (r.state, r.returned, ledger) == (S.RELEASED, D("361600.00"), FACILITY)

    def test_a_one_time_limit_is_never_restored(self):
        one_time = LimitLedger(limit_amount=D("3000000.00"), revolving=False)
        ledger, held = reserve(one_time, D("361600.00"))
        ledger, used = apply_reservation_event(ledger, held, V.CONSUME, D("361600.00"))
        with pytest.raises(TransitionRefused, match="revolving"):
            apply_reservation_event(ledger, used, V.RELEASE, D("361600.00"))

    def test_a_frozen_limit_refuses_new_holds_but_keeps_existing_ones(self):
        ledger, held = reserve(FACILITY, D("361600.00"))
        frozen = LimitLedger(
            limit_amount=ledger.limit_amount, reserved=ledger.reserved, status=LimitStatus.FROZEN
        )
        with pytest.raises(LimitExceeded) as refused:
            reserve(frozen, D("1.00"))
        assert refused.value.reason == "LIMIT_FROZEN"
        ledger, _ = apply_reservation_event(frozen, held, V.CONSUME, D("361600.00"))
        assert ledger.used == D("361600.00")

    def test_a_hold_beyond_headroom_is_refused(self):
        with pytest.raises(LimitExceeded) as refused:
            reserve(FACILITY, D("3000000.01"))
        assert refused.value.reason == "LIMIT_INSUFFICIENT"

    def test_expiry_needs_the_approval_validity_to_run_out(self):
        ledger, held = reserve(FACILITY, D("361600.00"))
        with pytest.raises(TransitionRefused, match="approval_valid_days"):
            apply_reservation_event(ledger, held, V.EXPIRE, days_since_approval=29)
        ledger, expired = apply_reservation_event(ledger, held, V.EXPIRE, days_since_approval=30)
        assert (ledger, expired.state) == (FACILITY, S.EXPIRED)


_MONEY = st.decimals(min_value=D("0.01"), max_value=D("500000.00"), places=2)
_STEP = st.tuples(st.sampled_from(["reserve", *V]), st.integers(0, 7), _MONEY, st.integers(0, 40))


@settings(max_examples=300, deadline=None)
@given(
    limit=st.decimals(min_value=D("0.00"), max_value=D("1000000.00"), places=2),
    revolving=st.booleans(),
    steps=st.lists(_STEP, max_size=40),
)
def test_no_sequence_over_reserves_and_a_release_returns_exactly_the_hold(limit, revolving, steps):
    ledger = LimitLedger(limit_amount=limit, revolving=revolving)
    held: list[Reservation] = []
    for op, pick, amount, days in steps:
        if op == "reserve":
            try:
                ledger, new = reserve(ledger, amount)
            except LimitExceeded:
                continue
            held.append(new)
        elif held:
            i = pick % len(held)
            before, r = ledger, held[i]
            try:
                ledger, held[i] = apply_reservation_event(
                    ledger, r, V(op), amount, days_since_approval=days
                )
            except TransitionRefused:
                assert ledger is before
                continue
            if held[i].state in (S.CANCELLED, S.EXPIRED):
                assert ledger.available - before.available == r.reserved == held[i].returned
        assert D(0) <= ledger.reserved
        assert D(0) <= ledger.used
        assert ledger.reserved + ledger.used <= ledger.limit_amount
        assert ledger.reserved == sum((r.reserved for r in held if r.state is S.RESERVED), D(0))
        assert ledger.used == sum((r.used for r in held), D(0))
        assert all(r.state in RESERVATION.terminal or r.state in RESERVATION.waiting for r in held)
