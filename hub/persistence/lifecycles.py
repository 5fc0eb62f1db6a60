"""The receivable, limit reservation and registration lifecycles (§4.2-4.4) as they moved.

Each application has one of each, keyed by its request id. The repositories that move them
check every move against its §4 machine. The receivable moves only with its application, so
`SqlRequestRepository` records its move on the application's own history row
(`request_events.receivable_*`); the reservation's and the registration's moves are queued here
with the message being handled, and `flush` writes the queue as one executemany into
`lifecycle_events`, like `request_events`. A move a machine refuses is logged here and raised
(`TransitionRefused`, an `IllegalTransition`), so the message fails as an illegal application
move does. `lifecycles_of` reads the three back, each with its state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.sql import execute_many
from hub.persistence.tables import (
    LifecycleEventRow,
    RegistrationRow,
    RequestEventRow,
    RequestRow,
    ReservationRow,
    table_of,
)
from routes.lifecycle import TransitionRefused
from routes.ports import Clock

__all__ = ["Cause", "Entity", "Lifecycle", "LifecycleEntry", "LifecycleLog", "lifecycles_of"]

log = logging.getLogger("factorhub.lifecycle")

_events = table_of(LifecycleEventRow)
_INSERT = insert(_events)


class Entity(StrEnum):
    """Which of an application's lifecycles moved."""

    RECEIVABLE = "receivable"
    """§4.2, `financing_requests.receivable_state`; moves on `request_events`."""
    RESERVATION = "reservation"
    """§4.3, `limit_reservations.state`."""
    REGISTRATION = "registration"
    """§4.4, `registrations.state`."""


@dataclass(frozen=True, slots=True)
class Cause:
    """The message being handled, recorded with every transition it causes."""

    message_id: str | None = None
    message_type: str | None = None


@dataclass(frozen=True, slots=True)
class LifecycleEntry:
    """One recorded move."""

    entity: str
    source: str | None
    """None: the entity came into being with this move."""
    target: str
    event: str
    note: str | None
    message_id: str | None
    message_type: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Where one of an application's lifecycles stands (None: it does not exist) and how it
    got there."""

    state: str | None
    history: tuple[LifecycleEntry, ...]


class LifecycleLog:
    """Moves queued by the repositories of one unit of work, written at flush."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self.cause = Cause()
        self._rows: list[dict[str, Any]] = []

    def record(
        self,
        entity: Entity,
        request_id: str,
        source: str | None,
        target: str,
        event: str,
        *,
        note: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Queue one move, with the message being handled. Without `at`, it is stamped when
        the queue is written (one clock reading for the unit of work's moves)."""
        cause = self.cause
        self._rows.append(
            {
                "request_id": request_id,
                "entity": entity.value,
                "from_state": source,
                "to_state": target,
                "event": event,
                "note": note,
                "message_id": cause.message_id,
                "message_type": cause.message_type,
                "at": at,
            }
        )

    def refused(self, entity: Entity, request_id: str, refused: TransitionRefused) -> None:
        """Log a move the machine refused (the caller raises the refusal)."""
        log.warning(
            "%s: refused %s %s in state %s (%s; %s)",
            request_id,
            entity.value,
            refused.event,
            refused.state,
            refused.why,
            self.cause.message_type or "no message",
        )

    def ignored(self, entity: Entity, request_id: str, event: str, state: str, why: str) -> None:
        """Log a move the hub leaves undone rather than refuse (nothing to do, and raising
        would fail a redelivered message)."""
        log.warning(
            "%s: %s %s in state %s ignored (%s; %s)",
            request_id,
            entity.value,
            event,
            state,
            why,
            self.cause.message_type or "no message",
        )

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            now = self._clock()
            for row in rows:
                if row["at"] is None:
                    row["at"] = now
            await execute_many(self._session, _INSERT, rows)

    def forget(self) -> None:
        """Drop what was queued (after a rollback)."""
        self._rows.clear()


async def lifecycles_of(session: AsyncSession, request_id: str) -> dict[Entity, Lifecycle]:
    """The receivable, reservation and registration of one application: state and history
    (the receivable's moves from the application's history rows, the others' from
    `lifecycle_events`)."""
    history: dict[str, list[LifecycleEntry]] = {entity.value: [] for entity in Entity}
    moved = await session.execute(
        select(RequestEventRow)
        .where(RequestEventRow.request_id == request_id, RequestEventRow.receivable_to.is_not(None))
        .order_by(RequestEventRow.id)
    )
    for r in moved.scalars():
        history[Entity.RECEIVABLE.value].append(
            LifecycleEntry(
                Entity.RECEIVABLE.value,
                r.receivable_from,
                r.receivable_to or "",
                r.receivable_event or "",
                None,
                r.message_id,
                r.message_type,
                r.at,
            )
        )
    rows = await session.execute(
        select(LifecycleEventRow)
        .where(LifecycleEventRow.request_id == request_id)
        .order_by(LifecycleEventRow.id)
    )
    for e in rows.scalars():
        history.setdefault(e.entity, []).append(
            LifecycleEntry(
                e.entity,
                e.from_state,
                e.to_state,
                e.event,
                e.note,
                e.message_id,
                e.message_type,
                e.at,
            )
        )
    states = {
        Entity.RECEIVABLE: await session.scalar(
            select(RequestRow.receivable_state).where(RequestRow.id == request_id)
        ),
        Entity.RESERVATION: await session.scalar(
            select(ReservationRow.state).where(ReservationRow.request_id == request_id)
        ),
        Entity.REGISTRATION: await session.scalar(
            select(RegistrationRow.state).where(RegistrationRow.request_id == request_id)
        ),
    }
    return {entity: Lifecycle(states[entity], tuple(history[entity.value])) for entity in Entity}
