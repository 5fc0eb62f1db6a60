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
    """A span processor that queues finished spans and writes them to `trace_spans`."""

    def __init__(self, *, interval: float = 0.5) -> None:
        self._queue: deque[ReadableSpan] = deque(maxlen=_MAX_QUEUED)
        self._interval = interval
        self._engine: AsyncEngine | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, engine: AsyncEngine) -> None:
        self._engine = engine
        async with engine.begin() as conn:
            await conn.run_sync(METADATA.create_all, checkfirst=True)
        self._task = asyncio.create_task(self._run(), name="span-store")

    async def flush(self) -> int:
        """Write every queued span now; returns how many."""
        if self._engine is None or not self._queue:
            return 0
        spans = [self._queue.popleft() for _ in range(len(self._queue))]
        async with self._engine.begin() as conn:
            await conn.execute(insert(SPANS), [_row(s) for s in spans])
        return len(spans)

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
            self._queue.append(span)

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


def _row(span: ReadableSpan) -> dict[str, Any]:
    context = span.context
    assert context is not None
    attributes = dict(span.attributes or {})
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": None if span.parent is None else f"{span.parent.span_id:016x}",
        "name": span.name[:200],
        "kind": span.kind.name,
        "service": str(span.resource.attributes.get("service.name", "factorhub"))[:100],
        "start_ns": span.start_time or 0,
        "end_ns": span.end_time or span.start_time or 0,
        "status": span.status.status_code.name,
        "status_message": span.status.description,
        "request_id": _text(attributes.get("factorhub.request_id")),
        "attributes": json.dumps(attributes, default=str, ensure_ascii=False),
    }


def _text(value: object) -> str | None:
    return None if value is None else str(value)[:64]
