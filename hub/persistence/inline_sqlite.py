"""aiosqlite's interface, run on the event loop's own thread.

aiosqlite hands every call to a worker thread and back (a queue, a future, a self-pipe
wake-up): tens of microseconds of switching around statements that SQLite itself runs in a
few. The hub keeps ONE SQLite connection per process and its statements are small, so running
them inline is several times cheaper. The price: while SQLite waits for another process's
write lock (busy_timeout), the loop waits too — acceptable for the embedded single-process
default, and the reason PostgreSQL is the multi-process choice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite

__all__ = ["InlineConnection", "inline_connect"]


class _RunAtOnce:
    """Stands in for aiosqlite's queue to its worker thread (SQLAlchemy's adapter also
    posts to that queue directly): runs each posted call immediately."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite.Connection whose calls run at once, in the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_connect(path: str) -> Callable[[], InlineConnection]:
    """An `async_creator` for SQLAlchemy's sqlite+aiosqlite dialect."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def create() -> InlineConnection:
        return InlineConnection(connector, iter_chunk_size=64)

    return create
