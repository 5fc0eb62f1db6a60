"""Logs: one JSON object per line, each with the trace it was written in, and no secrets.

| variable | meaning | default |
|---|---|---|
| FACTORHUB_LOG_FORMAT | `json` (one object per line) or `text` (one readable line) | below |
| FACTORHUB_LOG_LEVEL | debug, info, warning, error or critical | warning (info: --verbose) |

The format defaults to `json` for the long-running commands (`serve`, `worker`) and to `text`
for the ones a person watches in a terminal (`demo`). `--verbose` never makes the logs quieter
than the variable asks: the more verbose of the two wins.

A JSON line holds `timestamp` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `message`,
`trace_id` and `span_id` (32 and 16 lowercase hex digits of the current OpenTelemetry span,
sampled or not; `null` outside any span or with tracing off: the keys are on EVERY line),
`exception` (the traceback) and `stack` when there is one, then the record's `extra` fields,
top level (a nested mapping flattened to dotted keys; an extra named like one of the fields
above as `extra.NAME`).

Everything is scrubbed as span attributes are (`observability.scrub`): the message (its
arguments included) and the traceback lose whatever looks like an account number, an ID number,
a key or a password; an extra field named like a secret is replaced whole, and the business
identifiers a trace is searched by (`factorhub.invoice_number`, ...) are kept. The text format
is scrubbed the same way.

`configure_logging` installs ONE handler on the root logger (again: it replaces its own) and
sends the libraries that bring their own handlers (uvicorn, FastStream) through it, so every
line of the process, theirs included, has the same shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
from opentelemetry import trace

from canonical import ConfigurationError
from observability.scrub import scrub_log_fields, scrub_log_text

__all__ = [
    "FORMATS",
    "LIBRARIES",
    "JsonFormatter",
    "LogFormat",
    "LogSettings",
    "TextFormatter",
    "configure_logging",
    "log_settings",
]

LogFormat = Literal["json", "text"]
FORMATS: tuple[LogFormat, ...] = ("json", "text")
_FORMAT_NAMES: dict[str, LogFormat] = {name: name for name in FORMATS}
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}

LIBRARIES = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "uvicorn.asgi",
    "faststream",
    "aiokafka",
    "aio_pika",
    "aiormq",
)
"""Loggers sent through the hub's handler; uvicorn and FastStream install their own handlers
(and stop propagation), the others only need to propagate."""

_OWN = frozenset(
    {"timestamp", "level", "logger", "message", "trace_id", "span_id", "exception", "stack"}
)
_RECORD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",  # Python 3.12+
    "color_message",  # uvicorn's coloured copy of the message
}
_DIGITS = 10**11  # an integer of 12 digits or more goes out as text, scrubbed as text


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    """What `configure_logging` is called with."""

    format: LogFormat = "json"
    level: int = logging.WARNING


def log_settings(
    env: Mapping[str, str], *, default_format: LogFormat = "json", verbose: bool = False
) -> LogSettings:
    """Read FACTORHUB_LOG_FORMAT and FACTORHUB_LOG_LEVEL; bad values raise ConfigurationError
    naming the variable, all at once."""
    problems: list[str] = []
    fmt = default_format
    raw_format = env.get("FACTORHUB_LOG_FORMAT", "").strip().lower()
    if raw_format in _FORMAT_NAMES:
        fmt = _FORMAT_NAMES[raw_format]
    elif raw_format:
        problems.append(f"FACTORHUB_LOG_FORMAT: json or text, not {raw_format!r}")
    level = logging.WARNING
    raw_level = env.get("FACTORHUB_LOG_LEVEL", "").strip().lower()
    if raw_level in _LEVELS:
        level = _LEVELS[raw_level]
    elif raw_level:
        problems.append(f"FACTORHUB_LOG_LEVEL: one of {', '.join(_LEVELS)}, not {raw_level!r}")
    if problems:
        raise ConfigurationError("; ".join(problems))
    return LogSettings(format=fmt, level=min(level, logging.INFO) if verbose else level)


class JsonFormatter(logging.Formatter):
    """One scrubbed JSON object per record, with the current span's trace and span ids."""

    def format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = _ids()
        line: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_log_text(record.getMessage().rstrip()),
            "trace_id": trace_id,
            "span_id": span_id,
        }
        line.update(_problem(self, record))
        for key, value in _extra(record).items():
            line[f"extra.{key}" if key in _OWN else key] = value
        try:
            return orjson.dumps(line).decode()
        except TypeError:  # a lone surrogate (undecodable bytes in a message): escaped instead
            return json.dumps(line)


