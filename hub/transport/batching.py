"""Turn one-at-a-time deliveries into batch-handler calls (RabbitMQ delivers per message).

Each delivery task `submit`s its item and waits; a single runner gathers whatever is queued (up
to `max_batch`, lingering a few milliseconds for more), calls the handler once, and tells every
waiting delivery whether its batch was handled, so each can ack or nack its own message. One
handler call per batch is what lets the consumer use one database transaction per batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["DEFAULT_LINGER", "MicroBatcher", "top_up"]

DEFAULT_LINGER = 0.005
"""Seconds to wait for more deliveries when a batch is not full yet."""

T = TypeVar("T")

logger = logging.getLogger("hub.transport.batching")


async def top_up(queue: asyncio.Queue[T], batch: list[T], *, max_batch: int, linger: float) -> None:
    """Add what `queue` holds to `batch` (up to `max_batch`), first waiting `linger` seconds when
    it would not fill: one transaction then serves many items. The caller owns `batch`, so
    what was taken is never lost if this is cancelled."""
    if linger and queue.qsize() < max_batch - len(batch):
        await asyncio.sleep(linger)
    while len(batch) < max_batch and not queue.empty():
        batch.append(queue.get_nowait())


class MicroBatcher(Generic[T]):
    """Collects submitted items into batches for `handler`; one batch in flight at a time."""

    def __init__(
        self,
        handler: Callable[[list[T]], Awaitable[None]],
        *,
        max_batch: int,
        linger: float = DEFAULT_LINGER,
        failure_delay: float = 0.5,
        name: str = "",
    ) -> None:
        """`failure_delay` holds a failed batch back briefly so a handler that keeps failing
        does not spin through redeliveries at full speed."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.name = name
        self._handler = handler
        self._max_batch = max_batch
        self._linger = linger
        self._failure_delay = failure_delay
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[bool]]] = asyncio.Queue()
        self._runner: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"MicroBatcher({self.name!r}, max_batch={self._max_batch})"

    async def submit(self, item: T) -> bool:
        """Queue `item`; True once its batch was handled, False if the handler raised."""
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"batcher:{self.name}")
        outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, outcome))
        return await outcome

    async def aclose(self) -> None:
        """Stop the runner; deliveries still waiting are cancelled (so never acked)."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        while not self._queue.empty():
            _, outcome = self._queue.get_nowait()
            outcome.cancel()

    async def _run(self) -> None:
        batch: list[tuple[T, asyncio.Future[bool]]] = []
        try:
            while True:
                batch = [await self._queue.get()]
                await top_up(self._queue, batch, max_batch=self._max_batch, linger=self._linger)
                # A delivery whose waiter was cancelled (its channel died) will come again.
                batch = [(item, outcome) for item, outcome in batch if not outcome.done()]
                if not batch:
                    continue
                handled = await self._handle([item for item, _ in batch])
                for _, outcome in batch:
                    if not outcome.done():
                        outcome.set_result(handled)
        finally:  # stopped mid-batch: release its deliveries unacked
            for _, outcome in batch:
                if not outcome.done():
                    outcome.cancel()

    async def _handle(self, items: list[T]) -> bool:
        try:
            await self._handler(items)
        except Exception:
            logger.exception("%s: handler failed on %d messages; redelivering", self, len(items))
            await asyncio.sleep(self._failure_delay)
            return False
        return True
