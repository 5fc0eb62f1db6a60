"""Optional OpenTelemetry tracing of the simulators: spans of their own, joined to the hub's.

Configured by the standard OTEL_* variables only (the simulators never read the hub's
settings), once per process by `python -m simulators up` (`export_settings`, `configured`):

| variable | meaning | default |
|---|---|---|
| OTEL_EXPORTER_OTLP_ENDPOINT | the collector (`_TRACES_ENDPOINT` wins); set: on | unset: off |
| OTEL_TRACES_EXPORTER | `otlp`, `console` or `none`; `otlp`/`console`: on | otlp |
| OTEL_EXPORTER_OTLP_PROTOCOL | `grpc` or `http/protobuf` (`_TRACES_PROTOCOL` wins) | grpc |
| OTEL_SERVICE_NAME | the resource's `service.name` | factorhub-simulators |
| OTEL_SDK_DISABLED | `true`: off, whatever the rest says | false |

The rest (headers, timeouts, OTEL_RESOURCE_ATTRIBUTES, the sampler) the SDK reads itself.

Every simulator app gets `TracingMiddleware` (`simulators.common.admin.install`): one SERVER
span per business request, continuing the `traceparent` the hub sends, named
`{method} {route}`; a fault the simulator injects is an event on it (`fault_injected`), and a
callback it sends is a CLIENT span per attempt (`callback_span`) whose `traceparent` the hub's
ingress continues. With no tracer installed every hook costs one `None` check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.context import get_current as current_context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, get_current_span
from opentelemetry.trace import TracerProvider as AnyTracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "CallbackAttempt",
    "TraceExport",
    "TracingMiddleware",
    "callback_span",
    "configured",
    "current",
    "export_settings",
    "fault_injected",
    "install",
    "installed",
    "parent_context",
    "span_exporter",
    "tracer_provider",
]

DEFAULT_SERVICE_NAME = "factorhub-simulators"
_TRACER_NAME = "factorhub.simulators"
_tracer: Tracer | None = None

OtlpProtocol = Literal["grpc", "http/protobuf"]
_PROTOCOLS: tuple[OtlpProtocol, ...] = ("grpc", "http/protobuf")


@dataclass(frozen=True, kw_only=True)
class TraceExport:
    """Where the simulators' spans go; `export_settings` reads it from the environment."""

    exporter: Literal["otlp", "console"] = "otlp"
    protocol: OtlpProtocol = "grpc"
    endpoint: str | None = None
    """The exporter's URL as given to it (HTTP: already ending in /v1/traces); None: its own
    default (localhost)."""
    service_name: str = DEFAULT_SERVICE_NAME


def export_settings(env: Mapping[str, str]) -> TraceExport | None:
    """The OTEL_* variables read; None: tracing off. A value the SDK would not accept raises
    ValueError naming the variable."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    traces_endpoint = _first(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base_endpoint = _first(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none" or (not exporter and not (traces_endpoint or base_endpoint)):
        return None
    if exporter not in ("", "otlp", "console"):
        raise ValueError(f"OTEL_TRACES_EXPORTER: {exporter!r} is not otlp, console or none")
    protocol = (
        _first(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    ).lower()
    if protocol not in _PROTOCOLS:
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not grpc or http/protobuf")
    endpoint = traces_endpoint or base_endpoint
    if protocol == "http/protobuf" and not traces_endpoint and base_endpoint:
        endpoint = base_endpoint.rstrip("/") + "/v1/traces"  # the signal's path, as specified
    return TraceExport(
        exporter="console" if exporter == "console" else "otlp",
        protocol="http/protobuf" if protocol == "http/protobuf" else "grpc",
        endpoint=endpoint,
        service_name=env.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME,
    )


def span_exporter(settings: TraceExport) -> SpanExporter:
    """The exporter `settings` names, constructed (nothing is sent until spans end)."""
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter(endpoint=settings.endpoint)


def tracer_provider(settings: TraceExport) -> TracerProvider:
    """A provider batching every span to `settings`' exporter."""
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(span_exporter(settings)))
    return provider


