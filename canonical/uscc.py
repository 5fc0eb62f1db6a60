"""统一社会信用代码 (USCC, GB 32100-2015) validation.

The check character is over a 31-symbol alphabet without I, O, S, V, Z, with weights
3^(i-1) mod 31; a remainder of 31 maps to "0" (a frequent bug in public code maps it elsewhere).

A USCC is plain ASCII. The sources' full-width forms and blanks are folded (`canonical.text`),
ASCII letters upper-cased; anything else (a Cyrillic А, a zero-width space, a ① or a 𝟏) stays
and is refused by name, never folded into a look-alike code.
"""

from __future__ import annotations

from functools import lru_cache

from canonical.text import describe, fold_identifier

__all__ = ["USCC_ALPHABET", "normalise_uscc", "uscc_check_char", "uscc_problem"]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {c: i for i, c in enumerate(USCC_ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def normalise_uscc(raw: str) -> str:
    """Fold full-width forms, remove blanks, upper-case ASCII letters, as the sources require."""
    return fold_identifier(raw).translate(_ASCII_UPPER)


def uscc_check_char(first17: str) -> str:
    """The 18th character for a 17-character body (which must use the USCC alphabet)."""
    total = sum(_VALUES[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


@lru_cache(maxsize=65536)
def uscc_problem(code: str) -> str | None:
    """Why `code` (already normalised) is not a valid USCC, or None when it is.

    Characters that are not plain printable ASCII are named first, by code point: an invisible
    one would otherwise only show as a wrong length. Cached: the same few thousand
    counterparties are checked on every message that names them.
    """
    foreign = [c for c in dict.fromkeys(code) if not (c.isascii() and c.isprintable())]
    if foreign:
        named = ", ".join(describe(c) for c in foreign[:5])
        return f"characters {named} are not in the USCC alphabet (ASCII 0-9, A-Z only)"
    if len(code) != 18:
        return f"must be 18 characters, got {len(code)}"
    bad = sorted({c for c in code if c not in _VALUES})
    if bad:
        return f"characters {''.join(bad)!r} are not in the USCC alphabet"
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return f"check digit is {code[17]!r}, expected {expected!r}"
    return None
