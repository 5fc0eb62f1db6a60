"""Properties every lifecycle machine keeps: random event streams, liveness, diagrams."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routes import lifecycle
from routes.lifecycle import (
    MACHINES,
    ApplicationContext,
    Guard,
    Machine,
    ReceivableContext,
    RegistrationContext,
    ReservationContext,
    Transition,
    TransitionRefused,
)

AnyMachine = Machine[Any, Any, Any]
README = Path(lifecycle.__file__).with_name("README.md")
CONTEXTS = {
    "application": ApplicationContext,
    "receivable": ReceivableContext,
    "limit_reservation": ReservationContext,
    "registration": RegistrationContext,
}
_FIELD = {
    "bool": st.booleans(),
    "int": st.integers(0, 120),
    "int | None": st.none() | st.integers(-5, 120),
    "Decimal": st.sampled_from([Decimal("0.00"), Decimal("9999.99"), Decimal("10000.00")])
    | st.decimals(min_value=Decimal("0.00"), max_value=Decimal("20000.00"), places=2),
}


def _contexts(cls: type) -> st.SearchStrategy[object]:
    """Any context: every fact drawn at random, money as Decimal to the fen."""
    fields = {f.name: _FIELD[str(f.type)] for f in dataclasses.fields(cls)}
    return st.builds(cls, **fields)


def _states(machine: AnyMachine) -> set[StrEnum]:
    return set(type(machine.initial).__members__.values())


def _events(machine: AnyMachine) -> list[StrEnum]:
    return sorted(type(machine.transitions[0].event).__members__.values(), key=str)


def _reachable(machine: AnyMachine) -> set[StrEnum]:
    seen, todo = {machine.initial}, [machine.initial]
    while todo:
        state = todo.pop()
        for row in machine.transitions:
            if row.source == state and row.target not in seen:
                seen.add(row.target)
                todo.append(row.target)
    return seen


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_every_state_is_reachable_and_can_still_reach_an_end(machine):
    states = _states(machine)
    assert _reachable(machine) == states
    for state in states - machine.terminal:
        start = Machine(
            name="probe",
            initial=state,
            transitions=machine.transitions,
            terminal=machine.terminal,
            waiting=machine.waiting,
        )
        assert _reachable(start) & machine.terminal, f"{machine.name}: {state} is a trap"


def _passes(row: Transition[Any, Any, Any], context: object) -> bool:
    return row.guard is None or row.guard.holds(context)


def _attempt(
    machine: AnyMachine, state: StrEnum, event: StrEnum, context: object
) -> StrEnum | None:
    """The next state, or None when refused; a refusal must name this machine, state and event."""
    try:
        after: StrEnum = machine.next_state(state, event, context)
        return after
    except TransitionRefused as refused:
        named = (refused.machine, refused.state, refused.event)
    assert named == (machine.name, state.value, event.value)
    return None


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_event_streams_stay_defined_and_end_terminal_or_waiting(machine, data):
    contexts = _contexts(CONTEXTS[machine.name])
    events = _events(machine)
    states = _states(machine)
    # Hypothesis favours simple draws, so a walk from the initial state alone rarely gets past the
    # first rejection: start anywhere, and prefer the moves the drawn context enables.
    state = data.draw(st.sampled_from([machine.initial, *sorted(states, key=str)]), label="start")
    for _ in range(data.draw(st.integers(0, 40), label="length")):
        context = data.draw(contexts, label="context")
        enabled = sorted(
            {r.event for r in machine.transitions if r.source == state and _passes(r, context)},
            key=str,
        )
        pool = st.sampled_from(events)
        if enabled:
            pool = st.sampled_from(enabled) | pool
        event = data.draw(pool, label=f"event in {state}")
        after = _attempt(machine, state, event, context)
        if after is None:
            continue
        assert after in states
        assert (state, event, after) in {(r.source, r.event, r.target) for r in machine.transitions}
        assert state not in machine.terminal, "a terminal state moved"
        state = after
    assert state in machine.terminal or machine.waiting[state]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_the_diagram_draws_every_transition_and_every_end(machine):
    drawn = re.findall(r"^  (\w+) --> (\w+): (\w+)", machine.mermaid(), re.MULTILINE)
    assert sorted(drawn) == sorted(
        (t.source.value, t.target.value, t.event.value) for t in machine.transitions
    )
    ends = set(re.findall(r"^  (\w+) --> \[\*\]$", machine.mermaid(), re.MULTILINE))
    assert ends == {s.value for s in machine.terminal}
    assert f"[*] --> {machine.initial.value}" in machine.mermaid()


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_the_readme_holds_each_diagram_as_the_code_draws_it(machine):
    assert f"```mermaid\n{machine.mermaid()}\n```" in README.read_text(encoding="utf-8")


class _S(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class _E(StrEnum):
    GO = "go"


def _machine(waiting: dict[_S, str], terminal: frozenset[_S]) -> Machine[_S, _E, None]:
    rows: list[Transition[_S, _E, None]] = [
        Transition(_S.A, _E.GO, _S.B, Guard("never", lambda _: False))
    ]
    return Machine(name="t", initial=_S.A, transitions=rows, terminal=terminal, waiting=waiting)


class TestTableValidation:
    def test_a_state_neither_terminal_nor_waiting_is_refused(self):
        with pytest.raises(ValueError, match="terminal or waiting"):
            _machine({_S.A: "x"}, frozenset({_S.B}))

    def test_a_waiting_state_without_a_way_out_is_refused(self):
        with pytest.raises(ValueError, match="no way out"):
            _machine({_S.A: "x", _S.C: "y"}, frozenset({_S.B}))

    def test_a_terminal_state_with_a_way_out_is_refused(self):
        with pytest.raises(ValueError, match="transitions out"):
            _machine({}, frozenset({_S.A, _S.B, _S.C}))

    def test_a_failed_guard_is_named_in_the_refusal(self):
        machine = _machine({_S.A: "x"}, frozenset({_S.B, _S.C}))
        with pytest.raises(TransitionRefused, match=r"^t: event go is not allowed in state A: "):
            machine.next_state(_S.A, _E.GO, None)
        with pytest.raises(TransitionRefused, match=r"guard failed: \[never\]"):
            machine.next_state(_S.A, _E.GO, None)
