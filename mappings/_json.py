"""Decoding ERP JSON bodies: encoding detection, Decimal for every fraction, no NaN, no duplicates.

Floats never appear: JSON numbers with a fraction or exponent become `Decimal` (from their text),
integers stay `int`, so a mapper can still tell a JSON float from a JSON integer or a string.
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal

__all__ = ["MAX_JSON_BYTES", "JsonRefused", "decode_bytes", "loads"]

MAX_JSON_BYTES = 4 * 1024 * 1024
"""Larger bodies are refused before decoding (an invoice push is a few KiB)."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class JsonRefused(ValueError):
    """The bytes are not a JSON document this hub accepts; the message says why."""


def decode_bytes(raw: bytes) -> str:
    """Text of `raw`: a BOM decides; else strict UTF-8; else strict GB18030."""
    if not isinstance(raw, bytes | bytearray):
        raise JsonRefused(f"body must be bytes, got {type(raw).__name__}")
    if len(raw) > MAX_JSON_BYTES:
        raise JsonRefused(f"body is {len(raw)} bytes, more than the {MAX_JSON_BYTES} allowed")
    data = bytes(raw)
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise JsonRefused(f"invalid {encoding} after its byte-order mark at byte "
                                  f"{exc.start + len(bom)}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise JsonRefused(f"neither UTF-8 nor GB18030 (bad byte at {exc.start})") from None


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                # two values for one key: parsers disagree on which wins, so refuse
                raise JsonRefused(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _constant(name: str) -> object:
    raise JsonRefused(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_constant, object_pairs_hook=_object
)


def loads(text: str) -> object:
    """Parse JSON text with Decimal fractions; any failure is a JsonRefused with a reason."""
    try:
        return _DECODER.decode(text)
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:  # e.g. an integer longer than int() accepts
        raise JsonRefused(f"not valid JSON: {exc}"[:200]) from None
    except RecursionError:
        raise JsonRefused("not valid JSON: nested too deeply") from None
