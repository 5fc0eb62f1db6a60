"""Value parsers for messy ERP fields; each raises ValueError whose message is the Problem reason.

Rules from formats-inbound §0: amounts may be JSON numbers or strings with `,` `，` `¥` `￥` `元`
and full-width digits; dates come as `YYYY[-/]MM[-/]DD` with an optional time, `YYYYMMDD` or
`YYYY年MM月DD日`; tax rates are percentages (`13` -> 0.13).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from canonical import FEN
from canonical.text import hidden_problem

__all__ = [
    "FLOAT_REFUSED",
    "FOLD",
    "MAX_ABS_AMOUNT",
    "MAX_FRACTION_DIGITS",
    "SPACES",
    "fen",
    "to_date",
    "to_decimal",
    "to_int",
    "to_rate",
    "to_text",
]

MAX_ABS_AMOUNT = Decimal(10) ** 15
"""Anything at or above this (a quadrillion yuan) is a broken document, not a receivable."""
MAX_FRACTION_DIGITS = 10
"""数电 prices carry 8 decimals; more than 10 cannot be a real figure."""
FLOAT_REFUSED = "must be a decimal string: a JSON float may have lost precision"

SPACES = "\t\n\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
"""Trimmed from text fields: tabs, line breaks and the Unicode spaces (Zs). Not `str.strip()`'s
wider set, which also drops control characters (U+001C-U+001F, U+0085) that must be refused."""
_FREE_TEXT = "\t\n\r"
"""The only control characters free text may hold."""

_CHINA = timezone(timedelta(hours=8))
FOLD = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, "．": ".", "，": ",", "－": "-", "＋": "+"}
)
_JUNK = str.maketrans("", "", "¥￥元 \t\r\n\u3000\u00a0")
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_NUMBER = re.compile(r"([+-]?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]+))?")
_DATE_SEP = re.compile(
    r"([0-9]{4})([-/])([0-9]{1,2})\2([0-9]{1,2})"
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})(?:[0-9]{6})?")
_DATE_CJK = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")


def fen(value: Decimal) -> Decimal:
    """To the fen, half-up: done once, at the canonical-model boundary."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def to_decimal(value: object, *, allow_float: bool = True) -> Decimal:
    """An exact Decimal from a JSON integer, a JSON fraction (already Decimal) or a string."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        if _in_range(value) and not allow_float and value != value.to_integral_value():
            raise ValueError(FLOAT_REFUSED)
        number = value
    elif isinstance(value, str):
        number = _parse_number_text(value)
    elif value is None:
        raise ValueError("must be a number, got null")
    else:
        raise ValueError(f"must be a number or a numeric string, got {_kind(value)}")
    if not _in_range(number):
        raise ValueError("is out of range (magnitude must be below 10^15)")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_FRACTION_DIGITS:
        raise ValueError(f"has more than {MAX_FRACTION_DIGITS} decimal places")
    return number


def _in_range(number: Decimal) -> bool:
    """Finite and below 10^15 in magnitude, decided by comparison alone: `abs()` or any other
    arithmetic on a JSON literal like `1E+999999999` raises decimal.Overflow."""
    return number.is_finite() and -MAX_ABS_AMOUNT < number < MAX_ABS_AMOUNT


def _parse_number_text(raw: str) -> Decimal:
    if _PLAIN.fullmatch(raw):  # the usual "1234.50": nothing to fold or strip
        return Decimal(raw)
    text = raw.translate(FOLD).translate(_JUNK)
    match = _NUMBER.fullmatch(text)
    if not match:
        raise ValueError("is not a decimal number" if text else "must not be empty")
    sign, whole, fraction = match.groups()
    digits = whole.replace(",", "")
    return Decimal(f"{sign}{digits}.{fraction}" if fraction else f"{sign}{digits}")


def to_rate(value: object) -> Decimal:
    """A VAT rate given in percent (`13`, `"13"`, `"13%"`) as a fraction (0.13)."""
    if isinstance(value, str):
        value = value.strip().removesuffix("%").removesuffix("％")
    percent = to_decimal(value)
    if not 0 <= percent <= 100:
        raise ValueError("must be a percentage between 0 and 100")
    return (percent / 100).normalize() if percent else Decimal("0")


def to_date(value: object) -> date:
    """A calendar date from the shapes Chinese ERPs send (China local time when no offset)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a date string, got {_kind(value)}")
    text = value.translate(FOLD).strip()
    if not text:
        raise ValueError("must not be empty")
    try:
        if match := _DATE_SEP.fullmatch(text):
            year, _, month, day, hour, minute, second, offset = match.groups()
            if offset is None:
                if hour is not None:  # validated, then dropped: the date is what counts
                    datetime(int(year), int(month), int(day), int(hour), int(minute),
                             int(second or 0))
                return date(int(year), int(month), int(day))
            moment = datetime.fromisoformat(text.replace("/", "-").replace(" ", "T"))
            return moment.astimezone(_CHINA).date()
        if match := _DATE_COMPACT.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DATE_CJK.fullmatch(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise ValueError(f"is not a real date ({exc})") from None
    raise ValueError("is not a date (expected YYYY-MM-DD, optionally with a time)")


def to_text(value: object, *, max_len: int | None = None) -> str:
    """A trimmed string; JSON integers (YonBIP long ids) are accepted as their digits.

    Hidden characters (`canonical.text`: NUL, bidi overrides, zero-width spaces) are refused;
    tabs and line breaks may stay inside (remarks, addresses).
    """
    if isinstance(value, str):
        text = value.strip(SPACES)
        if problem := hidden_problem(text, _FREE_TEXT):
            raise ValueError(problem)
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise ValueError(f"must be a string, got {_kind(value)}")
    if max_len is not None and len(text) > max_len:
        raise ValueError(f"is longer than {max_len} characters")
    return text


def to_int(value: object) -> int:
    """A small non-negative integer (line numbers), from a JSON integer or digits."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, Decimal) and -(10**9) < value < 10**9 and value == int(value):
        value = int(value)
    if isinstance(value, str):
        text = value.strip().translate(FOLD)
        if text.isascii() and text.isdigit() and len(text) < 10:
            value = int(text)
    if isinstance(value, int) and 0 <= value < 10**9:
        return value
    raise ValueError("must be a non-negative integer below 10^9")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, int | Decimal):
        return "a number"
    return type(value).__name__

