"""Database spans: one CLIENT span per statement sent while a traced span is current.

Named by the stable database conventions: `{db.operation.name} {db.collection.name}` (e.g.
`INSERT outbox`), with `db.system.name`, `db.operation.name`, `db.collection.name`,
`db.namespace`, `db.query.summary`, `db.operation.batch.size` for an executemany, and
`server.address`/`server.port` for a server database. No query text and no parameters: the
values are business data (accounts, amounts), and the summary says what ran.

A statement with no recording span current (the relay's polling, the span store's own writes,
the housekeeper) gets no span: a database span only means something inside a request's trace,
and a root span per poll would bury the traces worth reading.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from observability.tracing import current

__all__ = ["instrument", "statement_span"]

_SYSTEMS = {"postgresql": "postgresql", "sqlite": "sqlite", "mysql": "mysql", "mariadb": "mariadb"}
_SPAN_KEY = "factorhub_span"

_TARGET = re.compile(
    r"^\s*(?P<op>SELECT|INSERT|UPDATE|DELETE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|CREATE|"
    r"DROP|ALTER|PRAGMA|WITH)\b"
    r"(?:\s+(?:OR\s+\w+\s+|ONLY\s+)?\"?(?P<updated>\w+)\"?\s+SET\b"  # UPDATE t SET
    r"|.*?\b(?:INTO|FROM|TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?\"?(?P<table>\w+))?",
    re.IGNORECASE | re.DOTALL,
)
_SUMMARIES: dict[str, tuple[str, str | None]] = {}
"""(operation, collection) by statement text: statements are few and repeat (SQLAlchemy
caches their compiled text), so each is parsed once. Bounded."""
_SUMMARIES_LIMIT = 2048


def instrument(engine: AsyncEngine) -> None:
    """Trace the statements `engine` sends (idempotent)."""
    sync = engine.sync_engine
    if event.contains(sync, "before_cursor_execute", _before):
        return
    event.listen(sync, "before_cursor_execute", _before)
    event.listen(sync, "after_cursor_execute", _after)
    event.listen(sync, "handle_error", _failed)


@contextlib.contextmanager
def statement_span(
    engine: Engine | Connection, statement: str, *, batch_size: int = 1
) -> Iterator[Span | None]:
    """A span around a statement sent to the driver directly (SQLAlchemy's events do not see
    it); None and nothing recorded when no traced span is current."""
    span = _start(engine, statement, batch_size)
    if span is None:
        yield None
        return
    try:
        yield span
    except BaseException as error:
        _fail(span, error)
        raise
    finally:
        span.end()


def _start(bind: Engine | Connection, statement: str, batch_size: int) -> Span | None:
    tracer = current()
    if tracer is None or not trace.get_current_span().is_recording():
        return None
    operation, collection = _summary(statement)
    summary = operation if collection is None else f"{operation} {collection}"
    url = bind.engine.url
    attributes: dict[str, AttributeValue] = {
        "db.system.name": _SYSTEMS.get(bind.dialect.name, bind.dialect.name),
        "db.operation.name": operation,
        "db.query.summary": summary,
    }
    if collection is not None:
        attributes["db.collection.name"] = collection
    if url.database:
        attributes["db.namespace"] = url.database.rsplit("/", 1)[-1]
    if url.host:
        attributes["server.address"] = url.host
        attributes["server.port"] = url.port or 5432
    if batch_size > 1:
        attributes["db.operation.batch.size"] = batch_size
    return tracer.start_span(summary, kind=SpanKind.CLIENT, attributes=attributes)


def _summary(statement: str) -> tuple[str, str | None]:
    found = _SUMMARIES.get(statement)
    if found is None:
        match = _TARGET.match(statement)
        if match is None:
            found = (statement.split(None, 1)[0].upper() if statement.strip() else "SQL", None)
        else:
            found = (match["op"].upper(), match["updated"] or match["table"])
        if len(_SUMMARIES) >= _SUMMARIES_LIMIT:
            _SUMMARIES.clear()
        _SUMMARIES[statement] = found
    return found


def _before(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    if context is None:
        return
    size = len(parameters) if executemany and hasattr(parameters, "__len__") else 1
    span = _start(conn, statement, size)
    if span is not None:
        setattr(context, _SPAN_KEY, span)


def _after(
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    span: Span | None = getattr(context, _SPAN_KEY, None)
    if span is not None:
        span.end()
        setattr(context, _SPAN_KEY, None)


def _failed(exception_context: ExceptionContext) -> None:
    context = exception_context.execution_context
    span: Span | None = getattr(context, _SPAN_KEY, None) if context is not None else None
    if span is not None:
        _fail(span, exception_context.original_exception)
        span.end()
        setattr(context, _SPAN_KEY, None)


def _fail(span: Span, error: BaseException) -> None:
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
