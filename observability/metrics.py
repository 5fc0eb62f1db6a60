"""Metrics with the OpenTelemetry SDK, served as Prometheus text (`GET /metrics`).

Each `Metrics` is one hub's: its own MeterProvider and its own prometheus_client registry, so
several hubs in one process (the tests) never mix their figures. Names follow the OpenTelemetry
semantic conventions, durations in seconds; Prometheus shows dots as underscores, the unit as a
suffix (`_seconds`) and counters with `_total`.

- `messaging.process.duration` (histogram, s): one route consumer batch, from delivery to done
  (retries and their backoff included). messaging.system, messaging.destination.name,
  messaging.consumer.group.name, messaging.operation.name=process; `error.type` when some
  message of the batch failed for good.
- `messaging.client.consumed.messages` (counter): messages delivered to each route (the same
  attributes, no error.type): the route's throughput.
- `factorhub.route.errors` (counter): failed attempts to handle a message, per route and
  `error.type` (each failed retry counts).
- `factorhub.retries` (counter): messages a route tries again after a backoff.
- `messaging.client.operation.duration` (histogram, s): one publish to the transport.
  messaging.system, messaging.operation.name=send, messaging.destination.name (when the call
  carried one topic), error.type.
- `messaging.client.sent.messages` (counter): messages published, per topic (error.type when
  the publish failed).
- `http.client.request.duration` (histogram, s): each call to an external system, by
  `factorhub.peer` (registry, bank, bankcore, ecny, vat, credit), http.request.method,
  server.address, server.port, http.response.status_code, error.type.
- `factorhub.outbox.unpublished` (gauge): outbox rows not yet published;
  `factorhub.outbox.lag` (gauge, s): the age of the oldest of them (0: none).
- `factorhub.dead_letters` (gauge): dead letters not replayed, per
  messaging.consumer.group.name.
- `factorhub.applications` (gauge): applications in each `factorhub.state`.

The hot path records once per consumer batch and once per publish (a batch's size is added to
the counters), with attribute dicts bound once per route, topic or peer. The gauges come from
the database: `refresh` (the hub's query) runs right before each render, since the SDK's
observable callbacks are synchronous and only read what the last refresh left. Every process
of one hub database reports the same gauges: aggregate them with max, not sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from time import perf_counter
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, generate_latest

__all__ = [
    "CONTENT_TYPE",
    "DURATION_BUCKETS",
    "DatabaseFigures",
    "HttpMeter",
    "MeteredPublisher",
    "Metrics",
    "PublishMeter",
    "RouteMeter",
    "metrics_app",
    "serving",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text exposition format that `generate_latest` writes."""

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
"""Seconds: the boundaries the messaging and HTTP conventions advise for their durations."""

log = logging.getLogger("factorhub.metrics")

Attributes = dict[str, str | int]
_topic = itemgetter(0)
_Transport = Any  # hub.transport.base.Transport; observability imports nothing of the hub


@dataclass(frozen=True, kw_only=True)
class DatabaseFigures:
    """What the hub's database said at the last refresh: the gauges' values."""

    unpublished: int = 0
    oldest_unpublished_seconds: float = 0.0
    dead_letters: Mapping[str, int] = field(default_factory=dict)
    """Dead letters not replayed, per consumer group."""
    applications: Mapping[str, int] = field(default_factory=dict)
    """Applications per state."""


Refresh = Callable[[], Awaitable[DatabaseFigures]]


