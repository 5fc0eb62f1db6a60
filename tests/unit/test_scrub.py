"""No planted secret (account number, key, password, ID number) survives into an exported span."""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from observability.scrub import REDACTED, ScrubbingProcessor, scrub_text
from observability.span_store import SPANS, LocalSpanStore

ACCOUNT = "6222021234567890123"
ID_NUMBER = "11010519491231002X"
PASSWORD = "hunter2-secret"
KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg\n"
    "-----END PRIVATE KEY-----"
)
TOKEN = "tyc-sim-token-123"
INVOICE = "25442000000123456789"


def _exported() -> str:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(ScrubbingProcessor(SimpleSpanProcessor(exporter)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("planted") as span:
        span.set_attributes(
            {
                "payee.account": ACCOUNT,
                "note": f"paid to {ACCOUNT}, holder id {ID_NUMBER}, password={PASSWORD}",
                "http.request.header.authorization": f"Bearer {TOKEN}",
                "ecny.private_key": KEY,
                "url.full": f"https://bank:{PASSWORD}@bank.example/pay",
                "factorhub.invoice_number": INVOICE,
            }
        )
        span.record_exception(RuntimeError(f"bank said: account {ACCOUNT} frozen\n{KEY}"))
        span.set_status(Status(StatusCode.ERROR, f"rejected {ACCOUNT}"))
    (finished,) = exporter.get_finished_spans()
    return finished.to_json()


def test_no_planted_secret_appears_in_any_attribute_event_or_status():
    exported = _exported()
    for secret in (ACCOUNT, ID_NUMBER, PASSWORD, TOKEN, "MIGHAgEAMBMGByqGSM49"):
        assert secret not in exported
    assert REDACTED in exported


def test_the_invoice_number_the_trace_is_searched_by_is_kept():
    attributes = json.loads(_exported())["attributes"]
    assert attributes["factorhub.invoice_number"] == INVOICE


def test_request_ids_and_ordinary_text_pass_unchanged():
    text = "FR3A9F00123456789012345678ABCD matched 3 orders in 12 ms"
    assert scrub_text(text) == text


async def test_the_local_span_store_scrubs_what_it_stores_without_a_scrubber_in_front(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'spans.db'}")
    store = LocalSpanStore()
    provider = TracerProvider()
    provider.add_span_processor(store)  # as `Tracing` wires it: no ScrubbingProcessor
    await store.start(engine)
    try:
        with provider.get_tracer("test").start_as_current_span("planted") as span:
            span.set_attributes(
                {
                    "factorhub.request_id": "FR1",
                    "payee.account": ACCOUNT,
                    "note": f"holder id {ID_NUMBER}, password={PASSWORD}",
                    "factorhub.invoice_number": INVOICE,
                }
            )
            span.set_status(Status(StatusCode.ERROR, f"rejected {ACCOUNT}"))
        assert await store.flush() == 1
        async with engine.connect() as conn:
            (row,) = (await conn.execute(select(SPANS))).mappings().all()
    finally:
        await store.aclose()
        await engine.dispose()
    stored = json.dumps(dict(row), default=str)
    for secret in (ACCOUNT, ID_NUMBER, PASSWORD):
        assert secret not in stored
    assert json.loads(row["attributes"])["factorhub.invoice_number"] == INVOICE
    assert row["request_id"] == "FR1"
