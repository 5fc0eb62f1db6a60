"""MicroBatcher, the piece that turns RabbitMQ's per-message deliveries into batch calls."""

from __future__ import annotations

import asyncio

from hub.transport.batching import MicroBatcher


class TestMicroBatcher:
    async def test_concurrent_submissions_are_handled_in_batches_of_at_most_max_batch(self) -> None:
        batches: list[list[int]] = []

        async def handler(items: list[int]) -> None:
            batches.append(items)

        batcher = MicroBatcher(handler, max_batch=10, linger=0.01)
        results = await asyncio.gather(*(batcher.submit(n) for n in range(25)))
        await batcher.aclose()

        assert all(results)
        assert [len(b) for b in batches] == [10, 10, 5]
        assert [n for b in batches for n in b] == list(range(25))

    async def test_every_waiter_of_a_failed_batch_learns_it_failed(self) -> None:
        async def handler(items: list[int]) -> None:
            raise RuntimeError("database down")

        batcher = MicroBatcher(handler, max_batch=10, linger=0.01, failure_delay=0)
        results = await asyncio.gather(*(batcher.submit(n) for n in range(4)))
        await batcher.aclose()

        assert results == [False, False, False, False]

    async def test_closing_cancels_deliveries_still_waiting(self) -> None:
        release = asyncio.Event()

        async def handler(items: list[int]) -> None:
            await release.wait()

        batcher = MicroBatcher(handler, max_batch=1, linger=0)
        waiters = [asyncio.create_task(batcher.submit(n)) for n in range(3)]
        await asyncio.sleep(0.05)
        await batcher.aclose()

        outcomes = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
