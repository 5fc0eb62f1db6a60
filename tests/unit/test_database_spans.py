"""Database spans: one CLIENT span per statement inside a traced span, named by the stable
database conventions, with no query text or values; none outside a trace."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from observability.database import instrument
from observability.tracing import installed


async def test_statements_inside_a_trace_are_client_spans_named_by_operation_and_table(tmp_path):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    instrument(engine)
    instrument(engine)  # idempotent: still one span per statement
    try:
        with installed(provider):
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE accounts (id INTEGER, number TEXT)"))
                await conn.execute(
                    text("INSERT INTO accounts (id, number) VALUES (:id, :number)"),
                    [{"id": 1, "number": "6222021234567890123"}, {"id": 2, "number": "x"}],
                )
            assert exporter.get_finished_spans() == ()  # no trace around them: no spans
            with provider.get_tracer("test").start_as_current_span("process financing.matched"):
                async with engine.begin() as conn:
                    await conn.execute(text("SELECT number FROM accounts WHERE id = 1"))
                    await conn.execute(text("UPDATE accounts SET number = 'y' WHERE id = 2"))
                    await conn.execute(
                        text("INSERT INTO accounts (id, number) VALUES (:id, :number)"),
                        [{"id": 3, "number": "a"}, {"id": 4, "number": "b"}],
                    )
    finally:
        await engine.dispose()
    spans = {s.name: s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT}
    assert set(spans) == {"SELECT accounts", "UPDATE accounts", "INSERT accounts"}
    parent = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.INTERNAL)
    for span in spans.values():
        assert span.parent is not None
        assert span.parent.span_id == parent.context.span_id
        attributes = dict(span.attributes or {})
        assert attributes["db.system.name"] == "sqlite"
        assert attributes["db.collection.name"] == "accounts"
        assert attributes["db.query.summary"] == span.name
        assert "db.query.text" not in attributes
        assert all("6222" not in str(v) for v in attributes.values())
    assert spans["INSERT accounts"].attributes["db.operation.batch.size"] == 2
    assert spans["SELECT accounts"].attributes["db.operation.name"] == "SELECT"
