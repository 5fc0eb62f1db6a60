"""The one narrow contract every transport keeps (like httpx's one-method transport).

A transport moves envelopes between the outbox relay and the consumers; it knows nothing of
routes. Delivery is at-least-once: a batch handler that returns has taken responsibility for the
batch (the transport then acks or commits it); a handler that raises leaves the batch unacked so
the broker delivers it again. Effectively-once comes from the consumer's inbox, not from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from canonical.envelope import Envelope

__all__ = ["BatchHandler", "Outgoing", "Transport", "decode_envelope", "encode_envelope"]

BatchHandler = Callable[[list[Envelope]], Awaitable[None]]
"""Receives one batch of envelopes from one topic; returns when the batch is durably handled."""

Outgoing = tuple[str, Envelope]
"""(topic, envelope) to publish; the envelope's `key` orders messages within the topic."""


class Transport(Protocol):
    """Publish to topics and deliver each topic's messages to subscribed consumer groups."""

    name: str

    def subscribe(
        self, topic: str, *, group: str, handler: BatchHandler, max_batch: int = 100
    ) -> None:
        """Register `handler` for `topic` in consumer `group`; call before `start`."""

    async def start(self) -> None:
        """Connect and begin delivering to the subscribed handlers."""

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Publish all messages; return only when the broker has confirmed every one."""

    async def ping(self) -> None:
        """Raise `DeliveryError` unless the broker is reachable now."""

    async def aclose(self) -> None:
        """Stop consuming and disconnect; idempotent."""


def encode_envelope(envelope: Envelope) -> bytes:
    """Wire form of an envelope: its JSON (amounts as decimal strings)."""
    return envelope.model_dump_json().encode()


def decode_envelope(data: bytes | str) -> Envelope:
    """Parse the wire form back; raises pydantic's ValidationError on garbage."""
    return Envelope.model_validate_json(data)
