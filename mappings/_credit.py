"""Shared by the credit and registry mappers: capital text, moments, statuses, vendor envelopes.

Registered capital arrives as text ("5000万元人民币", "100万美元", "1.2亿元", "3,000万(元)");
it becomes exact Decimal Money in whole currency units. Moments without an offset are China time
(formats-inbound §0.4); 天眼查 sends dates as epoch milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar

from pydantic import ValidationError

from canonical import FEN, Money, Provenance, normalise_uscc, uscc_problem
from canonical.credit import EnterpriseProfile, EnterpriseStatus
from mappings._fields import Node, Reader
from mappings._invoice import fingerprint
from mappings._problems import Problems
from mappings._values import FOLD, MAX_ABS_AMOUNT, to_decimal

__all__ = [
    "CHINA",
    "CURRENCIES",
    "build_profile",
    "capital",
    "capital_currency_check",
    "currency_code",
    "enterprise_status",
    "epoch_or_date",
    "fold_id",
    "moment",
    "provenance",
    "read_capital",
    "read_currency",
    "read_moment",
    "read_uscc",
    "sniff_json",
    "tianyancha_code",
    "vendor_refusal",
]

T = TypeVar("T")

CHINA = timezone(timedelta(hours=8))
CURRENCIES = {
    "人民币": "CNY",
    "元": "CNY",
    "元人民币": "CNY",
    "RMB": "CNY",
    "美元": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "欧元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
    "澳元": "AUD",
    "加元": "CAD",
    "新加坡元": "SGD",
    "瑞士法郎": "CHF",
    "台币": "TWD",
    "新台币": "TWD",
}
"""Currency words of registered-capital texts and 币种 fields; ISO codes are accepted as well."""

_UNITS = {"": Decimal(1), "万": Decimal(10_000), "亿": Decimal(100_000_000)}
_CAPITAL = re.compile(
    r"([0-9][0-9,]*(?:\.[0-9]+)?)"  # the number (never negative)
    r"(万|亿)?"  # its multiplier
    r"[(（]?([^\W\d_]*?)[)）]?"  # the currency words, maybe in brackets: (元)
)
_MOMENT = re.compile(
    r"([0-9]{4})(?:[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})|([0-9]{2})([0-9]{2})|年([0-9]{1,2})月"
    r"([0-9]{1,2})日)"
    r"(?:[ T]?([0-9]{1,2}):?([0-9]{2}):?([0-9]{2})?(?:\.([0-9]{1,6})[0-9]*)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_ACTIVE = ("存续", "在业", "在营", "开业", "在册", "正常")
_EPOCH_MS_RANGE = (-2_208_988_800_000, 4_102_444_800_000)
"""1900-01-01 .. 2100-01-01: outside this a millisecond timestamp is a broken field."""


def currency_code(text: str) -> str:
    """ISO code for a currency word or code; ValueError when unknown."""
    word = "".join(text.split())
    if word in CURRENCIES:
        return CURRENCIES[word]
    upper = word.upper()
    if len(upper) == 3 and upper.isascii() and upper.isalpha():
        return upper
    raise ValueError(f"unknown currency {text!r}")


def capital(text: str, default_currency: str = "CNY") -> Money:
    """'5000万元人民币' -> 50000000.00 CNY, exactly; ValueError with the reason otherwise."""
    folded = "".join(text.translate(FOLD).replace("¥", "").replace("￥", "").split())
    match = _CAPITAL.fullmatch(folded)
    if not match:
        raise ValueError("is not a capital amount (expected e.g. 5000万元人民币)")
    number, unit, words = match.groups()
    amount = to_decimal(number.replace(",", "")) * _UNITS[unit or ""]
    if abs(amount) >= MAX_ABS_AMOUNT:
        raise ValueError("is out of range (magnitude must be below 10^15)")
    if amount.quantize(FEN) != amount:
        raise ValueError("is not a whole number of fen once scaled")
    words = words.strip()
    if words.startswith("元") and len(words) > 1:
        words = words[1:]  # 元人民币 / 元美元 (seen in 注册资本 texts)
    currency = currency_code(words) if words else default_currency
    return Money(amount=amount.quantize(FEN), currency=currency)


def enterprise_status(text: str) -> EnterpriseStatus:
    """存续/在业/开业 -> ACTIVE, 注销 -> CANCELLED, 吊销 -> REVOKED (已注销 -> CANCELLED)."""
    if "吊销" in text:
        return EnterpriseStatus.CANCELLED if "已注销" in text else EnterpriseStatus.REVOKED
    if "注销" in text:
        return EnterpriseStatus.CANCELLED
    if text.startswith(_ACTIVE):
        return EnterpriseStatus.ACTIVE
    return EnterpriseStatus.OTHER


def moment(value: object) -> datetime:
    """An aware datetime from the shapes the sources use (China time when no offset)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch_ms(value)
    if not isinstance(value, str):
        raise ValueError("must be a date-time string")
    text = value.translate(FOLD).strip()
    match = _MOMENT.fullmatch(text)
    if not match:
        raise ValueError("is not a date-time (expected YYYY-MM-DD HH:MM:SS)")
    year, month, day, month2, day2, month3, day3, hour, minute, second, micro, offset = (
        match.groups()
    )
    try:
        zone = CHINA
        if offset:
            zone = UTC if offset == "Z" else _offset(offset)
        return datetime(
            int(year),
            int(month or month2 or month3),
            int(day or day2 or day3),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((micro or "0").ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise ValueError(f"is not a real date-time ({exc})") from None


def epoch_or_date(value: object) -> date:
    """A date from epoch milliseconds (天眼查) or from any date / date-time text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch_ms(value).date()
    return moment(value).astimezone(CHINA).date()


def _from_epoch_ms(value: int) -> datetime:
    low, high = _EPOCH_MS_RANGE
    if not low <= value < high:
        raise ValueError("is not an epoch-millisecond time between 1900 and 2100")
    return datetime.fromtimestamp(value / 1000, CHINA)


def _offset(text: str) -> timezone:
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def read_moment(read: Reader, node: Node, *, required: bool = True) -> datetime | None:
    if node.blank:
        if required:
            read.problems.add(
                node.path, "is required but missing", None if node.missing else node.value
            )
        return None
    return _convert(read.problems, node, moment)


def read_uscc(read: Reader, node: Node, *, required: bool = True) -> str | None:
    """A normalised, checked 统一社会信用代码 ("" for an optional blank one)."""
    raw = read.text(node, required=required, max_len=64)
    if not raw:
        return raw
    code = normalise_uscc(raw)
    why = uscc_problem(code)
    if why:
        read.problems.add(node.path, f"invalid 统一社会信用代码: {why}", node.value)
        return None
    return code


def read_currency(read: Reader, node: Node, *, default: str = "CNY") -> str | None:
    if node.blank:
        return default
    text = read.text(node, max_len=20)
    return None if text is None else _convert(read.problems, node, lambda _: currency_code(text))


def read_capital(read: Reader, node: Node, default_currency: str = "CNY") -> Money | None:
    """Optional capital text; None when blank or wrong (a problem is recorded when wrong)."""
    if node.blank:
        return None
    text = read.text(node, max_len=100)
    if text is None:
        return None
    return _convert(read.problems, node, lambda _: capital(text, default_currency))


def vendor_refusal(
    problems: Problems, node: Node, vendor: str, code: object, message: object
) -> None:
    """An error answer: one problem at the status field naming the vendor's code and message."""
    said = message.strip() if isinstance(message, str) else ""
    problems.add(node.path, f"{vendor} answered with error {code}: {said or 'no message'}", code)


def provenance(
    problems: Problems, system: str, document_id: str | None, raw: bytes, received_at: datetime
) -> Provenance | None:
    if not document_id:
        return None
    try:
        return Provenance(
            source_system=system,
            source_document_id=document_id[:128],
            fingerprint=fingerprint(raw),
            received_at=received_at,
        )
    except ValidationError as exc:
        problems.add_validation_error("provenance", exc)
        return None


def _convert(problems: Problems, node: Node, convert: Callable[[object], T]) -> T | None:
    try:
        return convert(node.value)
    except ValueError as exc:
        problems.add(node.path, str(exc), node.value)
        return None


def sniff_json(raw: bytes, *keys: bytes, absent: tuple[bytes, ...] = ()) -> bool:
    """A JSON object holding every one of `keys` and none of `absent` (never raises)."""
    try:
        data = bytes(raw)
        return (
            data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
            and all(k in data for k in keys)
            and not any(k in data for k in absent)
        )
    except Exception:  # recognise never raises
        return False


def capital_currency_check(read: Reader, node: Node, registered: Money | None) -> None:
    """A separate 币种 field must name the currency the capital text already says."""
    if node.blank or registered is None:
        return
    currency = read_currency(read, node)
    if currency is not None and currency != registered.currency:
        read.problems.add(
            node.path, f"says {currency} but the capital is in {registered.currency}", node.value
        )


def build_profile(
    problems: Problems, fields: dict[str, object], origin: Provenance | None, base: str, source: str
) -> EnterpriseProfile:
    """The profile from fields read without a problem (None values take the defaults)."""
    try:
        return EnterpriseProfile.model_validate(
            {**{k: v for k, v in fields.items() if v is not None}, "provenance": origin}
        )
    except ValidationError as exc:
        problems.add_validation_error(base, exc)
        problems.raise_if_any(source)
        raise


def fold_id(text: str) -> str:
    """An identifier with full-width letters and digits folded, blanks removed, ASCII letters
    upper-cased; nothing else folded (`canonical.text`), so callers' ASCII checks refuse it."""
    return normalise_uscc(text)


def tianyancha_code(value: object) -> int | None:
    """天眼查's `error_code` as an int (digits in a string too); None when it is not one."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return value if isinstance(value, int) and not isinstance(value, bool) else None
