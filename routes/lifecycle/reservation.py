"""The limit reservation lifecycle (§4.3) and the amounts it moves on its limit (§3.7).

冻结 (reserve) holds headroom, 占用 (consume) turns the hold into use with a true-up to the
principal actually paid, 解冻 (cancel or expiry) gives back exactly what was held, and 释放
(release) restores repaid principal on revolving limits only. Every move keeps
`reserved + used <= limit_amount`; the ledger values here are what a repository persists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from canonical import LimitExceeded
from routes.lifecycle.machine import Guard, Machine, Transition

__all__ = [
    "RESERVATION",
    "LimitLedger",
    "LimitReservationEvent",
    "LimitReservationState",
    "LimitStatus",
    "Reservation",
    "ReservationContext",
    "apply_reservation_event",
    "next_reservation_state",
    "reserve",
]

_ZERO = Decimal("0.00")


class LimitReservationState(StrEnum):
    """Where one application's hold on one limit stands (`LimitReservation.state`)."""

    RESERVED = "RESERVED"
    CONSUMED = "CONSUMED"
    PARTIALLY_RELEASED = "PARTIALLY_RELEASED"
    RELEASED = "RELEASED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


class LimitReservationEvent(StrEnum):
    """The §3.7 operations after the reservation exists."""

    CONSUME = "consume"
    """Disbursement succeeded: occupy the actual principal, true-up against the hold."""
    CANCEL = "cancel"
    """Rejection, cancellation or final disbursement failure: 解冻."""
    EXPIRE = "expire"
    """`approval_valid_days` passed without disbursement: 解冻."""
    RELEASE = "release"
    """Principal repaid: 释放, revolving limits only."""


class LimitStatus(StrEnum):
    """A limit's own status (§3.7)."""

    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    """Early-warning freeze: holds survive, new holds are refused."""
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, kw_only=True)
class ReservationContext:
    """The facts the guards read; amounts are Decimal."""

    amount: Decimal = _ZERO
    """The event's amount: actual principal for consume, repaid principal for release."""
    reserved: Decimal = _ZERO
    used: Decimal = _ZERO
    """What this reservation still occupies on the limit."""
    available: Decimal = _ZERO
    limit_active: bool = False
    revolving: bool = False
    days_since_approval: int = 0
    approval_valid_days: int = 30


S = LimitReservationState
V = LimitReservationEvent
_G = Guard[ReservationContext]

_TRUE_UP_FITS = _G(
    "0 < actual & (actual <= reserved or extra <= available on an ACTIVE limit)",
    lambda c: (
        c.amount > 0
        and (c.amount <= c.reserved or (c.limit_active and c.amount - c.reserved <= c.available))
    ),
)
_EXPIRED = _G(
    "days since approval >= approval_valid_days",
    lambda c: c.days_since_approval >= c.approval_valid_days,
)
_PARTIAL = _G("revolving & 0 < amount < used", lambda c: c.revolving and 0 < c.amount < c.used)
_FULL = _G("revolving & 0 < amount = used", lambda c: c.revolving and 0 < c.amount == c.used)
_REF = "§4.3, §3.7"

RESERVATION: Machine[LimitReservationState, LimitReservationEvent, ReservationContext] = Machine(
    name="limit_reservation",
    initial=S.RESERVED,
    transitions=(
        Transition(S.RESERVED, V.CONSUME, S.CONSUMED, _TRUE_UP_FITS, ref=_REF),
        Transition(S.RESERVED, V.CANCEL, S.CANCELLED, ref=_REF),
        Transition(S.RESERVED, V.EXPIRE, S.EXPIRED, _EXPIRED, ref=_REF),
        Transition(S.CONSUMED, V.RELEASE, S.PARTIALLY_RELEASED, _PARTIAL, ref=_REF),
        Transition(
            S.CONSUMED, V.RELEASE, S.RELEASED, _FULL, ref="decision: a one-payment repayment"
        ),
        Transition(S.PARTIALLY_RELEASED, V.RELEASE, S.PARTIALLY_RELEASED, _PARTIAL, ref=_REF),
        Transition(S.PARTIALLY_RELEASED, V.RELEASE, S.RELEASED, _FULL, ref=_REF),
    ),
    terminal=frozenset({S.RELEASED, S.CANCELLED, S.EXPIRED}),
    waiting={
        S.RESERVED: "disbursement, cancellation, or expiry after approval_valid_days",
        S.CONSUMED: "repayment (a one-time limit is never restored and stays here)",
        S.PARTIALLY_RELEASED: "repayment of the rest of the principal",
    },
)
"""The §4.3 machine; `reserve` is its entry (`[*] --> RESERVED`)."""


