"""Pruning the messaging tables: outbox rows every consumer has handled, then old inbox rows.

The outbox and the inbox grow by a row per message per hop; nothing else ever removes them.
Order matters. An outbox row may go only once every group that consumes its topic has an
inbox row for it (on the embedded transport the outbox is the queue, and a restart re-dispatches
any row some group has not handled). An inbox row may go only once its outbox row is gone (or
the restart would find the message unhandled and apply it again). Both wait out the retention
period, which is also how long a broker redelivery is still recognised as a repeat.
Dead letters are never pruned: operators clear them by replaying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.tables import InboxRow, OutboxRow
from hub.persistence.uow import UnitOfWorkFactory
from routes.registry import Route

__all__ = ["Housekeeper", "Pruned", "prune"]

log = logging.getLogger("factorhub.housekeeping")


@dataclass(frozen=True, slots=True)
class Pruned:
    outbox: int
    inbox: int


async def prune(
    units: UnitOfWorkFactory, routes: Sequence[Route], *, older_than: timedelta, now: datetime
) -> Pruned:
    """Delete handled outbox rows and their inbox rows older than `older_than`."""
    cutoff = now - older_than
    groups: dict[str, list[str]] = {}
    for route in routes:
        groups.setdefault(route.topic, []).append(route.group)
    outbox = 0
    async with units() as uow:
        for topic in await _topics(uow.session):
            handled = [
                exists().where(InboxRow.consumer == g, InboxRow.message_id == OutboxRow.message_id)
                for g in groups.get(topic, [])
            ]
            result = await uow.session.execute(
                delete(OutboxRow).where(
                    OutboxRow.topic == topic,
                    OutboxRow.published_at.is_not(None),
                    OutboxRow.created_at < cutoff,
                    and_(true(), *handled),
                )
            )
            outbox += result.rowcount  # type: ignore[attr-defined]
        result = await uow.session.execute(
            delete(InboxRow).where(
                InboxRow.processed_at < cutoff,
                ~exists().where(OutboxRow.message_id == InboxRow.message_id),
            )
        )
        inbox = result.rowcount  # type: ignore[attr-defined]
        await uow.commit()
    return Pruned(outbox=outbox, inbox=inbox)


async def _topics(session: AsyncSession) -> list[str]:
    return sorted(await session.scalars(select(OutboxRow.topic).distinct()))


class Housekeeper:
    """Runs `prune` every `interval` seconds in a hub process that consumes."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        routes: Sequence[Route],
        *,
        retention: timedelta,
        clock: Callable[[], datetime],
        interval: float = 3600.0,
    ) -> None:
        self._units = units
        self._routes = routes
        self._retention = retention
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                pruned = await prune(
                    self._units, self._routes, older_than=self._retention, now=self._clock()
                )
            except Exception:  # the next round tries again; the hub goes on
                log.exception("pruning failed")
                continue
            if pruned.outbox or pruned.inbox:
                log.info("pruned %d outbox and %d inbox rows", pruned.outbox, pruned.inbox)
