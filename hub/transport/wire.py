"""What both brokers put beside the envelope's JSON, and how they read it back tolerantly.

The envelope body is the source of truth; the broker headers repeat its routing fields so
operators and tracing tools can see them without parsing the body.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream.message import StreamMessage

from canonical.envelope import Envelope
from hub.transport.base import decode_envelope

__all__ = ["UndecodableCounter", "decode_or_skip", "keep_message", "transport_headers"]

logger = logging.getLogger("hub.transport")


def transport_headers(envelope: Envelope) -> dict[str, str]:
    """Every `envelope.headers` entry (traceparent, ...) plus message_id, type, correlation_id.

    The routing fields are written last so a stray envelope header cannot disguise them.
    """
    return {
        **envelope.headers,
        "message_id": envelope.message_id,
        "type": envelope.type,
        "correlation_id": envelope.correlation_id,
    }


class UndecodableCounter:
    """Counts messages skipped because they were not envelopes (kept for metrics and tests)."""

    def __init__(self) -> None:
        self.count = 0

    def __repr__(self) -> str:
        return f"UndecodableCounter(count={self.count})"


def decode_or_skip(
    data: bytes | None, *, where: str, counter: UndecodableCounter
) -> Envelope | None:
    """Decode one message, or log, count and return None: one poison message must not stop a
    consumer, and raising here would redeliver it for ever."""
    if data is None:
        reason = "empty value"
    else:
        try:
            return decode_envelope(data)
        except ValueError as exc:  # pydantic's ValidationError and JSON errors are ValueErrors
            reason = str(exc).splitlines()[0]
    counter.count += 1
    logger.warning("skipping undecodable message at %s: %s", where, reason)
    return None


async def keep_message(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """FastStream decoder that hands the handler the message itself, unparsed.

    FastStream would otherwise JSON-parse every body into dicts we throw away; the transports
    decode envelopes themselves so that poison messages can be skipped one by one. It must be
    async: FastStream runs sync decoders in a thread pool, which reorders concurrent deliveries.
    """
    return message
