"""ERP pushes mapped in worker processes, so parsing runs on the machine's other cores.

Mapping a push is pure CPU (JSON, decimals, checks, pydantic) and needs nothing of the hub's
state, while everything after it (the durable commit, the routes) wants the hub's one event
loop. With workers, pushes arriving together are shipped to a worker as one batch, and the
loop only pays for unpickling the result (a fifth of what mapping costs). Bad input still
raises `MappingError` at the caller, with every problem, exactly as mapping in-process does.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from canonical import MappingError, Problem
from hub.transport.batching import top_up
from mappings.erp import InvoicePush
from mappings.kingdee import kingdee_invoice_to_canonical
from mappings.yonyou import yonyou_invoice_to_canonical

__all__ = ["ERP_MAPPERS", "MappingPool", "map_push"]

ErpMapper = Callable[..., InvoicePush]

ERP_MAPPERS: dict[str, ErpMapper] = {
    "kingdee": kingdee_invoice_to_canonical,
    "yonyou": yonyou_invoice_to_canonical,
}
"""Source system -> mapper of its invoice push."""

_Outcome = InvoicePush | tuple[list[Problem], str]


def map_push(source: str, raw: bytes, received_at: datetime) -> InvoicePush:
    """Map one push in this process (MappingError on bad input)."""
    return ERP_MAPPERS[source](raw, received_at=received_at)


def _exit_with_parent(parent: int) -> None:
    """In a worker: leave as soon as the hub process is gone, even SIGKILLed (its pipe then
    stays open in no one's hands, so the worker would otherwise wait on it forever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _map_batch(items: Sequence[tuple[str, bytes, datetime]]) -> list[_Outcome]:
    """Runs in a worker: each push mapped, or its problems (exceptions pickle badly)."""
    outcomes: list[_Outcome] = []
    for source, raw, received_at in items:
        try:
            outcomes.append(map_push(source, raw, received_at))
        except MappingError as error:
            outcomes.append((error.problems, error.source))
    return outcomes


@dataclass(slots=True)
class _Pending:
    source: str
    raw: bytes
    received_at: datetime
    answer: asyncio.Future[InvoicePush]


class MappingPool:
    """`await pool.map(source, raw, received_at)`: the push, mapped by a worker process."""

    def __init__(self, workers: int, *, max_batch: int = 64, linger: float = 0.001) -> None:
        if workers < 1:
            raise ValueError("a mapping pool needs at least one worker")
        self._workers = workers
        self._max_batch = max_batch
        self._linger = linger
        self._executor: ProcessPoolExecutor | None = None
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._in_flight = asyncio.Semaphore(workers * 2)
        self._batches: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start the workers now (they import the mappers once), not on the first push."""
        loop = asyncio.get_running_loop()
        pool = self._pool()
        await asyncio.gather(
            *(loop.run_in_executor(pool, _map_batch, []) for _ in range(self._workers))
        )

    async def map(self, source: str, raw: bytes, received_at: datetime) -> InvoicePush:
        if source not in ERP_MAPPERS:
            raise KeyError(source)
        answer: asyncio.Future[InvoicePush] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(source, raw, received_at, answer))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="mapping-pool")
        return await answer

    async def aclose(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        await asyncio.gather(*self._batches, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait().answer.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the hub has threads (SQLite checkpoints, the HTTP clients)
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(
                self._workers,
                mp_context=context,
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._executor

    async def _dispatch(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await top_up(self._queue, batch, max_batch=self._max_batch, linger=self._linger)
            await self._in_flight.acquire()
            task = asyncio.create_task(self._run(batch))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _run(self, batch: list[_Pending]) -> None:
        try:
            items = [(p.source, p.raw, p.received_at) for p in batch]
            loop = asyncio.get_running_loop()
            outcomes = await loop.run_in_executor(self._pool(), _map_batch, items)
        except asyncio.CancelledError:  # shutting down: nobody will get an answer
            for pending in batch:
                pending.answer.cancel()
            raise
        except Exception as error:  # e.g. a worker died (BrokenProcessPool): each caller sees it
            for pending in batch:
                if not pending.answer.done():
                    pending.answer.set_exception(error)
            return
        finally:
            self._in_flight.release()
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.answer.done():
                continue
            if isinstance(outcome, InvoicePush):
                pending.answer.set_result(outcome)
            else:
                problems, source = outcome
                pending.answer.set_exception(MappingError(problems, source=source))
