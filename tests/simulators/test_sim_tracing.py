"""The simulators' own spans: a SERVER span per request continuing the hub's trace, faults as
events, callbacks as CLIENT spans the hub continues, and OTEL_* driven set-up (constructed,
never sent). With no tracer installed nothing is recorded and nothing changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from observability import tracing as hub_tracing
from observability.http import traced_client
from simulators import bank, cli, runner
from simulators.common import tracing
from simulators.common.tracing import TraceExport, export_settings, installed, span_exporter
from simulators.runner import SIMULATORS, running_simulators
from tests.simulators.conftest import asgi_client
from tests.simulators.sim_pain001 import one

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
PARENT_ID = 0xB7AD6B7169203331
TRACEPARENT = {"traceparent": f"00-{TRACE_ID:032x}-{PARENT_ID:016x}-01"}
XML = {"Content-Type": "application/xml"}


@contextlib.contextmanager
def _recording() -> Iterator[InMemorySpanExporter]:
    """The simulators traced into memory, synchronously, for the duration."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with installed(provider):
        yield exporter
    provider.shutdown()


def _servers(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


class TestServerSpans:
    async def test_a_request_with_a_traceparent_is_a_server_span_continuing_the_callers_trace(
        self,
    ):
        with _recording() as exporter:
            async with asgi_client(bank.create_app(seed=1)) as client:
                answer = await client.get("/iso20022/payments/E2E-404", headers=TRACEPARENT)

        assert answer.status_code == 404
        [span] = _servers(exporter)
        assert span.context is not None
        assert span.parent is not None
        assert span.context.trace_id == TRACE_ID
        assert (span.parent.span_id, span.parent.is_remote) == (PARENT_ID, True)
        assert span.name == "GET /iso20022/payments/{end_to_end_id:path}"
        assert _attributes(span) == {
            "http.request.method": "GET",
            "url.path": "/iso20022/payments/E2E-404",
            "url.scheme": "http",
            "factorhub.simulator": "bank",
            "http.route": "/iso20022/payments/{end_to_end_id:path}",
            "http.response.status_code": 404,
        }
        assert span.status.status_code is StatusCode.UNSET

    async def test_a_request_without_a_traceparent_starts_a_trace_of_its_own(self):
        with _recording() as exporter:
            async with asgi_client(bank.create_app(seed=1)) as client:
                await client.get("/iso20022/payments/E2E-404")

        [span] = _servers(exporter)
        assert span.parent is None
        assert span.context is not None
        assert span.context.trace_id != TRACE_ID

    @pytest.mark.parametrize("name", sorted(SIMULATORS))
    async def test_every_simulator_traces_its_requests_under_its_own_name(self, name: str):
        with _recording() as exporter:
            async with asgi_client(SIMULATORS[name](1)) as client:
                await client.get("/no-such-path", headers=TRACEPARENT)

        [span] = _servers(exporter)
        assert span.name == "GET /no-such-path"  # nothing matched: named by its path
        assert _attributes(span)["factorhub.simulator"] == name
        assert span.context is not None
        assert span.context.trace_id == TRACE_ID

    async def test_admin_requests_are_not_traced(self):
        with _recording() as exporter:
            async with asgi_client(bank.create_app(seed=1)) as client:
                await client.get("/admin/state", headers=TRACEPARENT)
                await client.put("/admin/faults", json={"error_rate": 0}, headers=TRACEPARENT)

        assert exporter.get_finished_spans() == ()


class TestFaultEvents:
    @pytest.mark.parametrize(
        ("faults", "status", "event"),
        [
            (
                {"error_rate": 1, "error_status": 503, "latency_ms": 5},
                503,
                {"factorhub.fault.kind": "error", "factorhub.fault.status": 503},
            ),
            ({"lose_answer_rate": 1}, 504, {"factorhub.fault.kind": "lose_answer"}),
        ],
        ids=["error", "lost-answer"],
    )
    async def test_an_injected_fault_is_an_event_on_the_failed_requests_span(
        self, faults: dict[str, Any], status: int, event: dict[str, Any]
    ):
        with _recording() as exporter:
            async with asgi_client(bank.create_app(seed=1)) as client:
                await client.put("/admin/faults", json=faults)
                answer = await client.get("/iso20022/payments/E2E-1", headers=TRACEPARENT)

        assert answer.status_code == status
        [span] = _servers(exporter)
        assert _attributes(span)["http.response.status_code"] == status
        assert _attributes(span)["error.type"] == str(status)
        assert span.status.status_code is StatusCode.ERROR
        [injected] = span.events
        assert injected.name == "fault.injected"
        assert event.items() <= dict(injected.attributes or {}).items()

    async def test_a_plain_delay_is_recorded_as_latency_on_a_successful_span(self):
        with _recording() as exporter:
            async with asgi_client(bank.create_app(seed=1)) as client:
                await client.put("/admin/faults", json={"latency_ms": 20})
                await client.get("/iso20022/payments/E2E-1")

        [span] = _servers(exporter)
        [injected] = span.events
        assert dict(injected.attributes or {}) == {
            "factorhub.fault.kind": "latency",
            "factorhub.fault.latency_ms": 20,
        }
        assert span.status.status_code is StatusCode.UNSET

    async def test_a_broken_connection_ends_the_span_with_the_error(self):
        with _recording() as exporter:
            transport = httpx.ASGITransport(app=bank.create_app(seed=1))
            async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
                await client.put("/admin/faults", json={"reset_rate": 1})
                with pytest.raises(Exception, match="injected connection reset"):
                    await client.get("/iso20022/payments/E2E-1")

        [span] = _servers(exporter)
        assert span.status.status_code is StatusCode.ERROR
        assert "http.response.status_code" not in _attributes(span)  # no answer completed
        assert [e.name for e in span.events] == ["fault.injected", "exception"]


class TestUntraced:
    async def test_with_no_tracer_installed_requests_record_nothing_and_answer_as_before(self):
        exporter = InMemorySpanExporter()
        provider = TracerProvider()  # built but never installed
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        assert tracing.current() is None

        async with asgi_client(bank.create_app(seed=1)) as client:
            found = await client.get("/iso20022/payments/E2E-1", headers=TRACEPARENT)
            await client.put("/admin/faults", json={"error_rate": 1, "error_status": 502})
            faulted = await client.get("/iso20022/payments/E2E-1", headers=TRACEPARENT)

        assert (found.status_code, faulted.status_code) == (404, 502)
        assert exporter.get_finished_spans() == ()

    def test_no_otel_variables_leave_tracing_off_and_install_nothing(self):
        assert export_settings({"FACTORHUB_OTEL_ENDPOINT": "http://otel-collector:4317"}) is None
        with tracing.configured(None) as provider:
            assert provider is None
            assert tracing.current() is None


class TestCallbacks:
    async def test_a_status_callback_is_a_client_span_whose_traceparent_the_receiver_gets(self):
        received: list[str | None] = []
        receiver = FastAPI()  # the hub's callback endpoint in miniature, failing once

        @receiver.post("/status")
        async def status(request: Request) -> Response:
            received.append(request.headers.get("traceparent"))
            return Response(status_code=500 if len(received) == 1 else 204)

        app = bank.create_app(seed=1)
        with _recording() as exporter:
            async with _served(receiver) as url, asgi_client(app) as client:
                await client.put("/admin/callbacks", json={"url": url, "retry_ms": 10})
                await client.post(
                    "/iso20022/pain.001",
                    content=one("MSG-1", "E2E-1", "100.00"),
                    headers={**XML, **TRACEPARENT},
                )
                await app.state.callbacks.drain()

        [server] = _servers(exporter)
        clients = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
        assert [_attributes(c)["factorhub.callback.attempt"] for c in clients] == [1, 2]
        assert [_attributes(c)["http.response.status_code"] for c in clients] == [500, 204]
        assert server.context is not None
        for client_span, traceparent in zip(clients, received, strict=True):
            assert client_span.context is not None
            assert client_span.parent is not None
            assert client_span.parent.span_id == server.context.span_id
            assert client_span.context.trace_id == TRACE_ID
            assert traceparent == f"00-{TRACE_ID:032x}-{client_span.context.span_id:016x}-01"

    async def test_an_untraced_callback_sends_no_traceparent(self):
        received: list[str | None] = []
        receiver = FastAPI()

        @receiver.post("/status")
        async def status(request: Request) -> Response:
            received.append(request.headers.get("traceparent"))
            return Response(status_code=204)

        app = bank.create_app(seed=1)
        async with _served(receiver) as url, asgi_client(app) as client:
            await client.put("/admin/callbacks", json={"url": url})
            await client.post(
                "/iso20022/pain.001",
                content=one("MSG-1", "E2E-1", "100.00"),
                headers={**XML, **TRACEPARENT},
            )
            await app.state.callbacks.drain()

        assert received == [None]


class TestWithTheHub:
    async def test_the_hubs_client_span_is_the_parent_of_the_simulators_server_span(self):
        hub_spans = InMemorySpanExporter()
        hub_provider = TracerProvider()
        hub_provider.add_span_processor(SimpleSpanProcessor(hub_spans))
        transport = httpx.ASGITransport(app=bank.create_app(seed=1))

        with _recording() as sim_spans, hub_tracing.installed(hub_provider):
            async with traced_client(
                httpx.AsyncClient(transport=transport, base_url="http://bank.test"), "bank"
            ) as client:
                await client.get("/iso20022/payments/E2E-1")

        [hub_client] = hub_spans.get_finished_spans()
        [sim_server] = _servers(sim_spans)
        assert hub_client.kind is SpanKind.CLIENT
        assert hub_client.context is not None
        assert sim_server.parent is not None
        assert sim_server.parent.span_id == hub_client.context.span_id
        assert sim_server.context is not None
        assert sim_server.context.trace_id == hub_client.context.trace_id


class TestEnvironment:
    def test_an_otlp_endpoint_alone_exports_over_grpc_to_it(self):
        settings = export_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317"})

        assert settings == TraceExport(
            exporter="otlp",
            protocol="grpc",
            endpoint="http://otel-collector:4317",
            service_name="factorhub-simulators",
        )
        assert isinstance(span_exporter(settings), GrpcExporter)

    def test_the_http_protocol_exports_to_the_endpoints_traces_path(self):
        settings = export_settings(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318/",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_SERVICE_NAME": "sims-under-test",
            }
        )

        assert settings is not None
        assert (settings.protocol, settings.endpoint, settings.service_name) == (
            "http/protobuf",
            "http://otel-collector:4318/v1/traces",
            "sims-under-test",
        )
        assert isinstance(span_exporter(settings), HttpExporter)

    def test_the_traces_variables_win_over_the_general_ones_and_are_used_as_given(self):
        settings = export_settings(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://elsewhere:4317",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otel-collector:4318/custom",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            }
        )

        assert settings is not None
        assert (settings.protocol, settings.endpoint) == (
            "http/protobuf",
            "http://otel-collector:4318/custom",
        )

    def test_an_otlp_exporter_without_an_endpoint_uses_the_exporters_default(self):
        settings = export_settings({"OTEL_TRACES_EXPORTER": "otlp"})

        assert settings == TraceExport(protocol="grpc", endpoint=None)

    @pytest.mark.parametrize(
        "env",
        [
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_TRACES_EXPORTER": "none"},
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_SDK_DISABLED": "TRUE"},
        ],
        ids=["exporter-none", "sdk-disabled"],
    )
    def test_tracing_can_be_switched_off_despite_an_endpoint(self, env: dict[str, str]):
        assert export_settings(env) is None

    @pytest.mark.parametrize(
        ("env", "variable"),
        [
            (
                {
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "h",
                },
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ],
        ids=["protocol", "exporter"],
    )
    def test_a_value_the_sdk_would_not_take_is_refused_naming_the_variable(
        self, env: dict[str, str], variable: str
    ):
        with pytest.raises(ValueError, match=variable):
            export_settings(env)

    def test_configured_installs_a_provider_named_by_the_service_and_flushes_it_on_exit(self):
        settings = TraceExport(endpoint="http://127.0.0.1:9", service_name="sims-under-test")

        with tracing.configured(settings) as provider:
            assert provider is not None
            assert tracing.current() is not None
            assert provider.resource.attributes["service.name"] == "sims-under-test"
        assert tracing.current() is None

    async def test_the_simulators_process_traces_when_the_environment_says_so(self, tmp_path):
        ports_file = tmp_path / "sims.json"
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "sims-env"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulators",
            "up",
            "--only",
            "bank",
            "--ports-file",
            str(ports_file),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            for _ in range(300):
                if ports_file.exists() or process.returncode is not None:
                    break
                await asyncio.sleep(0.05)
            bank_url = json.loads(ports_file.read_text())["bank"]["base_url"]
            async with httpx.AsyncClient(base_url=bank_url) as client:
                await client.get("/iso20022/payments/E2E-1", headers=TRACEPARENT)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 30)

        assert process.returncode == 0
        printed = output.decode()  # the console exporter's spans, flushed at exit
        assert f'"trace_id": "0x{TRACE_ID:032x}"' in printed
        assert '"name": "GET /iso20022/payments/{end_to_end_id:path}"' in printed
        assert '"service.name": "sims-env"' in printed

    def test_the_simulators_command_refuses_a_bad_otel_setting_before_starting(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ):
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")

        async def started(*args: object) -> None:
            raise AssertionError("the simulators started despite the bad setting")

        monkeypatch.setattr(cli, "up", started)

        with pytest.raises(SystemExit) as exited:
            cli.main(["up", "--only", "bank"])

        assert exited.value.code == 2
        assert "OTEL_EXPORTER_OTLP_PROTOCOL" in capsys.readouterr().err


@contextlib.asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a loopback port (callbacks need a real URL); yields its /status URL."""
    runner.SIMULATORS["trace-receiver"] = lambda seed: app
    try:
        async with running_simulators(["trace-receiver"]) as sims:
            yield f"{sims['trace-receiver'].base_url}/status"
    finally:
        del runner.SIMULATORS["trace-receiver"]
