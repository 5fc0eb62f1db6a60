"""The timekeeper: moves timers whose time has come into the outbox.

Routes that must act again later return `Later`; the consumer writes those to the `timers`
table (the outbox's sibling). `fire_due` takes the due timers a batch at a time, and in ONE
transaction per batch marks them fired and adds their envelopes to the outbox; from there they
flow as every message does (the embedded transport's commit hook dispatches them at once, a
broker's relay publishes them), so a timer is delivered effectively once and a wait survives
restarts: timers due while the hub was down fire when it is back. Two hub processes may run
their timekeepers side by side (`SqlTimers.claim_due` never hands one timer to both).

"Due" is by the hub's clock (injectable, so tests move time instead of sleeping).
`factorhub jobs daily --as-of DATE` fires the timers due on or before that day too, for
deployments that run in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from hub.persistence.uow import UnitOfWorkFactory
from routes.later import CHINA

__all__ = ["Timekeeper", "end_of_day", "fire_due"]

log = logging.getLogger("factorhub.timekeeping")


async def fire_due(units: UnitOfWorkFactory, *, due_by: datetime, batch: int = 500) -> int:
    """Move every timer due at or before `due_by` into the outbox, one transaction per batch;
    returns how many fired."""
    fired = 0
    while True:
        async with units() as uow:
            messages = await uow.timers.claim_due(due_by, batch)
            if not messages:
                return fired
            await uow.outbox.add_many(messages)
            await uow.commit()
        fired += len(messages)
        if len(messages) < batch:
            return fired


def end_of_day(day: date) -> datetime:
    """The last microsecond of `day` in China time (the day the platform and banks count)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA) - timedelta(
        microseconds=1
    )


class Timekeeper:
    """Fires due timers every `interval` seconds (and once at start) in a consuming hub."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        clock: Callable[[], datetime],
        interval: float = 1.0,
        batch: int = 500,
    ) -> None:
        self._units = units
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self.fired = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="timekeeping")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> int:
        """Fire what is due now, by the hub's clock; returns how many fired."""
        fired = await fire_due(self._units, due_by=self._clock(), batch=self._batch)
        self.fired += fired
        if fired:
            log.info("fired %d timer(s)", fired)
        return fired

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the next round tries again; the hub goes on
                log.exception("firing timers failed")
            await asyncio.sleep(self._interval)
