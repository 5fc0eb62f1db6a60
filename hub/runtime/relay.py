"""The outbox relay: publishes committed outbox rows to the broker, then marks them.

Woken at once by a commit hook and polling as a fallback (another process may have written).
On PostgreSQL rows are taken with FOR UPDATE SKIP LOCKED, so several relays share the work. A
crash between publish and mark republishes a batch: consumers' inboxes absorb the repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from canonical import Envelope
from hub.persistence.db import Database
from hub.persistence.tables import OutboxRow
from hub.transport.base import Outgoing, Transport

__all__ = ["OutboxRelay"]

log = logging.getLogger("factorhub.relay")

_MAX_KEPT = 50_000
"""Envelopes kept for rows not yet published; beyond this the relay parses rows instead."""


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        transport: Transport,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
    ) -> None:
        self._database = database
        self._floor: int | None = None
        self._transport = transport
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._committed: dict[str, Envelope] = {}
        self.published = 0

    async def notify(self, messages: Sequence[Outgoing]) -> None:
        """Commit hook: these rows were just committed. Their envelopes are kept so the relay
        need not parse its own JSON back; rows it has no envelope for (written by another
        process, or before a restart) are parsed from the table."""
        if len(self._committed) > _MAX_KEPT:  # another relay published them (PostgreSQL)
            self._committed.clear()
        for _, envelope in messages:
            self._committed[envelope.message_id] = envelope
        self._wake.set()

    async def skip_existing(self) -> None:
        """Publish only rows written from now on (the embedded transport re-dispatches the
        older undelivered rows itself at start, so call this before it does)."""
        async with self._database.session() as session:
            self._floor = await session.scalar(select(func.max(OutboxRow.id))) or 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many."""
        async with self._database.session() as session, session.begin():
            query = (
                select(OutboxRow.id, OutboxRow.message_id, OutboxRow.topic, OutboxRow.payload)
                .where(OutboxRow.published_at.is_(None))
                .order_by(OutboxRow.id)
                .limit(self._batch_size)
            )
            if self._floor is not None:
                query = query.where(OutboxRow.id > self._floor)
            if not self._database.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not rows:
                return 0
            committed = self._committed
            await self._transport.publish(
                [
                    (
                        r.topic,
                        committed.get(r.message_id) or Envelope.model_validate_json(r.payload),
                    )
                    for r in rows
                ]
            )
            for r in rows:
                committed.pop(r.message_id, None)
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([r.id for r in rows]))
                .values(published_at=datetime.now(UTC))
            )
        self.published += len(rows)
        return len(rows)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.drain_once() >= self._batch_size:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay: publish failed; retrying")
                await asyncio.sleep(1.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
