"""The 中登 registration lifecycle (§4.4), with the registry's time rules of §1.7.

An extension is only filed in the 90 days before expiry; a third party's objection is a side
state that lapses unless a lawsuit or arbitration follows within 30 days. Cancellation is owed
within 10 working days of settlement: a deadline for the caller's scheduler, not a guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from routes.lifecycle.machine import Guard, Machine, Transition

__all__ = [
    "EXTENSION_WINDOW_DAYS",
    "OBJECTION_WINDOW_DAYS",
    "REGISTRATION",
    "RegistrationContext",
    "RegistrationEvent",
    "RegistrationState",
    "next_registration_state",
]

EXTENSION_WINDOW_DAYS = 90
OBJECTION_WINDOW_DAYS = 30


class RegistrationState(StrEnum):
    """Where our registration of a receivable transfer stands (`Registration.state`)."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    REGISTERED = "REGISTERED"
    CHANGED = "CHANGED"
    EXTENDED = "EXTENDED"
    OBJECTED = "OBJECTED"
    """A third party filed an objection registration against it."""
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class RegistrationEvent(StrEnum):
    """What happened at (or for) the registry."""

    SUBMIT = "submit"
    CONFIRM = "confirm"
    """The registry answered with a registration number and modification code."""
    DISCARD = "discard"
    """The application ended before the draft was filed."""
    CHANGE = "change"
    EXTEND = "extend"
    CANCEL = "cancel"
    EXPIRE = "expire"
    OBJECTION_FILED = "objection_filed"
    OBJECTION_CLEARED = "objection_cleared"


@dataclass(frozen=True, kw_only=True)
class RegistrationContext:
    """The facts the guards read. Unknown dates fail closed."""

    days_to_expiry: int | None = None
    """`expires_at - as_of` in days."""
    days_since_objection: int | None = None
    lawsuit_filed: bool = False
    objection_withdrawn: bool = False


G = RegistrationState
V = RegistrationEvent
_G = Guard[RegistrationContext]

_IN_WINDOW = _G(
    "0 < days to expiry <= 90",
    lambda c: c.days_to_expiry is not None and 0 < c.days_to_expiry <= EXTENSION_WINDOW_DAYS,
)
_LAPSED = _G(
    "days to expiry <= 0", lambda c: c.days_to_expiry is not None and c.days_to_expiry <= 0
)
_OBJECTION_GONE = _G(
    "withdrawn, or no lawsuit within 30 days",
    lambda c: (
        c.objection_withdrawn
        or (
            not c.lawsuit_filed
            and c.days_since_objection is not None
            and c.days_since_objection > OBJECTION_WINDOW_DAYS
        )
    ),
)
_REF = "§4.4, §1.7"


def _t(
    source: G, event: V, target: G, guard: _G | None = None, ref: str = _REF
) -> Transition[G, V, RegistrationContext]:
    return Transition(source, event, target, guard, ref=ref)


def _live_exits(source: G) -> tuple[Transition[G, V, RegistrationContext], ...]:
    return (
        _t(source, V.CHANGE, G.CHANGED),
        _t(source, V.EXTEND, G.EXTENDED, _IN_WINDOW),
        _t(source, V.CANCEL, G.CANCELLED),
        _t(source, V.EXPIRE, G.EXPIRED, _LAPSED),
        _t(source, V.OBJECTION_FILED, G.OBJECTED),
    )


REGISTRATION: Machine[RegistrationState, RegistrationEvent, RegistrationContext] = Machine(
    name="registration",
    initial=G.DRAFT,
    transitions=(
        _t(G.DRAFT, V.SUBMIT, G.SUBMITTED),
        _t(G.DRAFT, V.DISCARD, G.CANCELLED, None, "decision: nothing was filed"),
        _t(G.SUBMITTED, V.CONFIRM, G.REGISTERED),
        *_live_exits(G.REGISTERED),
        *_live_exits(G.CHANGED),
        *_live_exits(G.EXTENDED),
        _t(G.OBJECTED, V.OBJECTION_CLEARED, G.REGISTERED, _OBJECTION_GONE),
        _t(G.OBJECTED, V.EXTEND, G.OBJECTED, _IN_WINDOW, "decision: keep priority meanwhile"),
        _t(G.OBJECTED, V.CANCEL, G.CANCELLED, None, "decision: ours can always be cancelled"),
        _t(G.OBJECTED, V.EXPIRE, G.EXPIRED, _LAPSED, "decision: the term runs on"),
    ),
    terminal=frozenset({G.CANCELLED, G.EXPIRED}),
    waiting={
        G.DRAFT: "the signed assignment contract, then filing",
        G.SUBMITTED: "the registry's registration number",
        G.REGISTERED: "settlement (then cancel), a change, or the extension window",
        G.CHANGED: "settlement (then cancel), a change, or the extension window",
        G.EXTENDED: "settlement (then cancel), a change, or the extension window",
        G.OBJECTED: "the 30-day objection window, or the court",
    },
)
"""The §4.4 machine."""


def next_registration_state(
    state: RegistrationState, event: RegistrationEvent, context: RegistrationContext
) -> RegistrationState:
    """The registration's state after `event`; raises `TransitionRefused` when not allowed."""
    return REGISTRATION.next_state(state, event, context)
