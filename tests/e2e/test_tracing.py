"""One financing request is ONE trace: the ERP push, every hop, every partner call, even
across a hub restart; names and kinds follow the OpenTelemetry conventions; no secret leaks."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from sqlalchemy import select

from canonical import Envelope
from hub.app import Hub
from hub.cli_trace import render_trace
from hub.config import Settings
from hub.demo import facility_terms
from hub.operations import open_facilities
from hub.persistence.tables import OutboxRow
from hub.runtime.retry import RetryPolicy
from hub.serving import running_ingress
from observability.scrub import ScrubbingProcessor
from observability.span_store import LocalSpanStore, trace_spans
from observability.tracing import installed
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import hub_path, render
from simulators.runner import running_simulators
from tests.e2e.stack import SEED, Stack, running_stack

HOPS = [
    "financing.submitted",
    "financing.matched",
    "financing.limit-reserved",
    "financing.registered",
    "disbursement.requested",
    "payment.reported",
]


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(ScrubbingProcessor(SimpleSpanProcessor(exporter)))
    with installed(provider):
        yield exporter


async def _push_one(url: str, stack_companies, seed: int) -> str:
    case = generate_invoices(seed, 1, stack_companies, {})[0]
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.post(hub_path(case), content=render(case))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["request_id"])


async def _journey(exporter: InMemorySpanExporter, request_id: str) -> list[ReadableSpan]:
    """The spans of the request's trace, once its last hop has been processed."""
    for _ in range(100):
        finished = exporter.get_finished_spans()
        traces = {
            s.context.trace_id
            for s in finished
            if s.attributes and s.attributes.get("factorhub.request_id") == request_id
        }
        names = {s.name for s in finished if s.context.trace_id in traces}
        if "process payment.reported" in names:
            break
        await asyncio.sleep(0.05)
    assert len(traces) == 1, f"{len(traces)} traces for one request"
    (trace_id,) = traces
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def _assert_one_tree_from_ingress_to_the_bank(journey: list[ReadableSpan]) -> None:
    ids = {s.context.span_id for s in journey}
    roots = [s for s in journey if s.parent is None or s.parent.span_id not in ids]
    assert [(r.kind, r.name) for r in roots] == [
        (SpanKind.SERVER, "POST /v1/erp/{vendor}/invoices")
    ]
    by_id = {s.context.span_id: s for s in journey}
    for hop in HOPS:
        producers = [s for s in journey if s.name == f"send {hop}"]
        consumers = [s for s in journey if s.name == f"process {hop}"]
        assert producers, f"no send span for {hop}"
        assert consumers, f"no process span for {hop}"
        for consumer in consumers:
            parent = by_id[consumer.parent.span_id]
            assert (parent.kind, parent.name) == (SpanKind.PRODUCER, f"send {hop}")
    writes = [s for s in journey if s.name == "INSERT outbox"]
    assert writes, "no database span"  # the ingress's transaction, at least
    assert all(by_id[s.parent.span_id].kind != SpanKind.CLIENT for s in writes)
    peers = {s.attributes.get("factorhub.peer") for s in journey if s.kind == SpanKind.CLIENT}
    assert {"registry", "bank"} <= peers
    bank_calls = [s for s in journey if s.attributes.get("factorhub.peer") == "bank"]
    assert all(by_id[s.parent.span_id].name == "process disbursement.requested" for s in bank_calls)


def _assert_no_secret(journey: list[ReadableSpan], secrets: list[str]) -> None:
    dumped = json.dumps(
        [
            {
                "attributes": dict(s.attributes or {}),
                "events": [dict(e.attributes or {}) for e in s.events],
                "status": s.status.description,
            }
            for s in journey
        ],
        default=str,
        ensure_ascii=False,
    )
    for secret in secrets:
        assert secret not in dumped


def _settings(tmp_path, sims, **changes) -> Settings:
    """A hub on SQLite with the simulated registry and bank, quick retries."""
    return replace(
        Settings.from_env({}),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        registry_url=sims["registry"].base_url,
        bank_url=sims["bank"].base_url,
        retry=RetryPolicy(attempts=4, initial=0.05, maximum=0.5),
        http_timeout=5.0,
        **changes,
    )


async def _accepted_by_a_hub_that_does_not_consume(settings: Settings, companies, seed) -> str:
    """One push accepted by an ingress-only embedded hub: its rows wait in the outbox for the
    hub's next life (the embedded transport dispatches only to consumers of its own)."""
    async with Hub(replace(settings, broker_url=None), consume=False) as ingress_only:
        await open_facilities(
            ingress_only.units, facility_terms(companies.sellers, one_small=False)
        )
        async with running_ingress(ingress_only) as url:
            return await _push_one(url, companies, seed)


async def test_one_request_is_one_connected_trace_from_the_erp_push_to_the_banks_acceptance(
    tmp_path, spans
):
    async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") as stack:
        request_id = await _push_one(stack.ingress_url, stack.companies, SEED + 31)
        counts = await stack.settle(1)
        assert counts.total == 1
        journey = await _journey(spans, request_id)
    _assert_one_tree_from_ingress_to_the_bank(journey)
    accounts = [c.bank_account for c in stack.companies.sellers + stack.companies.buyers]
    _assert_no_secret(journey, accounts)


