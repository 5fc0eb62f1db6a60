"""The scrubber: no account number, key, password or ID number leaves the hub in a span.

It sits in front of every span processor (`ScrubbingProcessor`), so every exporter, the local
span store included, sees spans already cleaned: attribute values, event attributes (exception
messages quote partner answers) and status descriptions. An attribute whose NAME says secret
is replaced whole; any other text loses what LOOKS like a secret (a run of 12 to 30 digits, a
resident ID number, a PEM private key, an Authorization value, `password=...`, credentials in
a URL). The business identifiers the trace is searched by are kept as they are.

Log lines (`observability.logs`) follow the same rules, and lose the value of every secret-named
key they quote as well (`scrub_log_text`, `scrub_log_fields`): a line often carries a header, a
JSON body or a repr, where `"access_token": "..."` hides from the plain text rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

__all__ = [
    "REDACTED",
    "ScrubbingProcessor",
    "scrub_attributes",
    "scrub_log_fields",
    "scrub_log_text",
    "scrub_text",
    "scrubbed_copy",
]

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
_SECRET_PAIR = re.compile(  # logs quote headers, JSON and reprs: `"access_token": "..."`
    r"(?P<key>\\?[\"']?[\w.-]*(?:passw(?:or)?d|pwd|secret|token|api[_.-]?key|private[_.-]?key"
    r"|authori[sz]ation|cookie|credentials?|密码|口令|密钥)(?:[_.-]?(?:key|value))?"
    r"\\?[\"']?\s*[=:：]\s*)"
    r"(?!\\?[\"']?\[REDACTED\])"
    r"(?P<value>\\\"(?:(?!\\\").)*\\\"|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
    r"|(?:(?:Bearer|Basic|Token|Digest)\s+)?[^\s,;&\"'}\])\\]+)",
    re.IGNORECASE,
)
_KEPT = frozenset(
    {
        "factorhub.request_id",
        "factorhub.invoice_number",  # a 数电 invoice number is 20 digits, and no secret
        "messaging.message.id",
        "messaging.message.conversation_id",
    }
)


_CLEAN: set[str] = set()
"""Texts already found to hold nothing secret (topic names, groups, URLs, tenants repeat on
every span): a set lookup instead of the regex. Only clean texts are remembered, so the memo
never holds a secret; it is emptied when it grows past `_CLEAN_LIMIT`."""
_CLEAN_LIMIT = 8192
_CLEAN_LENGTH = 256

_KEEP, _REDACT, _SCRUB = 0, 1, 2
_RULES: dict[str, int] = {}
"""What to do with an attribute, by its name (names are few and repeat): computed once."""


def scrub_text(text: str) -> str:
    """`text` without anything that looks like a secret."""
    if text in _CLEAN:
        return text
    cleaned = _SECRET_TEXT.sub(REDACTED, text)
    if cleaned == text and len(text) <= _CLEAN_LENGTH:
        if len(_CLEAN) >= _CLEAN_LIMIT:
            _CLEAN.clear()
        _CLEAN.add(text)
    return cleaned


def scrub_attributes(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Cleaned attributes, or None when nothing needed cleaning (the common case)."""
    cleaned: dict[str, Any] | None = None
    for key, value in attributes.items():
        new = _scrub(key, value)
        if new is not value:
            cleaned = dict(attributes) if cleaned is None else cleaned
            cleaned[key] = new
    return cleaned


def scrubbed_copy(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes as a plain dict, cleaned, in one pass (for a store that serialises them
    anyway: it need not ask first whether anything changed)."""
    return {key: _scrub(key, value) for key, value in attributes.items()}


def scrub_log_text(text: str) -> str:
    """`scrub_text`, and the value of every secret-named key: a log line quotes headers, JSON
    bodies and reprs (`"access_token": "..."`, `{'password': '...'}`), which span attributes,
    one value each, do not."""
    return _SECRET_PAIR.sub(_redact_pair, scrub_text(text))


def scrub_log_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A log record's extra fields by the span attributes' rules (names, kept identifiers),
    their text by `scrub_log_text`."""
    scrubbed = scrub_attributes(fields)
    cleaned = dict(fields) if scrubbed is None else scrubbed
    for key, value in cleaned.items():
        if key in _KEPT:
            continue
        if isinstance(value, str):
            cleaned[key] = scrub_log_text(value)
        elif isinstance(value, tuple | list):
            cleaned[key] = tuple(scrub_log_text(v) if isinstance(v, str) else v for v in value)
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


def _rule(key: str) -> int:
    rule = _RULES.get(key)
    if rule is None:
        rule = _KEEP if key in _KEPT else _REDACT if _SECRET_NAME.search(key) else _SCRUB
        if len(_RULES) < _CLEAN_LIMIT:
            _RULES[key] = rule
    return rule


def _scrub(key: str, value: Any) -> Any:
    rule = _rule(key)
    if rule == _KEEP:
        return value
    if rule == _REDACT:
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


def _redact_pair(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[:2] if value.startswith('\\"') else value[0] if value[0] in "\"'" else ""
    return f"{match['key']}{quote}{REDACTED}{quote}"
