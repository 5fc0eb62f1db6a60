"""HTTP spans: the ingress's SERVER span (an ASGI middleware) and a CLIENT span per outbound
httpx request (a transport wrapper, so every retry and every status query is its own span).

Names and attributes follow the stable HTTP conventions: `{method} {http.route}` for the
server, `{method}` for the client; `http.request.method`, `url.path`/`url.full` (no query:
it can carry identifiers), `http.route`, `server.address`, `server.port`,
`http.response.status_code`, `error.type`. The client injects `traceparent` so a partner that
traces joins the trace; the server continues a `traceparent` an ERP sends.

The client transport also records each request's duration (`http.client.request.duration`, by
peer) once `metered` gives it the hub's instruments, whether tracing is on or not. Scrapes of
`/metrics` get no SERVER span: one every few seconds would bury the requests worth reading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from time import perf_counter
from typing import Any

import httpx
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span

from observability.metrics import HttpMeter, Metrics
from observability.tracing import current

__all__ = ["TracedHttpTransport", "TracingMiddleware", "metered", "traced_client"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SCRAPED = "/metrics"


class TracingMiddleware:
    """Pure ASGI middleware: one SERVER span per HTTP request while tracing is on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = current()
        if tracer is None or scope["type"] != "http" or scope["path"] == _SCRAPED:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        server = scope.get("server") or ("", 0)
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with tracer.start_as_current_span(
            method,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
                "server.address": str(server[0]),
                "server.port": int(server[1] or 0),
            },
            record_exception=True,
            set_status_on_exception=True,
        ) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")
                if status:
                    span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_attribute("error.type", str(status))
                    span.set_status(Status(StatusCode.ERROR))


class TracedHttpTransport(httpx.AsyncBaseTransport):
    """Wraps an httpx transport: one CLIENT span per request sent (tracing on), and its
    duration in `http.client.request.duration` (with a meter: always, tracing or not)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, system: str) -> None:
        self.inner = inner
        self.system = system
        self.meter: HttpMeter | None = None
        """Set by `metered`: the hub's instruments for this peer."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        tracer = current()
        if tracer is None:
            return await self._send(request)
        ambient = get_current_span().get_span_context()
        if ambient.is_valid and not ambient.trace_flags.sampled:  # a trace the sampler dropped
            propagate.inject(request.headers)  # the partner learns it is not sampled either
            return await self._send(request)
        url = request.url
        with tracer.start_as_current_span(
            request.method,
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": request.method,
                "url.full": f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}",
                "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80),
                "factorhub.peer": self.system,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            propagate.inject(request.headers)
            try:
                response = await self._send(request)
            except Exception as error:
                span.set_attribute("error.type", type(error).__name__)
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_attribute("error.type", str(response.status_code))
                span.set_status(Status(StatusCode.ERROR))
            return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        meter = self.meter
        if meter is None:
            return await self.inner.handle_async_request(request)
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        started = perf_counter()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as error:
            elapsed = perf_counter() - started
            meter.record(elapsed, method=request.method, host=url.host, port=port, error=error)
            raise
        elapsed = perf_counter() - started
        status = response.status_code
        meter.record(elapsed, method=request.method, host=url.host, port=port, status=status)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def traced_client(client: httpx.AsyncClient, system: str) -> httpx.AsyncClient:
    """`client`, its requests sent through a `TracedHttpTransport` (a span only while tracing
    is on: the wrapper is installed always, so tracing can be switched on later)."""
    inner = client._transport
    if not isinstance(inner, TracedHttpTransport):
        client._transport = TracedHttpTransport(inner, system=system)
    return client


def metered(client: httpx.AsyncClient, metrics: Metrics) -> httpx.AsyncClient:
    """`client` (made by `traced_client`), the duration of each of its requests recorded in
    `metrics` under its peer's name."""
    transport = client._transport
    if not isinstance(transport, TracedHttpTransport):
        raise TypeError("metered() needs a client made by traced_client()")
    transport.meter = metrics.http_client(transport.system)
    return client
