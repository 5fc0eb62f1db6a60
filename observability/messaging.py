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

from collections.abc import Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode

from canonical.envelope import Envelope
from observability.tracing import current

__all__ = ["TracedPublisher", "business_attributes", "consumer_span", "fail", "sent"]

_Transport = Any  # hub.transport.base.Transport; observability imports nothing of the hub


def business_attributes(envelope: Envelope, message: object | None = None) -> dict[str, str]:
    """The attributes an engineer searches by: request id, tenant, invoice number."""
    attributes = {
        "factorhub.request_id": envelope.correlation_id,
        "factorhub.tenant": envelope.tenant,
        "factorhub.message.type": envelope.type,
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
        parent = propagate.extract(envelope.headers)
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
                "messaging.message.conversation_id": envelope.correlation_id,
                **business_attributes(envelope, envelope.decoded),
            },
        )
        headers = dict(envelope.headers)
        propagate.inject(headers, context=trace.set_span_in_context(span))
        spans.append(span)
        stamped.append((topic, envelope.model_copy(update={"headers": headers})))
    return spans, stamped


def consumer_span(
    system: str, topic: str, group: str, envelope: Envelope, message: object | None
) -> Span | None:
    """A `process {topic}` CONSUMER span, child of the producer context in the headers."""
    tracer = current()
    if tracer is None:
        return None
    ambient = trace.get_current_span().get_span_context()
    links = [Link(ambient)] if ambient.is_valid else None
    return tracer.start_span(
        f"process {topic}",
        context=propagate.extract(envelope.headers, context=otel_context.Context()),
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": system,
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.message.id": envelope.message_id,
            "messaging.message.conversation_id": envelope.correlation_id,
            **business_attributes(envelope, message),
        },
    )


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
