"""The embedded transport: in-process queues fed straight from the outbox.

There is no broker to hold messages across a crash, so the outbox is the queue: after each
commit the unit of work hands this transport the rows it wrote, and at start the transport asks
the database for every row a subscribed group has not yet handled (no inbox entry) and dispatches
those first. A SIGKILL at any instant therefore loses nothing, and the inbox repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from canonical import Envelope
from hub.transport.base import BatchHandler, Outgoing
from hub.transport.batching import top_up

__all__ = ["EmbeddedTransport", "Undelivered"]

log = logging.getLogger("factorhub.embedded")

Undelivered = Callable[[str, str], Awaitable[list[Envelope]]]
"""(topic, group) -> envelopes of that topic the group has not handled yet, oldest first."""


@dataclass(slots=True)
class _Subscription:
    topic: str
    group: str
    handler: BatchHandler
    max_batch: int
    queue: asyncio.Queue[Envelope] = field(default_factory=asyncio.Queue)


class EmbeddedTransport:
    """Delivers each published envelope to every group subscribed to its topic."""

    name = "embedded"

    def __init__(
        self,
        undelivered: Undelivered | None = None,
        *,
        redeliver_after: float = 1.0,
        linger: float = 0.002,
    ):
        """`linger`: seconds a consumer waits for more messages when its batch is not full,
        so that one transaction (and one commit) serves many messages."""
        self._undelivered = undelivered
        self._redeliver_after = redeliver_after
        self._linger = linger
        self._subscriptions: list[_Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(
        self, topic: str, *, group: str, handler: BatchHandler, max_batch: int = 100
    ) -> None:
        self._subscriptions.append(_Subscription(topic, group, handler, max_batch))

    async def start(self) -> None:
        for sub in self._subscriptions:
            if self._undelivered is not None:
                for envelope in await self._undelivered(sub.topic, sub.group):
                    sub.queue.put_nowait(envelope)
            self._tasks.append(
                asyncio.create_task(self._consume(sub), name=f"embedded:{sub.group}")
            )

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        for topic, envelope in messages:
            for sub in self._subscriptions:
                if sub.topic == topic:
                    sub.queue.put_nowait(envelope)

    async def ping(self) -> None:
        return None

    def backlog(self) -> int:
        """Envelopes queued but not yet handed to a handler."""
        return sum(s.queue.qsize() for s in self._subscriptions)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _consume(self, sub: _Subscription) -> None:
        while True:
            batch = [await sub.queue.get()]
            await top_up(sub.queue, batch, max_batch=sub.max_batch, linger=self._linger)
            while True:
                try:
                    await sub.handler(batch)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The handler dead-letters what it cannot handle; an exception here means the
                    # database itself failed. Hold the batch and try again, as a broker would.
                    log.exception("%s: batch failed; redelivering", sub.group)
                    await asyncio.sleep(self._redeliver_after)