@contextlib.contextmanager
def configured(settings: TraceExport | None) -> Iterator[TracerProvider | None]:
    """Tracing to `settings` (`export_settings(os.environ)`), installed for the duration; on
    exit the spans still queued are flushed. Yields the provider, or None when tracing is off
    (nothing is installed)."""
    if settings is None:
        yield None
        return
    provider = tracer_provider(settings)
    install(provider)
    try:
        yield provider
    finally:
        install(None)
        provider.shutdown()


def current() -> Tracer | None:
    """The installed tracer, or None: tracing is off and every hook does nothing."""
    return _tracer


def install(provider: AnyTracerProvider | None) -> None:
    """Trace the simulators through `provider` (None: stop). Tests install an in-memory one."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer(_TRACER_NAME)


@contextlib.contextmanager
def installed(provider: AnyTracerProvider) -> Iterator[None]:
    """`provider` installed for the duration (tests)."""
    install(provider)
    try:
        yield
    finally:
        install(None)


class TracingMiddleware:
    """Pure ASGI: one SERVER span per business request (never /admin) while tracing is on."""

    def __init__(self, app: ASGIApp, *, simulator: str) -> None:
        self.app = app
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = _tracer
        if tracer is None or scope["type"] != "http" or _is_admin(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        path = str(scope.get("path", ""))
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer.start_as_current_span(
            f"{method} {path}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": path,
                "url.scheme": str(scope.get("scheme", "http")),
                "factorhub.simulator": self.simulator,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, sending)
            except Exception as error:
                # The answer never completed: a fault broke the connection, or the app failed.
                span.set_attribute("error.type", type(error).__name__)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            finally:
                _name_by_route(span, scope, method)
            if status:
                span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(Status(StatusCode.ERROR))


def fault_injected(kind: str, **attributes: str | int | float) -> None:
    """Mark the current request's span: the simulator injected `kind` (error, reset, ...)."""
    if _tracer is None:
        return
    event: dict[str, str | int | float] = {"factorhub.fault.kind": kind}
    event.update({f"factorhub.fault.{key}": value for key, value in attributes.items()})
    get_current_span().add_event("fault.injected", event)


def parent_context() -> Context | None:
    """The context a callback sent now is a child of (None: tracing off)."""
    return None if _tracer is None else current_context()


class CallbackAttempt:
    """One callback attempt as its CLIENT span sees it; `headers` carry the span to the hub.
    With tracing off there is no span, no header, and every call does nothing."""

    def __init__(self, span: Span | None = None, headers: Mapping[str, str] | None = None) -> None:
        self.span = span
        self.headers: dict[str, str] = dict(headers or {})

    def answered(self, status: int, *, acknowledged: bool) -> None:
        if self.span is None:
            return
        self.span.set_attribute("http.response.status_code", status)
        self.span.set_attribute("factorhub.callback.acknowledged", acknowledged)
        if status >= 400:
            self.span.set_attribute("error.type", str(status))
            self.span.set_status(Status(StatusCode.ERROR))

    def failed(self, error: BaseException) -> None:
        if self.span is None:
            return
        self.span.set_attribute("error.type", type(error).__name__)
        self.span.record_exception(error)
        self.span.set_status(Status(StatusCode.ERROR, type(error).__name__))


@contextlib.contextmanager
def callback_span(
    url: str, *, simulator: str, attempt: int, parent: Context | None
) -> Iterator[CallbackAttempt]:
    """One callback attempt: a CLIENT span, child of `parent` (the request that caused the
    callback), whose `traceparent` the attempt sends, so the hub's ingress continues the trace."""
    tracer = _tracer
    if tracer is None:
        yield CallbackAttempt()
        return
    target = urlsplit(url)
    host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    attributes: dict[str, Any] = {
        "http.request.method": "POST",
        "url.full": f"{target.scheme}://{host}:{port}{target.path}",  # no query, no userinfo
        "server.address": host,
        "server.port": port,
        "factorhub.simulator": simulator,
        "factorhub.callback.attempt": attempt,
    }
    with tracer.start_as_current_span(
        "POST",
        context=parent,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        yield CallbackAttempt(span, headers)


def _name_by_route(span: Span, scope: Scope, method: str) -> None:
    """`{method} {route}` once the router has matched (a path template, no identifiers)."""
    route = getattr(scope.get("route"), "path", None)
    if route:
        span.set_attribute("http.route", route)
        span.update_name(f"{method} {route}")


def _is_admin(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None
