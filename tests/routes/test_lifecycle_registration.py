"""§4.4 and §1.7: every move of the registration allowed, every other refused, time windows."""

from __future__ import annotations

import pytest

from routes.lifecycle import (
    REGISTRATION,
    RegistrationContext,
    RegistrationEvent,
    RegistrationState,
    TransitionRefused,
    next_registration_state,
)

G = RegistrationState
V = RegistrationEvent

IN_WINDOW = RegistrationContext(days_to_expiry=90)
LAPSED = RegistrationContext(days_to_expiry=0)
CLEARED = RegistrationContext(days_since_objection=31)
ANY = RegistrationContext()

# DRAFT -> SUBMITTED -> REGISTERED -> (CHANGED)* -> (EXTENDED)* -> CANCELLED | EXPIRED, + OBJECTED.
_LIVE = [
    (V.CHANGE, G.CHANGED, ANY),
    (V.EXTEND, G.EXTENDED, IN_WINDOW),
    (V.CANCEL, G.CANCELLED, ANY),
    (V.EXPIRE, G.EXPIRED, LAPSED),
    (V.OBJECTION_FILED, G.OBJECTED, ANY),
]
REFERENCE = [
    (G.DRAFT, V.SUBMIT, G.SUBMITTED, ANY),
    (G.SUBMITTED, V.CONFIRM, G.REGISTERED, ANY),
    *[(live, *row) for live in (G.REGISTERED, G.CHANGED, G.EXTENDED) for row in _LIVE],
    (G.OBJECTED, V.OBJECTION_CLEARED, G.REGISTERED, CLEARED),
]
DECIDED = [
    (G.DRAFT, V.DISCARD, G.CANCELLED, ANY),
    (G.OBJECTED, V.EXTEND, G.OBJECTED, IN_WINDOW),
    (G.OBJECTED, V.CANCEL, G.CANCELLED, ANY),
    (G.OBJECTED, V.EXPIRE, G.EXPIRED, LAPSED),
]


@pytest.mark.parametrize("row", REFERENCE + DECIDED, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}")
def test_every_move_of_the_reference_is_allowed(row):
    source, event, target, context = row
    assert next_registration_state(source, event, context) is target


def test_the_table_holds_the_reference_rows_and_the_documented_decisions_only():
    rows = {(t.source, t.event, t.target) for t in REGISTRATION.transitions}
    assert rows == {(s, e, t) for s, e, t, _ in REFERENCE + DECIDED}
    decided = {
        (t.source, t.event, t.target) for t in REGISTRATION.transitions if "decision" in t.ref
    }
    assert decided == {(s, e, t) for s, e, t, _ in DECIDED}


ALLOWED = {(s, e) for s, e, _, _ in REFERENCE + DECIDED}
REFUSED = [(s, e) for s in G for e in V if (s, e) not in ALLOWED]


@pytest.mark.parametrize(("state", "event"), REFUSED, ids=str)
def test_every_other_move_is_refused_naming_machine_state_and_event(state, event):
    with pytest.raises(TransitionRefused, match=f"^registration: event {event} .* state {state}:"):
        next_registration_state(state, event, IN_WINDOW)


@pytest.mark.parametrize("state", [G.CANCELLED, G.EXPIRED])
def test_terminal_states_accept_no_event(state):
    for event in V:
        with pytest.raises(TransitionRefused, match="terminal"):
            next_registration_state(state, event, LAPSED)


class TestTimeWindows:
    @pytest.mark.parametrize("days", [1, 45, 90])
    def test_an_extension_is_filed_in_the_ninety_days_before_expiry(self, days):
        context = RegistrationContext(days_to_expiry=days)
        assert next_registration_state(G.REGISTERED, V.EXTEND, context) is G.EXTENDED

    @pytest.mark.parametrize("days", [None, 0, 91, 365])
    def test_an_extension_outside_the_window_is_refused(self, days):
        with pytest.raises(TransitionRefused, match="days to expiry <= 90"):
            next_registration_state(G.EXTENDED, V.EXTEND, RegistrationContext(days_to_expiry=days))

    def test_a_registration_does_not_expire_before_its_date(self):
        with pytest.raises(TransitionRefused, match="days to expiry <= 0"):
            next_registration_state(G.REGISTERED, V.EXPIRE, RegistrationContext(days_to_expiry=1))

    def test_an_objection_lapses_only_after_thirty_days_without_a_lawsuit(self):
        for context in (
            RegistrationContext(days_since_objection=30),
            RegistrationContext(days_since_objection=31, lawsuit_filed=True),
        ):
            with pytest.raises(TransitionRefused, match="no lawsuit within 30 days"):
                next_registration_state(G.OBJECTED, V.OBJECTION_CLEARED, context)
        withdrawn = RegistrationContext(objection_withdrawn=True)
        assert next_registration_state(G.OBJECTED, V.OBJECTION_CLEARED, withdrawn) is G.REGISTERED
