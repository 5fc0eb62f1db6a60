"""A tiny JSON writer that puts Decimal amounts on the wire as their exact text.

`json.dumps` would go through float and could emit 0.30000000000000004; ERPs send exact numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Number:
    """A JSON number written exactly as `text` (e.g. "113000.0", "1285.50")."""

    text: str

    def __post_init__(self) -> None:
        if not _NUMBER.fullmatch(self.text):
            raise ValueError(f"not a JSON number: {self.text!r}")


JsonValue: TypeAlias = (
    bool | int | str | Decimal | Number | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)


def dumps(value: JsonValue) -> str:
    """Compact JSON text, non-ASCII kept as is (ERPs send UTF-8)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def decimal_text(value: Decimal) -> str:
    """Plain (never exponent) text of a finite Decimal."""
    if not value.is_finite():
        raise ValueError("JSON has no NaN or infinity")
    return format(value, "f")


def _write(value: JsonValue, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, Number):
        out.append(value.text)
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        out.append("{")
        for n, (key, item) in enumerate(value.items()):
            if n:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _write(item, out)
        out.append("}")
    else:
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _write(item, out)
        out.append("]")
