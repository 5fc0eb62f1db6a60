"""The hub's metrics render as Prometheus text that the reference parser reads, with the
convention names, types and labels; each hub keeps its own figures."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from observability.http import TracingMiddleware, metered, traced_client
from observability.metrics import (
    CONTENT_TYPE,
    DatabaseFigures,
    MeteredPublisher,
    Metrics,
    metrics_app,
    serving,
)
from observability.tracing import installed

ROUTE = {
    "messaging_system": "embedded",
    "messaging_destination_name": "financing.submitted",
    "messaging_consumer_group_name": "match-documents",
    "messaging_operation_name": "process",
}


async def _parsed(metrics: Metrics) -> dict[str, tuple[str, list[Sample]]]:
    """Family name -> (type, samples), read back with prometheus_client's own parser."""
    text = (await metrics.render()).decode()
    return {f.name: (f.type, list(f.samples)) for f in text_string_to_metric_families(text)}


def _value(
    families: dict[str, tuple[str, list[Sample]]], sample: str, **labels: str
) -> float | None:
    """The value of the one sample named `sample` whose labels include `labels`."""
    family = sample
    for suffix in ("_total", "_count", "_sum", "_bucket"):
        family = family.removesuffix(suffix)
    found = [
        s.value
        for s in families.get(family, ("", []))[1]
        if s.name == sample and labels.items() <= s.labels.items()
    ]
    assert len(found) <= 1, f"{sample}{labels}: {len(found)} samples"
    return found[0] if found else None


def _route(metrics: Metrics):
    return metrics.route(system="embedded", topic="financing.submitted", group="match-documents")


class TestRouteInstruments:
    async def test_a_batch_records_one_duration_and_adds_its_size_to_the_consumed_count(self):
        metrics = Metrics()
        meter = _route(metrics)
        meter.handled(40, 0.02)
        meter.handled(2, 0.3)
        families = await _parsed(metrics)
        assert families["messaging_process_duration_seconds"][0] == "histogram"
        duration = "messaging_process_duration_seconds"
        assert _value(families, f"{duration}_count", **ROUTE) == 2
        assert _value(families, f"{duration}_sum", **ROUTE) == pytest.approx(0.32)
        bucket = {**ROUTE, "le": "0.025"}
        assert _value(families, "messaging_process_duration_seconds_bucket", **bucket) == 1
        assert families["messaging_client_consumed_messages"][0] == "counter"
        assert _value(families, "messaging_client_consumed_messages_total", **ROUTE) == 42

    async def test_failures_and_retries_are_counted_by_route_and_error_type(self):
        metrics = Metrics()
        meter = _route(metrics)
        meter.failed(TimeoutError("registry"))
        meter.failed(TimeoutError("registry"))
        meter.failed(LookupError("bad type"))
        meter.retried(2)
        meter.handled(3, 1.5, LookupError("bad type"))
        families = await _parsed(metrics)
        errors = "factorhub_route_errors_total"
        assert _value(families, errors, **ROUTE, error_type="TimeoutError") == 2
        assert _value(families, errors, **ROUTE, error_type="LookupError") == 1
        assert _value(families, "factorhub_retries_total", **ROUTE) == 2
        failed = {**ROUTE, "error_type": "LookupError"}
        assert _value(families, "messaging_process_duration_seconds_count", **failed) == 1


class TestPublishes:
    async def test_messages_are_counted_per_topic_and_a_one_topic_publish_names_it(self):
        metrics = Metrics()
        sent: list[list[tuple[str, object]]] = []

        class Transport:
            name = "kafka"

            async def publish(self, messages):
                sent.append(list(messages))

        publisher = MeteredPublisher(Transport(), metrics.publishes("kafka"))
        await publisher.publish([("financing.matched", 1), ("financing.matched", 2)])
        await publisher.publish([("financing.matched", 3), ("risk.early-warning", 4)])
        families = await _parsed(metrics)
        assert len(sent) == 2
        send = {"messaging_system": "kafka", "messaging_operation_name": "send"}
        matched = {**send, "messaging_destination_name": "financing.matched"}
        count = "messaging_client_operation_duration_seconds_count"
        assert _value(families, "messaging_client_sent_messages_total", **matched) == 3
        warning = {**send, "messaging_destination_name": "risk.early-warning"}
        assert _value(families, "messaging_client_sent_messages_total", **warning) == 1
        assert _value(families, count, **matched) == 1
        assert _value(families, count, **send, messaging_destination_name="") == 1  # two topics

    async def test_a_failed_publish_is_recorded_with_its_error_and_still_raised(self):
        metrics = Metrics()

        class Broken:
            name = "rabbitmq"

            async def publish(self, messages):
                raise ConnectionError("broker gone")

        publisher = MeteredPublisher(Broken(), metrics.publishes("rabbitmq"))
        with pytest.raises(ConnectionError):
            await publisher.publish([("payment.reported", 1)])
        families = await _parsed(metrics)
        failed = {"messaging_destination_name": "payment.reported", "error_type": "ConnectionError"}
        assert _value(families, "messaging_client_sent_messages_total", **failed) == 1
        count = "messaging_client_operation_duration_seconds_count"
        assert _value(families, count, **failed) == 1


