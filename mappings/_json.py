"""Decoding ERP JSON bodies: encoding detection, Decimal for every fraction, no NaN, no duplicates.

Floats never appear: JSON numbers with a fraction or exponent become `Decimal` (from their text),
integers stay `int`, so a mapper can still tell a JSON float from a JSON integer or a string.

Hostile bodies are refused with a reason, never a crash: nesting deeper than the interpreter's
recursion limit (100,000 `[`), integers longer than Python converts (4300 digits), NaN and
Infinity, and strings that escape their way to NUL (`\\u0000`, which PostgreSQL cannot store) or
to a lone surrogate (`\\ud800`, which is not a character and cannot be encoded).
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from decimal import Decimal

from mappings._problems import pointer

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


_ESCAPED = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
"""An escape that may decode to NUL or a surrogate (a valid pair is checked by the walk)."""
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonRefused(ValueError):
    """The bytes are not a JSON document this hub accepts; the message says why, `path` where
    (a JSON pointer, "" for the document as a whole)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


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
        value = _DECODER.decode(text)
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:  # an integer longer than int() accepts
        if "integer string conversion" in str(exc):
            digits = sys.get_int_max_str_digits()
            raise JsonRefused(f"not valid JSON: a number has more than {digits} digits") from None
        raise JsonRefused(f"not valid JSON: {exc}"[:200]) from None
    except RecursionError:
        raise JsonRefused("not valid JSON: nested too deeply") from None
    if "\\u" in text and _ESCAPED.search(text):  # rare: only then is every string looked at
        _refuse_unstorable(value)
    return value


def _refuse_unstorable(document: object) -> None:
    """JsonRefused at the first key or string holding NUL or a lone surrogate."""
    stack: list[tuple[object, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            found = _UNSTORABLE.search(value)
            if found:
                raise JsonRefused(_unstorable(found.group()), path)
        elif isinstance(value, dict):
            for key, item in value.items():
                found = _UNSTORABLE.search(key)
                if found:
                    raise JsonRefused(f"a key {_unstorable(found.group())}", path)
                stack.append((item, pointer(path, key)))
        elif isinstance(value, list):
            stack.extend((item, pointer(path, i)) for i, item in enumerate(value))


def _unstorable(char: str) -> str:
    if char == "\x00":
        return "contains U+0000 NULL (escaped as \\u0000): refused, it cannot be stored"
    return (
        f"contains a lone surrogate U+{ord(char):04X} (an escape that is half of a "
        "UTF-16 pair): not a character, refused"
    )