class Metrics:
    """One hub's MeterProvider, its instruments and its Prometheus rendering."""

    def __init__(
        self, *, resource: Mapping[str, str] | None = None, refresh: Refresh | None = None
    ) -> None:
        """`resource`: the resource attributes (`service.name`...); `refresh`: reads the
        database figures before each render (None: no database gauges)."""
        self.registry = CollectorRegistry()
        reader = PrometheusMetricReader(registry=self.registry, scope_info_enabled=False)
        self.provider = MeterProvider(
            metric_readers=[reader],
            resource=Resource.create(dict(resource or {"service.name": "factorhub"})),
            shutdown_on_exit=False,  # `shutdown` is called; no atexit hook per test hub
        )
        self._refresh = refresh
        self._figures: DatabaseFigures | None = None
        meter = self.provider.get_meter("factorhub")
        seconds = list(DURATION_BUCKETS)
        self.process_duration = meter.create_histogram(
            "messaging.process.duration",
            unit="s",
            description="Duration of one route consumer batch, delivery to done.",
            explicit_bucket_boundaries_advisory=seconds,
        )
        self.consumed = meter.create_counter(
            "messaging.client.consumed.messages",
            unit="{message}",
            description="Messages delivered to a route consumer.",
        )
        self.route_errors = meter.create_counter(
            "factorhub.route.errors",
            unit="{error}",
            description="Failed attempts to handle a message, by route and error type.",
        )
        self.retries = meter.create_counter(
            "factorhub.retries",
            unit="{message}",
            description="Messages a route tries again after a backoff.",
        )
        self.operation_duration = meter.create_histogram(
            "messaging.client.operation.duration",
            unit="s",
            description="Duration of one publish to the transport.",
            explicit_bucket_boundaries_advisory=seconds,
        )
        self.sent = meter.create_counter(
            "messaging.client.sent.messages",
            unit="{message}",
            description="Messages published, per topic.",
        )
        self.http_duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of one call to an external system (factorhub.peer).",
            explicit_bucket_boundaries_advisory=seconds,
        )
        meter.create_observable_gauge(
            "factorhub.outbox.unpublished",
            callbacks=[self._unpublished],
            unit="{message}",
            description="Outbox rows not yet published.",
        )
        meter.create_observable_gauge(
            "factorhub.outbox.lag",
            callbacks=[self._lag],
            unit="s",
            description="Age of the oldest outbox row not yet published (0: none).",
        )
        meter.create_observable_gauge(
            "factorhub.dead_letters",
            callbacks=[self._dead_letters],
            unit="{message}",
            description="Dead letters not replayed, per consumer group.",
        )
        meter.create_observable_gauge(
            "factorhub.applications",
            callbacks=[self._applications],
            unit="{application}",
            description="Financing applications in each state.",
        )

    def route(self, *, system: str, topic: str, group: str) -> RouteMeter:
        """The instruments of one route consumer."""
        return RouteMeter(
            self,
            {
                "messaging.system": system,
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": group,
                "messaging.operation.name": "process",
            },
        )

    def publishes(self, system: str) -> PublishMeter:
        """The instruments of the publishes to one transport."""
        return PublishMeter(self, system)

    def http_client(self, peer: str) -> HttpMeter:
        """The instruments of the calls to one external system."""
        return HttpMeter(self, peer)

    async def render(self) -> bytes:
        """Prometheus text of every instrument, the database figures read just now."""
        if self._refresh is not None:
            try:
                self._figures = await self._refresh()
            except Exception:  # the other figures are still worth a scrape
                log.warning("metrics: the database figures could not be read", exc_info=True)
                self._figures = None
        return generate_latest(self.registry)

    def shutdown(self) -> None:
        self.provider.shutdown()

    def _unpublished(self, _: CallbackOptions) -> Iterable[Observation]:
        figures = self._figures
        return () if figures is None else (Observation(figures.unpublished),)

    def _lag(self, _: CallbackOptions) -> Iterable[Observation]:
        figures = self._figures
        return () if figures is None else (Observation(figures.oldest_unpublished_seconds),)

    def _dead_letters(self, _: CallbackOptions) -> Iterable[Observation]:
        figures = self._figures
        if figures is None:
            return ()
        return [
            Observation(n, {"messaging.consumer.group.name": group})
            for group, n in sorted(figures.dead_letters.items())
        ]

    def _applications(self, _: CallbackOptions) -> Iterable[Observation]:
        figures = self._figures
        if figures is None:
            return ()
        return [
            Observation(n, {"factorhub.state": state})
            for state, n in sorted(figures.applications.items())
        ]


class RouteMeter:
    """One route consumer's instruments, its attributes bound once."""

    __slots__ = ("_attributes", "_failed", "_metrics")

    def __init__(self, metrics: Metrics, attributes: Attributes) -> None:
        self._metrics = metrics
        self._attributes = attributes
        self._failed: dict[str, Attributes] = {}

    def handled(self, count: int, seconds: float, error: BaseException | None = None) -> None:
        """A batch of `count` messages took `seconds`; `error`: what made some message of it
        fail for good. (Both instruments at once: the second record finds the SDK's code and
        data in the CPU caches, which in a busy hub makes it several times cheaper.)"""
        self._metrics.consumed.add(count, self._attributes)
        attributes = self._attributes if error is None else self._with_error(error)
        self._metrics.process_duration.record(seconds, attributes)

    def failed(self, error: BaseException) -> None:
        """One attempt to handle one message failed."""
        self._metrics.route_errors.add(1, self._with_error(error))

    def retried(self, count: int) -> None:
        self._metrics.retries.add(count, self._attributes)

    def _with_error(self, error: BaseException) -> Attributes:
        kind = type(error).__name__
        attributes = self._failed.get(kind)
        if attributes is None:
            attributes = self._failed[kind] = {**self._attributes, "error.type": kind}
        return attributes


