"""The four lifecycle state machines of the domain reference (§4), pure and table-driven.

Each machine refuses a move it does not allow with `TransitionRefused`, an
`canonical.IllegalTransition` that names the machine, the state and the event. `mermaid()` draws
each one; README.md in this folder holds the four diagrams.
"""

from routes.lifecycle.application import (
    APPLICATION,
    ApplicationContext,
    ApplicationEvent,
    ApplicationState,
    next_application_state,
)
from routes.lifecycle.hub_receivable import (
    RECEIVABLE_MOVES,
    ReceivableMove,
    receivable_move,
    receivable_state,
    receivable_step,
)
from routes.lifecycle.hub_states import HUB_MOVES, HubMove, application_state
from routes.lifecycle.machine import Guard, Machine, Transition, TransitionRefused
from routes.lifecycle.receivable import (
    RECEIVABLE,
    ReceivableContext,
    ReceivableEvent,
    ReceivableState,
    next_receivable_state,
)
from routes.lifecycle.registration import (
    REGISTRATION,
    RegistrationContext,
    RegistrationEvent,
    RegistrationState,
    next_registration_state,
)
from routes.lifecycle.reservation import (
    RESERVATION,
    LimitLedger,
    LimitReservationEvent,
    LimitReservationState,
    LimitStatus,
    Reservation,
    ReservationContext,
    apply_reservation_event,
    next_reservation_state,
    reserve,
)

__all__ = [
    "APPLICATION",
    "HUB_MOVES",
    "MACHINES",
    "RECEIVABLE",
    "RECEIVABLE_MOVES",
    "REGISTRATION",
    "RESERVATION",
    "ApplicationContext",
    "ApplicationEvent",
    "ApplicationState",
    "Guard",
    "HubMove",
    "LimitLedger",
    "LimitReservationEvent",
    "LimitReservationState",
    "LimitStatus",
    "Machine",
    "ReceivableContext",
    "ReceivableEvent",
    "ReceivableMove",
    "ReceivableState",
    "RegistrationContext",
    "RegistrationEvent",
    "RegistrationState",
    "Reservation",
    "ReservationContext",
    "Transition",
    "TransitionRefused",
    "application_state",
    "apply_reservation_event",
    "next_application_state",
    "next_receivable_state",
    "next_registration_state",
    "next_reservation_state",
    "receivable_move",
    "receivable_state",
    "receivable_step",
    "reserve",
]

MACHINES = (APPLICATION, RECEIVABLE, RESERVATION, REGISTRATION)
"""The four machines, in the reference's order (§4.1 to §4.4)."""
