"""The local span store: finished spans written in batches to the hub's own database.

Spans are diagnostics, not business state: the table lives in its own MetaData, outside the
Alembic migrations, and is created if missing when the store starts (dropping it loses
nothing the flow needs). Spans are queued as they end (no I/O on the span's path) and a
background task writes them every half second in one executemany through the hub's engine.
`factorhub trace` reads them back (`trace_spans`, `slowest_traces`, `failed_traces`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from observability.scrub import scrub_text, scrubbed_copy

__all__ = [
    "SPANS",
    "LocalSpanStore",
    "SpanRecord",
    "TraceSummary",
    "failed_traces",
    "slowest_traces",
    "trace_spans",
]

log = logging.getLogger("factorhub.tracing")

METADATA = MetaData()
SPANS = Table(
    "trace_spans",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trace_id", String(32), nullable=False, index=True),
    Column("span_id", String(16), nullable=False),
    Column("parent_id", String(16)),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("service", String(100), nullable=False),
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("status", String(5), nullable=False),
    Column("status_message", Text),
    Column("request_id", String(64), index=True),
    Column("attributes", Text, nullable=False),
)

_MAX_QUEUED = 200_000
"""Spans kept while the database is unreachable; beyond this the oldest are dropped."""


@dataclass(frozen=True, slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status: str
    status_message: str | None
    request_id: str | None
    attributes: dict[str, Any]

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


@dataclass(frozen=True, slots=True)
class TraceSummary:
    trace_id: str
    request_id: str | None
    start_ns: int
    duration_ms: float
    spans: int
    errors: int


class LocalSpanStore(SpanProcessor):
    """A span processor that queues finished spans and writes them to `trace_spans`.

    It scrubs what it stores itself (attributes and status, by `observability.scrub`'s
    rules) as it builds each row, so it needs no `ScrubbingProcessor` in front: one pass over
    the attributes instead of two."""

    def __init__(self, *, interval: float = 0.5) -> None:
        self._queue: deque[tuple[Any, ...]] = deque(maxlen=_MAX_QUEUED)
        """Rows, not spans: a span's objects are freed as it ends (fewer for the collector)."""
        self._interval = interval
        self._engine: AsyncEngine | None = None
        self._insert: _Insert | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = _Insert.compiled_for(engine)
        async with engine.begin() as conn:
            await conn.run_sync(METADATA.create_all, checkfirst=True)
        self._task = asyncio.create_task(self._run(), name="span-store")

    async def flush(self) -> int:
        """Write every queued span now; returns how many."""
        if self._engine is None or self._insert is None or not self._queue:
            return 0
        rows = [self._queue.popleft() for _ in range(len(self._queue))]
        try:
            async with self._engine.begin() as conn:
                await conn.exec_driver_sql(self._insert.sql, self._insert.parameters(rows))
        except BaseException:
            self._queue.extendleft(reversed(rows))  # kept for the next round (bounded)
            raise
        return len(rows)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()
        self._engine = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self._queue.append(_row(span))

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # the background task (or `aclose`) writes them on the event loop

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("span store: writing spans failed")


async def trace_spans(engine: AsyncEngine, request_id: str) -> list[SpanRecord]:
    """Every span of every trace that touched `request_id`, oldest first."""
    traces = select(SPANS.c.trace_id).where(SPANS.c.request_id == request_id).distinct()
    query = select(SPANS).where(SPANS.c.trace_id.in_(traces)).order_by(SPANS.c.start_ns)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [
        SpanRecord(
            trace_id=r["trace_id"],
            span_id=r["span_id"],
            parent_id=r["parent_id"],
            name=r["name"],
            kind=r["kind"],
            start_ns=r["start_ns"],
            end_ns=r["end_ns"],
            status=r["status"],
            status_message=r["status_message"],
            request_id=r["request_id"],
            attributes=json.loads(r["attributes"]),
        )
        for r in rows
    ]


async def slowest_traces(engine: AsyncEngine, limit: int) -> list[TraceSummary]:
    """The traces that took longest, first to last span."""
    return await _summaries(engine, limit, failed=False)


async def failed_traces(engine: AsyncEngine, limit: int) -> list[TraceSummary]:
    """The most recent traces with a span in error."""
    return await _summaries(engine, limit, failed=True)


async def _summaries(engine: AsyncEngine, limit: int, *, failed: bool) -> list[TraceSummary]:
    errors = func.sum((SPANS.c.status == "ERROR").cast(Integer))
    duration = func.max(SPANS.c.end_ns) - func.min(SPANS.c.start_ns)
    query = select(
        SPANS.c.trace_id,
        func.max(SPANS.c.request_id).label("request_id"),
        func.min(SPANS.c.start_ns).label("start_ns"),
        duration.label("duration"),
        func.count().label("spans"),
        errors.label("errors"),
    ).group_by(SPANS.c.trace_id)
    if failed:
        query = query.having(errors > 0).order_by(func.min(SPANS.c.start_ns).desc())
    else:
        query = query.order_by(duration.desc())
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda c: c.dialect.has_table(c, SPANS.name)):
            return []
        rows = (await conn.execute(query.limit(limit))).all()
    return [
        TraceSummary(r.trace_id, r.request_id, r.start_ns, r.duration / 1e6, r.spans, r.errors)
        for r in rows
    ]


_COLUMNS = tuple(c.name for c in SPANS.columns if c.name != "id")
_IN_ORDER = tuple(range(len(_COLUMNS)))


@dataclass(frozen=True, slots=True)
class _Insert:
    """The INSERT compiled once for the engine's dialect, run as the driver's executemany:
    SQLAlchemy's per-row parameter handling would cost as much as building the row."""

    sql: str
    order: tuple[int, ...] | None
    """Where each positional parameter comes from in a row; None: the driver takes names."""

    @classmethod
    def compiled_for(cls, engine: AsyncEngine) -> _Insert:
        compiled = insert(SPANS).compile(dialect=engine.dialect, column_keys=list(_COLUMNS))
        positions = compiled.positiontup
        order = None if positions is None else tuple(_COLUMNS.index(n) for n in positions)
        return cls(str(compiled), order)

    def parameters(self, rows: list[tuple[Any, ...]]) -> list[Any]:
        if self.order is None:
            return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        if self.order == _IN_ORDER:
            return rows
        order = self.order
        return [tuple(row[i] for i in order) for row in rows]


def _row(span: ReadableSpan) -> tuple[Any, ...]:
    """The span's values in `_COLUMNS` order."""
    context = span.context
    assert context is not None
    attributes = scrubbed_copy(span.attributes or {})
    parent = span.parent
    status = span.status
    return (
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
        None if parent is None else f"{parent.span_id:016x}",
        span.name[:200],
        span.kind.name,
        str(span.resource.attributes.get("service.name", "factorhub"))[:100],
        span.start_time or 0,
        span.end_time or span.start_time or 0,
        status.status_code.name,
        None if status.description is None else scrub_text(status.description),
        _text(attributes.get("factorhub.request_id")),
        orjson.dumps(attributes, default=str).decode(),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)[:64]