class TextFormatter(logging.Formatter):
    """One scrubbed readable line per record (the traceback under it), for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = _ids()
        parts = [
            _timestamp(record),
            record.levelname,
            record.name,
            scrub_log_text(record.getMessage().rstrip()),
        ]
        fields = _extra(record)
        if trace_id is not None:
            fields = {"trace_id": trace_id, "span_id": span_id, **fields}
        parts += [f"{key}={value}" for key, value in fields.items()]
        problem = _problem(self, record)
        return "\n".join([" ".join(parts), *problem.values()])


class _HubHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs; found again by its class."""


def configure_logging(
    format: LogFormat = "json", level: int | str = logging.WARNING, *, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record of the process, scrubbed, to `stream` (stderr) in `format`.

    Called again, it replaces the handler it installed before: one line per record, always.
    Handlers others put on the root logger (pytest's, say) are left alone. Python warnings
    are logged too (`py.warnings`), so they come out in the same shape.
    """
    if format not in FORMATS:
        raise ConfigurationError(f"log format: json or text, not {format!r}")
    handler = _HubHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _HubHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _adopt_libraries()
    logging.captureWarnings(True)
    return handler


def _adopt_libraries() -> None:
    """Libraries' loggers: no handler of their own, their level the root's, propagating.

    FastStream installs its handler when it is imported, so it is imported first; the hub's
    brokers log through `hub.transport.*`, which propagate anyway.
    """
    with contextlib.suppress(ImportError):
        import faststream  # noqa: F401 - for its logger's side effect
    names = set(LIBRARIES) | {
        name
        for name in logging.root.manager.loggerDict
        if name.startswith(("faststream.", "uvicorn."))
    }
    for name in sorted(names):
        logger = logging.getLogger(name)
        for own in list(logger.handlers):
            logger.removeHandler(own)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def _ids() -> tuple[str | None, str | None]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, str]:
    """The scrubbed traceback (`exception`) and stack (`stack`), when the record has them."""
    found: dict[str, str] = {}
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or formatter.formatException(record.exc_info)
        found["exception"] = scrub_log_text(text)
    elif record.exc_text:
        found["exception"] = scrub_log_text(record.exc_text)
    if record.stack_info:
        found["stack"] = scrub_log_text(formatter.formatStack(record.stack_info))
    return found


def _extra(record: logging.LogRecord) -> dict[str, Any]:
    """The record's extra fields, plain and scrubbed by the span attributes' rules."""
    flat: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key not in _RECORD and not key.startswith("_"):
            _flatten(key, value, flat)
    return scrub_log_fields(flat) if flat else flat


def _flatten(key: str, value: Any, into: dict[str, Any]) -> None:
    """Into `into`: `value` as JSON scalars (or a tuple of them) under dotted keys, so a secret
    nested in a mapping is judged by its full name (`payee.account`) as an attribute is."""
    if isinstance(value, Mapping):
        for name, inner in value.items():
            _flatten(f"{key}.{name}", inner, into)
    elif isinstance(value, list | tuple | set | frozenset):
        into[key] = tuple(_scalar(v) for v in value)
    else:
        into[key] = _scalar(value)


def _scalar(value: Any) -> Any:
    """A JSON scalar: a long integer (an account number can be one) becomes text, to be
    scrubbed as text; anything else that is no JSON scalar becomes its `str`."""
    if value is None or isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return value if -_DIGITS < value < _DIGITS else str(value)
    return str(value)
