"""OpenTelemetry tracing, set up from the hub's settings; off, it costs one `None` check.

| variable | meaning | default |
|---|---|---|
| FACTORHUB_OTEL_EXPORTERS | comma list: local, console, otlp-grpc, otlp-http; none: off | below |
| FACTORHUB_OTEL_SERVICE_NAME | the resource's `service.name` | factorhub |
| FACTORHUB_OTEL_ENDPOINT | the collector for the OTLP exporters | the exporter's |
| FACTORHUB_OTEL_SAMPLER_RATIO | share of new traces kept (parent-based) | 1.0 |
| FACTORHUB_OTEL_RESOURCE_ATTRIBUTES | `k=v,k=v` added to the resource | none |

The exporters default to `local` for the commands that run a hub (`serve`, `worker`, `demo`,
`dlq replay`, ...: `hub.config.serving_defaults`) and to none otherwise (tests, `bench` without
`--trace`).

The hub's hooks ask `current()` for the tracer: `None` (tracing not installed) skips every span,
header injection and attribute, so an untraced hub runs the code it ran before tracing existed.
Every exporter sits behind the scrubber (`observability.scrub`), so no exporter ever sees an
account number, key, password or ID number. The `local` exporter is the span store in the hub's
own database (`observability.span_store`), read by `factorhub trace`; it applies the same
scrubbing itself as it builds its rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.ext.asyncio import AsyncEngine

from canonical import ConfigurationError
from observability.scrub import ScrubbingProcessor
from observability.span_store import LocalSpanStore

__all__ = [
    "EXPORTERS",
    "Tracing",
    "TracingSettings",
    "activated",
    "child_headers",
    "current",
    "install",
    "installed",
    "parent_context",
    "stamp",
    "tracing_settings",
]

EXPORTERS = ("local", "console", "otlp-grpc", "otlp-http")
_TRACER_NAME = "factorhub"
_tracer: Tracer | None = None


@dataclass(frozen=True, kw_only=True)
class TracingSettings:
    """What `Tracing` is built from; `exporters` empty: tracing off."""

    exporters: tuple[str, ...] = ()
    service_name: str = "factorhub"
    endpoint: str | None = None
    sampler_ratio: float = 1.0
    resource_attributes: Mapping[str, str] | None = None


def tracing_settings(
    env: Mapping[str, str], *, default_exporters: Sequence[str] = ()
) -> TracingSettings:
    """Read the FACTORHUB_OTEL_* variables; bad values raise ConfigurationError, all at once."""
    problems: list[str] = []
    raw = env.get("FACTORHUB_OTEL_EXPORTERS")
    names = tuple(default_exporters) if raw is None else _split(raw)
    if names == ("none",):
        names = ()
    problems += [f"FACTORHUB_OTEL_EXPORTERS: unknown {n!r}" for n in names if n not in EXPORTERS]
    ratio = 1.0
    try:
        ratio = float(env.get("FACTORHUB_OTEL_SAMPLER_RATIO", "1.0"))
        if not 0.0 <= ratio <= 1.0:
            raise ValueError
    except ValueError:
        problems.append("FACTORHUB_OTEL_SAMPLER_RATIO: a number from 0 to 1")
    attributes: dict[str, str] = {}
    for pair in _split(env.get("FACTORHUB_OTEL_RESOURCE_ATTRIBUTES", "")):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            problems.append(f"FACTORHUB_OTEL_RESOURCE_ATTRIBUTES: {pair!r} is not k=v")
        attributes[key.strip()] = value.strip()
    if problems:
        raise ConfigurationError("; ".join(problems))
    return TracingSettings(
        exporters=names,
        service_name=env.get("FACTORHUB_OTEL_SERVICE_NAME") or "factorhub",
        endpoint=env.get("FACTORHUB_OTEL_ENDPOINT") or None,
        sampler_ratio=ratio,
        resource_attributes=attributes,
    )


def current() -> Tracer | None:
    """The installed tracer, or None: tracing is off and hooks must do nothing."""
    return _tracer


def install(provider: trace.TracerProvider | None) -> None:
    """Make the hub's hooks trace through `provider` (None: stop tracing). Tests install a
    provider with an in-memory exporter; `Tracing.start` installs the configured one."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer(_TRACER_NAME)


def activated(span: Span | None) -> contextlib.AbstractContextManager[object]:
    """`span` as the current span (nothing when tracing is off); the span is not ended."""
    if span is None:
        return contextlib.nullcontext()
    return trace.use_span(span, end_on_exit=False)


