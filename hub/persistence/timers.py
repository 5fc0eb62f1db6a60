"""Timers: messages to publish later, the outbox's sibling.

A route that must act again later (verify an invoice again tomorrow) returns `Later`; the
consumer writes it here in the transaction that decided the wait. `claim_due` takes the timers
whose time has come and marks them fired; the caller puts their envelopes into the outbox in
that same transaction, so a timer becomes exactly one outbox row, whatever crashes or how many
hub processes look. On PostgreSQL the due rows are read `FOR UPDATE SKIP LOCKED` (a second
process skips what the first is firing, and no longer sees it once committed); on SQLite every
writing transaction holds the database's one write lock from its start (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import Envelope
from hub.persistence.sql import execute_many
from hub.persistence.tables import TimerRow, table_of
from hub.transport.base import Outgoing
from routes.ports import Clock

__all__ = ["PendingTimer", "Scheduled", "SqlTimers"]

Scheduled = tuple[str, Envelope, datetime]
"""(topic, envelope, due at): a message to publish once the clock reaches `due at`."""

_timers = table_of(TimerRow)
_INSERT = insert(_timers)
_DUE = (
    select(_timers.c.id, _timers.c.topic, _timers.c.envelope)
    .where(_timers.c.fired_at.is_(None), _timers.c.due_at <= bindparam("b_now"))
    .order_by(_timers.c.due_at, _timers.c.id)
    .limit(bindparam("b_limit"))
)
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)
_FIRE = (
    update(_timers)
    .where(_timers.c.id.in_(bindparam("b_ids", expanding=True)), _timers.c.fired_at.is_(None))
    .values(fired_at=bindparam("b_at"))
)


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A timer not fired yet, as `factorhub timers list` shows it."""

    id: int
    due_at: datetime
    topic: str
    message_type: str
    request_id: str
    message_id: str
    created_at: datetime


class SqlTimers:
    """Timers in SQL; `skip_locked` on databases with row locks (PostgreSQL)."""

    def __init__(self, session: AsyncSession, clock: Clock, *, skip_locked: bool = False) -> None:
        self._session = session
        self._clock = clock
        self._skip_locked = skip_locked

    async def add_many(self, timers: Sequence[Scheduled]) -> None:
        if not timers:
            return
        now = self._clock()
        await execute_many(
            self._session,
            _INSERT,
            [
                {
                    "message_id": envelope.message_id,
                    "topic": topic,
                    "key": envelope.key,
                    "envelope": envelope.model_dump_json(),
                    "due_at": due_at,
                    "created_at": now,
                    "fired_at": None,
                }
                for topic, envelope, due_at in timers
            ],
        )

    async def claim_due(self, due_by: datetime, limit: int) -> list[Outgoing]:
        """Mark fired (now, by the clock) up to `limit` timers due at or before `due_by`, the
        earliest first, and return their messages for the caller's outbox (same transaction)."""
        query = _DUE_LOCKED if self._skip_locked else _DUE
        rows = (await self._session.execute(query, {"b_now": due_by, "b_limit": limit})).all()
        if not rows:
            return []
        result = await self._session.execute(
            _FIRE, {"b_ids": [r.id for r in rows], "b_at": self._clock()}
        )
        if result.rowcount != len(rows):  # type: ignore[attr-defined]
            # Someone fired one meanwhile (cannot happen under the locks above): fire nothing.
            raise RuntimeError("timers fired concurrently; try again")
        return [(r.topic, Envelope.model_validate_json(r.envelope)) for r in rows]

    async def pending(self, limit: int = 1000) -> list[PendingTimer]:
        """Timers not fired yet, the earliest due first."""
        rows = await self._session.execute(
            select(TimerRow.id, TimerRow.due_at, TimerRow.topic, TimerRow.envelope)
            .add_columns(TimerRow.message_id, TimerRow.created_at)
            .where(TimerRow.fired_at.is_(None))
            .order_by(TimerRow.due_at, TimerRow.id)
            .limit(limit)
        )
        pending = []
        for row in rows:
            envelope = Envelope.model_validate_json(row.envelope)
            pending.append(
                PendingTimer(
                    id=row.id,
                    due_at=row.due_at,
                    topic=row.topic,
                    message_type=envelope.type,
                    request_id=envelope.correlation_id,
                    message_id=row.message_id,
                    created_at=row.created_at,
                )
            )
        return pending

    async def count_pending(self) -> int:
        total = await self._session.scalar(
            select(func.count()).select_from(_timers).where(_timers.c.fired_at.is_(None))
        )
        return int(total or 0)
