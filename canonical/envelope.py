"""The envelope every message on the bus travels in."""

from __future__ import annotations

import itertools
import os
import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

__all__ = ["Envelope", "new_message_id"]


class _MessageIds:
    """128-bit ids, uuid-shaped: 64 random bits per process (re-drawn after a fork) and a
    64-bit counter. As unique as uuid4 for our purposes, without a system call per id."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(int.from_bytes(secrets.token_bytes(4), "big"))

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_IDS = _MessageIds()


def new_message_id() -> str:
    """A fresh, globally unique message id (32 hex digits)."""
    return _IDS.next()


class Envelope(BaseModel):
    """Routing and lineage around one message body.

    `correlation_id` is the financing request id, so one request's messages can be followed;
    `causation_id` is the id of the message whose handling produced this one; `key` orders
    messages (the seller's USCC: one seller's messages stay in order on a partitioned broker).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(default_factory=new_message_id, min_length=1, max_length=64)
    correlation_id: str = Field(min_length=1, max_length=64)
    causation_id: str | None = None
    tenant: str = Field(min_length=1, max_length=64)
    source_system: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    schema_version: int = Field(default=1, ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    key: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    """Transport-independent headers: W3C `traceparent` / `tracestate` and friends."""
    body: dict[str, Any]
    _decoded: Any = PrivateAttr(default=None)
    """The message object `body` was dumped from, when this process made it: a consumer in
    the same process (the embedded transport) uses it instead of validating `body` again.
    Never serialised; an envelope read from a broker or the database has none."""

    def carrying(self, message: Any) -> Envelope:
        """This envelope, remembering the (immutable) message object its body came from."""
        self._decoded = message
        return self

    @property
    def decoded(self) -> Any:
        return self._decoded
