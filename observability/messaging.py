"""Spans for the bus, named by the current OpenTelemetry messaging conventions.

`send {topic}` (PRODUCER) is started when a message is handed to the transport, as a child of
the context the outbox row carries (`Envelope.headers`: the span that wrote the row, even in
an earlier life of the process); its own context then replaces the envelope's, so the
consumer's `process {topic}` (CONSUMER) is its child. The conventions prefer links from the
process span to the creation context; for single-message processing they allow the parent
instead, which is what makes one financing request ONE trace: we take the parent, and link the
span that was current when the batch arrived when there is one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from canonical.envelope import Envelope
from observability.tracing import current, parent_context, stamp

__all__ = [
    "Deliveries",
    "TracedPublisher",
    "business_attributes",
    "consumer_span",
    "delivered",
    "fail",
    "sent",
]

_Transport = Any  # hub.transport.base.Transport; observability imports nothing of the hub

Deliveries = Mapping[str, Mapping[str, AttributeValue]]
"""By message id: how the broker delivered it (`messaging.kafka.offset`, partition, key;
`messaging.rabbitmq.message.delivery_tag`, routing key)."""

_DELIVERIES: ContextVar[Deliveries | None] = ContextVar("factorhub_deliveries", default=None)


@contextlib.contextmanager
def delivered(deliveries: Deliveries) -> Iterator[None]:
    """While a transport's batch handler runs: what the broker said of each message, for the
    consumer's `process` spans (the batch handler's signature stays envelopes only)."""
    token = _DELIVERIES.set(deliveries)
    try:
        yield
    finally:
        _DELIVERIES.reset(token)


def _send_attributes(system: str, topic: str, envelope: Envelope) -> dict[str, AttributeValue]:
    """The broker-specific attributes a publish knows before it is sent."""
    if system == "kafka" and envelope.key:
        return {"messaging.kafka.message.key": envelope.key}
    if system == "rabbitmq":
        return {"messaging.rabbitmq.destination.routing_key": topic}
    return {}


def business_attributes(envelope: Envelope, message: object | None = None) -> dict[str, str]:
    """The attributes an engineer searches by: request id, tenant, invoice number."""
    attributes = {
        "factorhub.request_id": envelope.correlation_id,
        "factorhub.tenant": envelope.tenant,
    }
    request = getattr(message, "request", None)
    invoice = getattr(request, "invoice", None)
    number = getattr(invoice, "number", None)
    if isinstance(number, str):
        attributes["factorhub.invoice_number"] = number
    return attributes


def sent(system: str, outgoing: Sequence[tuple[str, Envelope]]) -> tuple[list[Span], list[Any]]:
    """Start one `send {topic}` PRODUCER span per message; returns the spans and the messages
    with the spans' contexts in their headers (tracing off: no spans, the same messages)."""
    tracer = current()
    if tracer is None:
        return [], list(outgoing)
    spans: list[Span] = []
    stamped: list[Any] = []
    for topic, envelope in outgoing:
        parent = parent_context(envelope.headers)
        if _not_sampled(parent):  # the message carries its trace's context on as it is
            stamped.append((topic, envelope))
            continue
        span = tracer.start_span(
            f"send {topic}",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": system,
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": envelope.message_id,
                **_send_attributes(system, topic, envelope),
                **business_attributes(envelope, envelope.decoded),
            },
        )
        headers = dict(envelope.headers)
        stamp(headers, span)
        spans.append(span)
        stamped.append((topic, envelope.model_copy(update={"headers": headers})))
    return spans, stamped


def consumer_span(
    system: str, topic: str, group: str, envelope: Envelope, message: object | None
) -> Span | None:
    """A `process {topic}` CONSUMER span, child of the producer context in the headers. For a
    message of a trace the sampler dropped, no new span: the sender's (non-recording) context
    itself, so what runs under it stays unrecorded and passes the same context on."""
    tracer = current()
    if tracer is None:
        return None
    parent = parent_context(envelope.headers)
    if _not_sampled(parent):
        return trace.get_current_span(parent)
    ambient = trace.get_current_span().get_span_context()
    links = [Link(ambient)] if ambient.is_valid else None
    deliveries = _DELIVERIES.get()
    delivery = None if deliveries is None else deliveries.get(envelope.message_id)
    return tracer.start_span(
        f"process {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.message.id": envelope.message_id,
            **(delivery or {}),
            **business_attributes(envelope, message),
        },
    )


def _not_sampled(parent: Context) -> bool:
    """The parent is a trace the sampler dropped (parent-based sampling would drop this span
    too): creating it, or a new context for it, would only cost time."""
    context = trace.get_current_span(parent).get_span_context()
    return context.is_valid and not context.trace_flags.sampled


def fail(span: Span, error: BaseException) -> None:
    """Mark `span` failed by `error` (low-cardinality `error.type`, the exception event)."""
    span.set_attribute("error.type", type(error).__name__)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


class TracedPublisher:
    """A transport whose `publish` is wrapped in PRODUCER spans (everything else delegated)."""

    def __init__(self, transport: _Transport) -> None:
        self.inner = transport
        self.name: str = transport.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def publish(self, messages: Sequence[tuple[str, Envelope]]) -> None:
        if current() is None:
            await self.inner.publish(messages)
            return
        spans, stamped = sent(self.name, messages)
        try:
            await self.inner.publish(stamped)
        except BaseException as error:
            for span in spans:
                fail(span, error)
            raise
        finally:
            for span in spans:
                span.end()