class TestPartnerCalls:
    async def test_each_call_is_timed_by_peer_and_status_with_tracing_off(self):
        metrics = Metrics()

        def answer(request: httpx.Request) -> httpx.Response:
            return httpx.Response(503 if request.url.path == "/busy" else 200)

        client = traced_client(
            httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://bank:8102"),
            "bank",
        )
        async with metered(client, metrics):
            await client.post("/iso20022/pain.001")
            await client.get("/busy")
        families = await _parsed(metrics)
        call = {"factorhub_peer": "bank", "server_address": "bank", "server_port": "8102"}
        count = "http_client_request_duration_seconds_count"
        ok = {**call, "http_request_method": "POST", "http_response_status_code": "200"}
        assert _value(families, count, **ok) == 1
        assert _value(families, count, **ok, error_type="") == 1
        busy = {**call, "http_response_status_code": "503", "error_type": "503"}
        assert _value(families, count, **busy) == 1

    async def test_a_call_without_an_answer_is_timed_with_its_error_and_traced(self):
        metrics = Metrics()

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        client = traced_client(
            httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://registry"),
            "registry",
        )
        with installed(provider):
            async with metered(client, metrics):
                with pytest.raises(httpx.ConnectError):
                    await client.post("/upload")
        families = await _parsed(metrics)
        failed = {"factorhub_peer": "registry", "error_type": "ConnectError", "server_port": "80"}
        assert _value(families, "http_client_request_duration_seconds_count", **failed) == 1
        (span,) = exporter.get_finished_spans()
        assert span.attributes is not None
        assert span.attributes["error.type"] == "ConnectError"

    def test_only_a_client_made_by_traced_client_can_be_metered(self):
        with pytest.raises(TypeError):
            metered(httpx.AsyncClient(), Metrics())


class TestDatabaseGauges:
    async def test_the_figures_are_read_right_before_each_render(self):
        reads: list[int] = []

        async def refresh() -> DatabaseFigures:
            reads.append(len(reads))
            return DatabaseFigures(
                unpublished=len(reads),
                oldest_unpublished_seconds=2.5,
                dead_letters={"register-receivable": 1, "match-documents": 0},
                applications={"DISBURSED": 7, "SUBMITTED": 0},
            )

        metrics = Metrics(refresh=refresh)
        first = await _parsed(metrics)
        second = await _parsed(metrics)
        assert reads == [0, 1]
        assert _value(first, "factorhub_outbox_unpublished") == 1
        assert _value(second, "factorhub_outbox_unpublished") == 2
        assert second["factorhub_outbox_lag_seconds"][0] == "gauge"
        assert _value(second, "factorhub_outbox_lag_seconds") == 2.5
        group = "messaging_consumer_group_name"
        assert _value(second, "factorhub_dead_letters", **{group: "register-receivable"}) == 1
        assert _value(second, "factorhub_dead_letters", **{group: "match-documents"}) == 0
        assert _value(second, "factorhub_applications", factorhub_state="DISBURSED") == 7
        assert _value(second, "factorhub_applications", factorhub_state="SUBMITTED") == 0

    async def test_an_unreadable_database_drops_the_gauges_but_not_the_scrape(self):
        async def refresh() -> DatabaseFigures:
            raise ConnectionError("database gone")

        metrics = Metrics(refresh=refresh)
        _route(metrics).handled(1, 0.01)
        families = await _parsed(metrics)
        assert _value(families, "messaging_client_consumed_messages_total", **ROUTE) == 1
        assert "factorhub_applications" not in families
        assert "factorhub_outbox_unpublished" not in families


class TestOneHubsMetrics:
    async def test_two_hubs_in_one_process_keep_their_own_figures(self):
        one, other = Metrics(), Metrics()
        _route(one).handled(5, 0.01)
        assert _value(await _parsed(one), "messaging_client_consumed_messages_total", **ROUTE) == 5
        other_families = await _parsed(other)
        assert _value(other_families, "messaging_client_consumed_messages_total", **ROUTE) is None

    async def test_the_resource_names_the_service(self):
        metrics = Metrics(resource={"service.name": "factorhub-eu", "deployment": "qa"})
        _route(metrics).handled(1, 0.01)
        families = await _parsed(metrics)
        assert _value(families, "target_info", service_name="factorhub-eu", deployment="qa") == 1

    async def test_after_shutdown_nothing_is_rendered(self):
        metrics = Metrics()
        _route(metrics).handled(1, 0.01)
        metrics.shutdown()
        assert await metrics.render() == b""


class TestServing:
    async def test_the_bare_app_answers_get_metrics_in_the_text_format_and_404_elsewhere(self):
        metrics = Metrics()
        _route(metrics).handled(3, 0.01)
        transport = httpx.ASGITransport(app=metrics_app(metrics))
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            answer = await client.get("/metrics")
            missing = await client.get("/")
            head = await client.head("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == CONTENT_TYPE
        assert "messaging_client_consumed_messages_total" in answer.text
        assert missing.status_code == 404
        assert head.status_code == 200
        assert head.content == b""

    async def test_serving_listens_on_a_port_until_the_block_ends(self):
        metrics = Metrics()
        async with serving(metrics) as url, httpx.AsyncClient() as client:
            answer = await client.get(f"{url}/metrics")
            assert answer.status_code == 200
        async with httpx.AsyncClient() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{url}/metrics")

    async def test_scrapes_get_no_server_span_but_other_requests_do(self):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        transport = httpx.ASGITransport(app=TracingMiddleware(app))
        with installed(provider):
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
                await client.get("/metrics")
                await client.get("/healthz")
        assert [s.attributes["url.path"] for s in exporter.get_finished_spans()] == ["/healthz"]
