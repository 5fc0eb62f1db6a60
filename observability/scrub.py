"""The scrubber: no account number, key, password or ID number leaves the hub in a span.

It sits in front of every span processor (`ScrubbingProcessor`), so every exporter, the local
span store included, sees spans already cleaned: attribute values, event attributes (exception
messages quote partner answers) and status descriptions. An attribute whose NAME says secret
is replaced whole; any other text loses what LOOKS like a secret (a run of 12 to 30 digits, a
resident ID number, a PEM private key, an Authorization value, `password=...`, credentials in
a URL). The business identifiers the trace is searched by are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

__all__ = ["REDACTED", "ScrubbingProcessor", "scrub_attributes", "scrub_text"]

REDACTED = "[REDACTED]"

_SECRET_NAME = re.compile(
    r"pass(word|wd)?\b|secret|token|authori[sz]ation|api[_.-]?key|private[_.-]?key|"
    r"account|iban|id[_.-]?(number|card|no)\b|身份证|账号|卡号|cookie",
    re.IGNORECASE,
)
_SECRET_TEXT = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
    r"|(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"  # resident ID number (身份证号)
    r"|(?<![0-9A-Za-z])\d{12,30}(?![0-9A-Za-z])"  # bank account or card number
    r"|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"
    r"|\b(?:password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*[^\s,;&\"']+"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # user:password in a URL
    re.IGNORECASE | re.DOTALL,
)
_KEPT = frozenset(
    {
        "factorhub.request_id",
        "factorhub.invoice_number",  # a 数电 invoice number is 20 digits, and no secret
        "messaging.message.id",
        "messaging.message.conversation_id",
    }
)


def scrub_text(text: str) -> str:
    """`text` without anything that looks like a secret."""
    return _SECRET_TEXT.sub(REDACTED, text)


def scrub_attributes(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Cleaned attributes, or None when nothing needed cleaning (the common case)."""
    cleaned: dict[str, Any] | None = None
    for key, value in attributes.items():
        new = _scrub(key, value)
        if new is not value:
            cleaned = dict(attributes) if cleaned is None else cleaned
            cleaned[key] = new
    return cleaned


class ScrubbingProcessor(SpanProcessor):
    """Hands `inner` each finished span with its secrets removed."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.inner.on_end(_scrubbed(span))

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _scrub(key: str, value: Any) -> Any:
    if key in _KEPT:
        return value
    if _SECRET_NAME.search(key):
        return REDACTED
    if isinstance(value, str):
        cleaned = scrub_text(value)
        return value if cleaned == value else cleaned
    if isinstance(value, tuple | list) and any(isinstance(v, str) for v in value):
        items = tuple(scrub_text(v) if isinstance(v, str) else v for v in value)
        return value if items == tuple(value) else items
    return value


def _scrubbed(span: ReadableSpan) -> ReadableSpan:
    attributes = scrub_attributes(span.attributes or {})
    events = [(e, scrub_attributes(e.attributes or {})) for e in span.events]
    description = span.status.description
    clean_description = None if description is None else scrub_text(description)
    if (
        attributes is None
        and all(a is None for _, a in events)
        and clean_description == (description)
    ):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes if attributes is None else attributes,
        events=[e if a is None else Event(e.name, a, timestamp=e.timestamp) for e, a in events],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, clean_description),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
