"""A small, pure state machine: a table of guarded transitions and nothing else.

Each lifecycle of §4 is one `Machine`. A transition names the guard the reference gives as a
predicate over a context object, so a refusal can say which condition failed. Several
transitions may share a (state, event) pair when their guards pick the target (a repayment is
partial or full); the first whose guard holds wins. No I/O, no clock: facts arrive in the context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from canonical import IllegalTransition

__all__ = ["Guard", "Machine", "Transition", "TransitionRefused"]

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)
C = TypeVar("C")


@dataclass(frozen=True)  # no slots: typing sets __orig_class__ on Guard[C](...)
class Guard(Generic[C]):
    """A named predicate over the context; `label` is the condition as the reference words it."""

    label: str
    holds: Callable[[C], bool]


@dataclass(frozen=True)
class Transition(Generic[S, E, C]):
    """One row of a transition table."""

    source: S
    event: E
    target: S
    guard: Guard[C] | None = None
    effects: tuple[str, ...] = ()
    """Side effects the caller owes when it takes this move (`cancel_reservation`, ...)."""
    ref: str = ""
    """Where the reference defines the row; rows the reference is silent on say `decision: ...`."""


class TransitionRefused(IllegalTransition):
    """An event the machine does not accept in this state, or whose guard failed.

    `current` is the state and `target` the event (the canonical fields), also exposed as
    `state` and `event`; `why` says which guard failed or that no row exists.
    """

    def __init__(self, machine: str, state: str, event: str, why: str) -> None:
        super().__init__(machine, state, event)
        self.state, self.event, self.why = state, event, why
        self.args = (f"{machine}: event {event} is not allowed in state {state}: {why}",)


class Machine(Generic[S, E, C]):
    """A named, validated transition table with terminal and waiting states."""

    def __init__(
        self,
        *,
        name: str,
        initial: S,
        transitions: Iterable[Transition[S, E, C]],
        terminal: frozenset[S],
        waiting: Mapping[S, str],
    ) -> None:
        self.name = name
        self.initial = initial
        self.transitions: tuple[Transition[S, E, C], ...] = tuple(transitions)
        self.terminal = terminal
        self.waiting: Mapping[S, str] = dict(waiting)
        self._rows: dict[tuple[S, E], list[Transition[S, E, C]]] = {}
        for row in self.transitions:
            self._rows.setdefault((row.source, row.event), []).append(row)
        self._validate()

    def step(self, state: S, event: E, context: C) -> Transition[S, E, C]:
        """The transition `event` takes from `state`, or `TransitionRefused` saying why not."""
        rows = self._rows.get((state, event))
        if not rows:
            why = "a terminal state accepts no event" if state in self.terminal else "no such move"
            raise TransitionRefused(self.name, state.value, event.value, why)
        for row in rows:
            if row.guard is None or row.guard.holds(context):
                return row
        failed = " / ".join(f"[{r.guard.label}]" for r in rows if r.guard is not None)
        raise TransitionRefused(self.name, state.value, event.value, f"guard failed: {failed}")

    def next_state(self, state: S, event: E, context: C) -> S:
        """The state after `event`, or `TransitionRefused` (an `IllegalTransition`)."""
        return self.step(state, event, context).target

    def events_from(self, state: S) -> frozenset[E]:
        """Every event that has a row leaving `state` (guards not evaluated)."""
        return frozenset(event for (source, event) in self._rows if source == state)

    def is_terminal(self, state: S) -> bool:
        return state in self.terminal

    def mermaid(self) -> str:
        """The machine as a Mermaid `stateDiagram-v2`, one line per transition."""
        lines = ["stateDiagram-v2", f"  [*] --> {self.initial.value}"]
        for row in self.transitions:
            label = row.event.value
            if row.guard is not None:
                label += f" [{row.guard.label}]"
            if row.effects:
                label += f" / {', '.join(row.effects)}"
            lines.append(f"  {row.source.value} --> {row.target.value}: {label}")
        lines.extend(f"  {state.value} --> [*]" for state in _ordered(self.terminal))
        return "\n".join(lines)

    def _validate(self) -> None:
        """Refuse a table that contradicts itself: these are programming errors, not input."""
        states: set[S] = set(type(self.initial))
        leaving = {row.source for row in self.transitions}
        waiting = set(self.waiting)
        if leaving & self.terminal:
            raise ValueError(f"{self.name}: terminal states with transitions out")
        if waiting & self.terminal:
            raise ValueError(f"{self.name}: a state cannot be both terminal and waiting")
        if waiting | self.terminal != states:
            raise ValueError(f"{self.name}: every state must be terminal or waiting with a reason")
        if waiting - leaving:
            raise ValueError(f"{self.name}: a waiting state has no way out")


def _ordered(states: Iterable[S]) -> list[S]:
    return sorted(states, key=lambda s: s.value)