class PublishMeter:
    """The instruments of the publishes to one transport, attributes bound per topic."""

    __slots__ = ("_bound", "_metrics", "_system")

    def __init__(self, metrics: Metrics, system: str) -> None:
        self._metrics = metrics
        self._system = system
        self._bound: dict[tuple[str | None, str | None], Attributes] = {}

    def published(
        self,
        messages: Sequence[tuple[str, object]],
        seconds: float,
        error: BaseException | None = None,
    ) -> None:
        """One publish of (topic, message) pairs took `seconds`."""
        if not messages:
            return
        counts = Counter(map(_topic, messages))  # counted in C, not per message in Python
        kind = None if error is None else type(error).__name__
        for topic, n in counts.items():
            self._metrics.sent.add(n, self._attributes(topic, kind))
        only = next(iter(counts)) if len(counts) == 1 else None
        self._metrics.operation_duration.record(seconds, self._attributes(only, kind))

    def _attributes(self, topic: str | None, kind: str | None) -> Attributes:
        attributes = self._bound.get((topic, kind))
        if attributes is None:
            attributes = {"messaging.system": self._system, "messaging.operation.name": "send"}
            if topic is not None:
                attributes["messaging.destination.name"] = topic
            if kind is not None:
                attributes["error.type"] = kind
            self._bound[(topic, kind)] = attributes
        return attributes


class HttpMeter:
    """The instruments of the calls to one external system."""

    __slots__ = ("_bound", "_metrics", "_peer")

    def __init__(self, metrics: Metrics, peer: str) -> None:
        self._metrics = metrics
        self._peer = peer
        self._bound: dict[tuple[str, str, int, int, str | None], Attributes] = {}

    def record(
        self,
        seconds: float,
        *,
        method: str,
        host: str,
        port: int,
        status: int = 0,
        error: BaseException | None = None,
    ) -> None:
        """A call took `seconds`: answered `status`, or failed with `error` (no answer)."""
        kind = type(error).__name__ if error is not None else None
        key = (method, host, port, status, kind)
        attributes = self._bound.get(key)
        if attributes is None:
            attributes = {
                "factorhub.peer": self._peer,
                "http.request.method": method,
                "server.address": host,
                "server.port": port,
            }
            if status:
                attributes["http.response.status_code"] = status
            if kind is not None or status >= 400:
                attributes["error.type"] = kind or str(status)
            self._bound[key] = attributes
        self._metrics.http_duration.record(seconds, attributes)


class MeteredPublisher:
    """A transport whose `publish` is measured (everything else delegated)."""

    def __init__(self, transport: _Transport, meter: PublishMeter) -> None:
        self.inner = transport
        self.name: str = transport.name
        self._meter = meter

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def publish(self, messages: Sequence[tuple[str, Any]]) -> None:
        started = perf_counter()
        try:
            await self.inner.publish(messages)
        except BaseException as error:
            self._meter.published(messages, perf_counter() - started, error)
            raise
        self._meter.published(messages, perf_counter() - started)


ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def metrics_app(metrics: Metrics) -> ASGIApp:
    """A bare ASGI app answering `GET /metrics` (for a process without the ingress)."""

    async def app(
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        status, body, kind = 404, b"not found\n", "text/plain; charset=utf-8"
        if scope["path"] == "/metrics" and scope["method"] in {"GET", "HEAD"}:
            status, body, kind = 200, await metrics.render(), CONTENT_TYPE
        headers = [(b"content-type", kind.encode()), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if scope["method"] == "HEAD":
            body = b""
        await send({"type": "http.response.body", "body": body})

    return app


@contextlib.asynccontextmanager
async def serving(
    metrics: Metrics, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `GET /metrics` in this event loop (port 0 picks a free one); yields its base URL.
    Signals are left to the caller (`factorhub worker` stops on SIGTERM itself)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    config = uvicorn.Config(
        metrics_app(metrics),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = Server(config)
    task = asyncio.create_task(server.serve(), name="metrics")
    while not server.started:
        if task.done():
            await task  # raises the start-up error
            raise RuntimeError("metrics server stopped during start-up")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        await task
