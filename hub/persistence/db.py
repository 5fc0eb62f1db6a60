"""Engines and sessions: SQLite (the embedded default) or PostgreSQL, with migrations applied."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.persistence.inline_sqlite import inline_connect
from observability.database import instrument

__all__ = ["Checkpointer", "Database", "alembic_config", "is_sqlite"]

log = logging.getLogger("factorhub.db")

_MIGRATIONS = Path(__file__).with_name("migrations")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations; the URL comes from the connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver so that SQLAlchemy's "begin" event issues BEGIN IMMEDIATE: a
    # writer takes the lock up front and waits (busy_timeout) instead of failing mid-transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache
    cursor.execute("PRAGMA mmap_size=268435456")  # reads through the OS page cache
    # Checkpoints copy the WAL into the database file and fsync it. Run inside a commit they
    # stall the event loop (SQLite runs inline), so a background thread does them instead.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory; `aclose` disposes of the pool."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self._checkpointer: Checkpointer | None = None
        if is_sqlite(url):
            path = _sqlite_path(url)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # SQLite has one writer at a time. Contending connections would each sleep in
            # SQLite's busy handler (up to 100 ms a nap); one pooled connection instead queues
            # the units of work in-process, in order, with no sleeping.
            self.engine: AsyncEngine = create_async_engine(
                url,
                echo=echo,
                pool_size=1,
                max_overflow=0,
                pool_timeout=120,
                async_creator=inline_connect(path),
            )
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
            if path != ":memory:":
                self._checkpointer = Checkpointer(path)
                self._checkpointer.start()
        else:
            self.engine = create_async_engine(
                url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
        instrument(self.engine)  # database spans, inside a traced request only
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    async def upgrade(self) -> None:
        """Apply every Alembic migration not yet applied (safe to call on each start)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def session(self) -> AsyncSession:
        return self.sessions()

    async def aclose(self) -> None:
        await self.engine.dispose()
        if self._checkpointer is not None:
            self._checkpointer.stop()


class Checkpointer(threading.Thread):
    """Copies the SQLite WAL into the database file every `interval` seconds, off the loop.

    PASSIVE checkpoints never block readers or the writer; what they cannot copy yet (pages a
    reader still needs) is copied next time.
    """

    def __init__(self, path: str, *, interval: float = 1.0) -> None:
        super().__init__(name=f"sqlite-checkpoint:{Path(path).name}", daemon=True)
        self._path = path
        self._interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA busy_timeout=1000")
            while not self._stopped.wait(self._interval):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=10)

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:  # busy or locked: the next round catches up
            log.debug("checkpoint skipped: %s", error)


def _sqlite_path(url: str) -> str:
    return make_url(url).database or ":memory:"
