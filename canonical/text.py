"""Which characters identifiers and names may hold, and the one fold identifiers get.

Identifiers (统一社会信用代码, tax invoice numbers, document numbers, ERP codes) are compared
character for character: one identifier must not become two by a different spelling, and a
hostile spelling must not pass for a known one. So identifiers get exactly one fold, the one the
sources need (formats-inbound §0.6): the full-width forms of ASCII (U+FF01-U+FF5E, what an IME
types in 全角 mode) become the ASCII characters they are the full-width form of, and blanks
(spaces, tabs, line breaks, the ideographic space) are removed. Nothing else is folded: not NFKC
(which turns ① ² 𝟏 ﬀ into digits and letters), not case outside ASCII (`"ﬀ".upper()` is "FF"),
not look-alikes (Cyrillic А, Greek Ο). What is left and not allowed is refused, and named by its
code point so an invisible character is visible in the error.

Names and other text fields may hold any printable character (Chinese, letters of any script,
full-width punctuation, spaces), but never a hidden one: control characters (NUL included),
format characters (bidi overrides and isolates, zero-width spaces, joiners and non-joiners, the
byte-order mark, the soft hyphen), lone surrogates, and line or paragraph separators. They change
how a name reads or compares without changing how it looks, or cannot be stored (NUL and
surrogates break PostgreSQL text and UTF-8).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

__all__ = [
    "HIDDEN_CATEGORIES",
    "PlainText",
    "describe",
    "fold_full_width",
    "fold_identifier",
    "hidden_characters",
    "hidden_problem",
    "non_ascii_note",
]

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Control, format, surrogate, line separator, paragraph separator."""

_BLANKS = " \t\r\n\u3000\u00a0"
"""Removed from identifiers: blanks a person or a pretty-printer puts there, nothing invisible."""
_UNNAMED = {"Cc": "<control>", "Cs": "<surrogate>", "Co": "<private use>", "Cn": "<unassigned>"}
_FULL_WIDTH: dict[int, int | None] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_WIDTH[0x3000] = 0x20
_FOLD = {**_FULL_WIDTH, **{ord(blank): None for blank in _BLANKS}}


def fold_full_width(text: str) -> str:
    """`text` with full-width ASCII forms (and the ideographic space) folded to ASCII."""
    return text.translate(_FULL_WIDTH)


def fold_identifier(text: str) -> str:
    """`text` with full-width ASCII forms folded to ASCII and blanks removed; nothing else."""
    return text.translate(_FOLD)


def hidden_characters(text: str, allowed: str = "") -> list[str]:
    """The distinct hidden characters (see the module docstring) of `text`, in order, but for
    those in `allowed` (free text keeps its tabs and line breaks)."""
    if text.isprintable():  # the usual case, decided in C
        return []
    if allowed and text.translate(_deleting(allowed)).isprintable():  # e.g. indentation
        return []
    found: dict[str, None] = {}
    for char in text:
        if (
            char not in found
            and char not in allowed
            and unicodedata.category(char) in HIDDEN_CATEGORIES
        ):
            found[char] = None
    return list(found)


@lru_cache(maxsize=8)
def _deleting(allowed: str) -> dict[int, None]:
    return dict.fromkeys(map(ord, allowed))


def describe(char: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`: a character named so it can be seen and looked up."""
    name = unicodedata.name(char, "") or _UNNAMED.get(unicodedata.category(char), "<unnamed>")
    return f"U+{ord(char):04X} {name}"


def hidden_problem(text: str, allowed: str = "") -> str | None:
    """Why `text` may not be used as a name or identifier (or, with `allowed` "\\t\\n\\r",
    as free text), or None when it may."""
    hidden = hidden_characters(text, allowed)
    if not hidden:
        return None
    named = ", ".join(describe(c) for c in hidden[:5])
    return f"contains {named}: control, format and invisible characters are refused"


def non_ascii_note(text: str) -> str:
    """` (it holds U+0410 CYRILLIC CAPITAL LETTER A)` when `text` has characters other than
    printable ASCII (what an ASCII-only identifier is told), else ""."""
    foreign = [c for c in dict.fromkeys(text) if not (c.isascii() and c.isprintable())]
    if not foreign:
        return ""
    return f" (it holds {', '.join(describe(c) for c in foreign[:5])})"


def _visible(value: str) -> str:
    problem = hidden_problem(value)
    if problem:
        raise ValueError(problem)
    return value


PlainText = Annotated[str, AfterValidator(_visible)]
"""A name or identifier with no hidden characters (what the mappers already refuse, checked
again where the model is built, whatever built it)."""