async def test_the_trace_goes_on_when_the_hub_publishes_the_outbox_after_a_restart(tmp_path, spans):
    companies = generate_companies(SEED, sellers=4, buyers=8)
    async with running_simulators(["registry", "bank"], seed=SEED) as sims:
        settings = _settings(tmp_path, sims)
        request_id = await _accepted_by_a_hub_that_does_not_consume(settings, companies, SEED + 32)
        assert not [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
        async with Hub(settings) as hub:  # restarted: the embedded transport re-dispatches
            await Stack(hub=hub, ingress_url="", sims=sims, companies=companies).settle(1)
            journey = await _journey(spans, request_id)
    _assert_one_tree_from_ingress_to_the_bank(journey)


async def test_messaging_spans_follow_the_current_conventions(tmp_path, spans):
    async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") as stack:
        request_id = await _push_one(stack.ingress_url, stack.companies, SEED + 33)
        await stack.settle(1)
        journey = await _journey(spans, request_id)
    for span in journey:
        attributes = dict(span.attributes or {})
        assert "messaging.operation" not in attributes  # the pre-1.26 names are gone
        assert "messaging.destination_publish.name" not in attributes
        if span.kind in (SpanKind.PRODUCER, SpanKind.CONSUMER):
            operation = "send" if span.kind == SpanKind.PRODUCER else "process"
            topic = attributes["messaging.destination.name"]
            assert span.name == f"{operation} {topic}"
            assert attributes["messaging.system"] == "embedded"
            assert attributes["messaging.operation.type"] == operation
            assert attributes["messaging.operation.name"] == operation
            assert attributes["messaging.message.id"]
            assert attributes["factorhub.request_id"] == request_id
            assert attributes["factorhub.tenant"]
        if span.kind == SpanKind.CONSUMER:
            assert attributes["messaging.consumer.group.name"]
        if span.kind == SpanKind.CLIENT and "db.system.name" in attributes:
            assert attributes["db.system.name"] == "sqlite"
            assert span.name == attributes["db.query.summary"]
            assert attributes["db.operation.name"] in {"BEGIN", "SELECT", "INSERT", "UPDATE"}
            assert "db.query.text" not in attributes  # values are business data
            assert "db.statement" not in attributes  # the pre-1.26 name
        elif span.kind == SpanKind.CLIENT:
            assert attributes["http.request.method"] in {"GET", "POST", "PUT"}
            assert attributes["server.address"]
            assert attributes["server.port"]
            assert "http.response.status_code" in attributes or "error.type" in attributes
    submitted = next(s for s in journey if s.name == "process financing.submitted")
    assert submitted.attributes["factorhub.invoice_number"]


async def test_the_local_store_keeps_the_trace_that_factorhub_trace_prints(tmp_path):
    store = LocalSpanStore()
    provider = TracerProvider()
    provider.add_span_processor(ScrubbingProcessor(store))
    with installed(provider):
        async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") as stack:
            await store.start(stack.hub.database.engine)
            request_id = await _push_one(stack.ingress_url, stack.companies, SEED + 34)
            await stack.settle(1)
            for _ in range(100):
                await store.flush()
                stored = await trace_spans(stack.hub.database.engine, request_id)
                if any(s.name == "process payment.reported" for s in stored):
                    break
                await asyncio.sleep(0.05)
            await store.aclose()
    (tree,) = render_trace(stored)
    assert len({s.trace_id for s in stored}) == 1
    assert tree.children
    ingress = tree.children[0]
    assert str(ingress.label).startswith("[bold]POST /v1/erp/{vendor}/invoices")
    assert "db statement(s)" in str(ingress.label)  # folded into the span that ran them
    assert not any("INSERT outbox" in str(child.label) for child in ingress.children)
    (detailed,) = render_trace(stored, statements=True)
    assert any("INSERT outbox" in str(c.label) for c in detailed.children[0].children)


BROKERS = [
    pytest.param("kafka", marks=pytest.mark.kafka),
    pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
]

DELIVERY_ATTRIBUTES = {
    "kafka": (
        "messaging.destination.partition.id",
        "messaging.kafka.offset",
        "messaging.kafka.message.key",
    ),
    "rabbitmq": (
        "messaging.rabbitmq.destination.routing_key",
        "messaging.rabbitmq.message.delivery_tag",
    ),
}


@pytest.fixture(params=BROKERS)
def broker_url(request, kafka_bootstrap, rabbit_url) -> str:
    return f"kafka://{kafka_bootstrap}" if request.param == "kafka" else rabbit_url


async def test_on_a_broker_the_trace_crosses_every_hop_after_a_restart_with_the_brokers_attributes(
    tmp_path, spans, broker_url
):
    """The first life only accepts (its rows wait in the outbox); the restarted hub's relay
    publishes them to the broker: the trace still starts at the ERP push."""
    companies = generate_companies(SEED, sellers=4, buyers=8)
    system = "kafka" if broker_url.startswith("kafka") else "rabbitmq"
    async with running_simulators(["registry", "bank"], seed=SEED) as sims:
        settings = _settings(tmp_path, sims, broker_namespace=f"trace{tmp_path.name[-12:]}.")
        request_id = await _accepted_by_a_hub_that_does_not_consume(settings, companies, SEED + 35)
        async with Hub(replace(settings, broker_url=broker_url)) as hub:
            await Stack(hub=hub, ingress_url="", sims=sims, companies=companies).settle(1)
            journey = await _journey(spans, request_id)
    _assert_one_tree_from_ingress_to_the_bank(journey)
    messaging = [s for s in journey if s.kind in (SpanKind.PRODUCER, SpanKind.CONSUMER)]
    assert {s.attributes["messaging.system"] for s in messaging} == {system}
    for span in messaging:
        if span.kind == SpanKind.CONSUMER:
            for name in DELIVERY_ATTRIBUTES[system]:
                assert name in span.attributes, (span.name, name)
    if system == "kafka":
        seller_keys = {s.attributes.get("messaging.kafka.message.key") for s in messaging}
        assert len(seller_keys) == 1  # keyed by the seller: one partition, in order
    else:
        assert all(
            s.attributes["messaging.rabbitmq.destination.routing_key"]
            == s.attributes["messaging.destination.name"]
            for s in messaging
        )


async def test_each_retried_partner_call_is_its_own_span_in_the_same_trace(tmp_path, spans):
    async with running_stack(
        f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        retry=RetryPolicy(attempts=40, initial=0.05, maximum=0.1),
    ) as stack:
        registry = stack.sims["registry"].admin_url
        async with httpx.AsyncClient(base_url=registry) as admin:
            failing = await admin.put("/faults", json={"error_rate": 1, "error_status": 503})
            assert failing.status_code == 200, failing.text
            request_id = await _push_one(stack.ingress_url, stack.companies, SEED + 36)
            for _ in range(200):
                failed = [
                    s
                    for s in spans.get_finished_spans()
                    if s.kind == SpanKind.CLIENT
                    and s.attributes.get("factorhub.peer") == "registry"
                    and s.attributes.get("http.response.status_code") == 503
                ]
                if len(failed) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert len(failed) >= 2, "the registry was not retried"
            assert (await admin.put("/faults", json={})).status_code == 200
        await stack.settle(1)
        journey = await _journey(spans, request_id)
    _assert_one_tree_from_ingress_to_the_bank(journey)
    by_id = {s.context.span_id: s for s in journey}
    calls = [s for s in journey if s.attributes.get("factorhub.peer") == "registry"]
    errors = [s for s in calls if s.status.status_code.name == "ERROR"]
    successes = [s for s in calls if s.status.status_code.name != "ERROR"]
    assert len(errors) >= len(failed) >= 2
    assert successes
    first, last = min(calls, key=lambda s: s.start_time), max(calls, key=lambda s: s.start_time)
    assert first in errors
    assert last in successes
    parents = {by_id[s.parent.span_id].name for s in calls}
    assert len(parents) == 1
    assert parents.pop().startswith("process ")


class _Alternating(RandomIdGenerator):
    """Trace ids whose low half falls below, then above, the 0.5 ratio sampler's bound: every
    other new trace is sampled, deterministically."""

    def __init__(self) -> None:
        self.count = 0

    def generate_trace_id(self) -> int:
        self.count += 1
        low = 1 if self.count % 2 else (1 << 63) + 1
        return (self.count << 64) | low


async def test_a_request_is_traced_whole_or_not_at_all_under_a_sampler(tmp_path):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        sampler=ParentBased(TraceIdRatioBased(0.5)), id_generator=_Alternating()
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with installed(provider):
        async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") as stack:
            ids = [
                await _push_one(stack.ingress_url, stack.companies, SEED + 40 + n) for n in range(4)
            ]
            await stack.settle(len(ids))
            async with stack.hub.units() as uow:
                rows = (await uow.session.execute(select(OutboxRow.payload))).scalars().all()
            sampled = [
                r
                for r in ids
                if any(
                    s.attributes.get("factorhub.request_id") == r
                    for s in exporter.get_finished_spans()
                )
            ]
            assert len(sampled) == 2  # every other trace
            for request_id in sampled:
                _assert_one_tree_from_ingress_to_the_bank(await _journey(exporter, request_id))
    traced_ids = {s.context.trace_id for s in exporter.get_finished_spans()}
    for request_id in set(ids) - set(sampled):
        envelopes = [Envelope.model_validate_json(p) for p in rows]
        parents = {
            e.headers.get("traceparent") for e in envelopes if e.correlation_id == request_id
        }
        assert len(parents) == 1  # one context, carried unchanged through every hop
        (parent,) = parents
        assert not int(parent.rsplit("-", 1)[1], 16) & 1, parent  # sampled flag off, for all
        assert int(parent.split("-")[1], 16) not in traced_ids