def child_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` for a message created now: with tracing on, its `traceparent` (and
    `tracestate`) become the current span's, so the span that writes the outbox row is the
    parent of the message's publish, whenever and by whichever process it is published."""
    copy = dict(headers)
    if _tracer is not None:
        span = trace.get_current_span()
        if span.get_span_context().is_valid:  # else: the parent's context, carried on
            copy.pop("traceparent", None)
            copy.pop("tracestate", None)
            stamp(copy, span)
    return copy


_W3C = TraceContextTextMapPropagator()
_EMPTY = Context()
_PARENTS: dict[str, Context] = {}
"""Contexts by the `traceparent` (and `tracestate`) text that names them. A message's context
is written by one span and read by the next hop's (in the embedded transport, moments later in
the same process): remembered here, the read is a lookup instead of a parse. Bounded."""
_PARENTS_LIMIT = 4096


def parent_context(headers: Mapping[str, str]) -> Context:
    """The remote parent named by the W3C `traceparent` in a message's `headers`; an empty
    context (a new trace) when there is none or it is malformed. Messages carry W3C Trace
    Context on every transport, whatever propagators the process has configured."""
    traceparent = headers.get("traceparent")
    if traceparent is None:
        return _EMPTY
    key = _key(traceparent, headers.get("tracestate"))
    context = _PARENTS.get(key)
    if context is None:
        context = _W3C.extract(headers, context=_EMPTY)
        _remember(key, context)
    return context


def stamp(headers: dict[str, str], span: Span) -> None:
    """Write `span`'s context into `headers` as W3C `traceparent` (and `tracestate`); nothing
    when the span is not valid (no current span)."""
    context = span.get_span_context()
    if not context.is_valid:
        return
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    headers["traceparent"] = traceparent
    state = context.trace_state.to_header() if context.trace_state else None
    if state:
        headers["tracestate"] = state
    key = _key(traceparent, state)
    if key not in _PARENTS:
        remote = SpanContext(
            context.trace_id,
            context.span_id,
            is_remote=True,
            trace_flags=context.trace_flags,
            trace_state=context.trace_state,
        )
        _remember(key, trace.set_span_in_context(NonRecordingSpan(remote), _EMPTY))


def _key(traceparent: str, tracestate: str | None) -> str:
    return traceparent if not tracestate else f"{traceparent};{tracestate}"


def _remember(key: str, context: Context) -> None:
    if len(_PARENTS) >= _PARENTS_LIMIT:
        _PARENTS.clear()
    _PARENTS[key] = context


class Tracing:
    """A configured TracerProvider and its exporters; `start` installs it, `aclose` flushes."""

    def __init__(self, settings: TracingSettings) -> None:
        unknown = [n for n in settings.exporters if n not in EXPORTERS]
        if unknown:
            raise ConfigurationError(f"unknown span exporter(s): {', '.join(unknown)}")
        resource = Resource.create(
            {"service.name": settings.service_name, **(settings.resource_attributes or {})}
        )
        self.provider = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(settings.sampler_ratio)), resource=resource
        )
        self.store: LocalSpanStore | None = None
        for name in settings.exporters:
            if name == "local":  # scrubs as it builds its rows
                self.store = LocalSpanStore()
                self.provider.add_span_processor(self.store)
            else:
                batch = BatchSpanProcessor(_exporter(name, settings.endpoint))
                self.provider.add_span_processor(ScrubbingProcessor(batch))

    async def start(self, engine: AsyncEngine) -> None:
        """Install the provider; the local store writes through `engine` (the hub's own)."""
        if self.store is not None:
            await self.store.start(engine)
        install(self.provider)

    async def aclose(self) -> None:
        if current() is not None:
            install(None)
        self.provider.force_flush()
        if self.store is not None:
            await self.store.aclose()
        self.provider.shutdown()


@contextlib.contextmanager
def installed(provider: trace.TracerProvider) -> Iterator[None]:
    """`provider` installed for the duration (tests)."""
    install(provider)
    try:
        yield
    finally:
        install(None)


def _exporter(name: str, endpoint: str | None) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp-grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    url = None if endpoint is None else endpoint.rstrip("/") + "/v1/traces"
    return HttpSpanExporter(endpoint=url)


def _split(raw: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in raw.split(",") if p.strip())