def next_reservation_state(
    state: LimitReservationState, event: LimitReservationEvent, context: ReservationContext
) -> LimitReservationState:
    """The reservation's state after `event`; raises `TransitionRefused` when not allowed."""
    return RESERVATION.next_state(state, event, context)


@dataclass(frozen=True, kw_only=True)
class LimitLedger:
    """One limit's balances: `available = limit_amount - used - reserved`."""

    limit_amount: Decimal
    used: Decimal = _ZERO
    reserved: Decimal = _ZERO
    status: LimitStatus = LimitStatus.ACTIVE
    revolving: bool = True

    @property
    def available(self) -> Decimal:
        return self.limit_amount - self.used - self.reserved


@dataclass(frozen=True, kw_only=True)
class Reservation:
    """One application's hold on one limit, keyed by `(limit_id, application_id)` upstream."""

    state: LimitReservationState
    reserved: Decimal
    """What was held at 冻结; unchanged for the record once consumed or cancelled."""
    used: Decimal = _ZERO
    """What this reservation occupies now (after consume, minus releases)."""
    returned: Decimal = _ZERO
    """What went back to the limit: the hold on cancel/expiry, repaid principal on release."""


def reserve(ledger: LimitLedger, amount: Decimal) -> tuple[LimitLedger, Reservation]:
    """冻结: hold `amount` if the limit is ACTIVE and has the headroom, else `LimitExceeded`."""
    if amount <= 0:
        raise LimitExceeded("RESERVE_NOT_POSITIVE", f"cannot reserve {amount}")
    if ledger.status is not LimitStatus.ACTIVE:
        raise LimitExceeded(f"LIMIT_{ledger.status.value}", f"limit is {ledger.status.value}")
    if amount > ledger.available:
        raise LimitExceeded("LIMIT_INSUFFICIENT", f"{amount} > available {ledger.available}")
    held = replace(ledger, reserved=ledger.reserved + amount)
    return held, Reservation(state=S.RESERVED, reserved=amount)


def apply_reservation_event(
    ledger: LimitLedger,
    reservation: Reservation,
    event: LimitReservationEvent,
    amount: Decimal = _ZERO,
    *,
    days_since_approval: int = 0,
    approval_valid_days: int = 30,
) -> tuple[LimitLedger, Reservation]:
    """Move the reservation and its limit together, or raise `TransitionRefused` (no change)."""
    context = ReservationContext(
        amount=amount,
        reserved=reservation.reserved,
        used=reservation.used,
        available=ledger.available,
        limit_active=ledger.status is LimitStatus.ACTIVE,
        revolving=ledger.revolving,
        days_since_approval=days_since_approval,
        approval_valid_days=approval_valid_days,
    )
    target = RESERVATION.next_state(reservation.state, event, context)
    moved = replace(reservation, state=target)
    if event is V.CONSUME:
        return (
            replace(
                ledger, reserved=ledger.reserved - reservation.reserved, used=ledger.used + amount
            ),
            replace(moved, used=amount),
        )
    if event is V.RELEASE:
        return (
            replace(ledger, used=ledger.used - amount),
            replace(moved, used=reservation.used - amount, returned=reservation.returned + amount),
        )
    return (
        replace(ledger, reserved=ledger.reserved - reservation.reserved),
        replace(moved, returned=reservation.reserved),
    )
