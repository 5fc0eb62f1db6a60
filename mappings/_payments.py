"""Helpers shared by the payment-side mappers (camt.054, e-CNY, CNAPS2, bank-core SOAP).

Reading: element children by local name, each bad or missing value one Problem at an XPath-like
path (`/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/Amt`). Writing: text checks, so a
document the partner cannot parse is refused before it is built.
"""

from __future__ import annotations

import codecs
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

from lxml import etree

from canonical import FEN, Money
from mappings._problems import Problems
from mappings._values import FOLD, to_date, to_decimal
from mappings._xml import child, text_of

__all__ = [
    "CHINA",
    "NOT_XML",
    "XmlFields",
    "check_text",
    "fen_text",
    "money_amount",
    "readable_xml",
    "to_datetime",
]

CHINA = timezone(timedelta(hours=8))
"""Bank and e-CNY timestamps without an offset are China local time (formats-inbound §0.4)."""
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_DATETIME = re.compile(
    r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})[ T]?([0-9]{2}):?([0-9]{2}):?([0-9]{2})"
    r"(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DECLARED = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)[\"']")
_CHINESE_ENCODINGS = frozenset({b"gbk", b"gb2312", b"gb18030", b"cp936", b"euc-cn"})
_UTF8 = frozenset({b"utf-8", b"utf8"})


def to_datetime(value: object) -> datetime:
    """An aware datetime from ISO 8601 (offset optional), `yyyy-MM-dd HH:mm:ss` or
    `yyyyMMddHHmmss`; without an offset it is China time."""
    if not isinstance(value, str):
        raise ValueError(f"must be a date-time string, got {type(value).__name__}")
    text = value.translate(FOLD).strip()
    match = _DATETIME.fullmatch(text)
    if not match:
        raise ValueError(
            "is not a date-time (expected YYYY-MM-DDThh:mm:ss, optionally with an "
            "offset, or yyyyMMddHHmmss)"
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone: tzinfo = CHINA
    if offset == "Z":
        zone = UTC
    elif offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            raise ValueError("has an offset of a day or more")
        zone = timezone(sign * timedelta(minutes=minutes))
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=zone
        )
    except ValueError as exc:
        raise ValueError(f"is not a real date-time ({exc})") from None


def money_amount(value: object) -> Decimal:
    """A non-negative amount exact to the fen (a bank never books a fraction of a fen)."""
    number = to_decimal(value)
    if number < 0:
        raise ValueError("must not be negative")
    exact = number.quantize(FEN)
    if exact != number:
        raise ValueError("has more than 2 decimals")
    return exact


def fen_text(amount: Decimal) -> str:
    """`1234.50`: exactly two decimals (callers checked there are no more)."""
    return format(amount.quantize(FEN), "f")


def check_text(problems: Problems, path: str, text: str, *, max_len: int | None = None) -> None:
    """Problems for a value a writer is about to put on the wire."""
    if NOT_XML.search(text):
        problems.add(path, "contains characters XML cannot carry", text)
    if max_len is not None and len(text) > max_len:
        problems.add(path, f"is longer than {max_len} characters", text)


def readable_xml(raw: bytes) -> bytes:
    """`raw`, or the same document as UTF-8 when its bytes contradict its declaration.

    Chinese bank XML is often GBK without saying so, or says GBK and is UTF-8 (§0.5): the
    declaration is honoured when the bytes agree with it; otherwise the encoding that does decode
    them (UTF-8 first, then GB18030) is used. Anything else is left for the parser to refuse.
    """
    if not isinstance(raw, bytes | bytearray) or raw.startswith(
        (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        return raw
    declared = _DECLARED.match(raw)
    encoding = declared[1].lower() if declared else b"utf-8"
    if encoding in _UTF8:
        try:
            raw.decode("utf-8")
            return raw
        except UnicodeDecodeError:
            return _transcoded(raw, declared, "gb18030")
    if encoding in _CHINESE_ENCODINGS:
        try:
            raw.decode("gb18030")
            return raw
        except UnicodeDecodeError:
            return _transcoded(raw, declared, "utf-8")
    return raw


def _transcoded(raw: bytes, declared: re.Match[bytes] | None, encoding: str) -> bytes:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        return raw  # neither: the parser reports the bad byte
    data = text.encode("utf-8")
    if declared:  # the declaration is ASCII, so its span is the same in the new bytes
        start, end = declared.span(1)
        data = data[:start] + b"UTF-8" + data[end:]
    return data


class XmlFields:
    """Typed reads of child elements; every bad or missing value becomes one Problem."""

    __slots__ = ("problems",)

    def __init__(self, problems: Problems) -> None:
        self.problems = problems

    def text(
        self,
        parent: etree._Element | None,
        name: str,
        path: str,
        *,
        required: bool = False,
        max_len: int = 35,
    ) -> str:
        """The child's trimmed text; "" when absent (a problem when required)."""
        value = text_of(child(parent, name))
        if not value:
            if required and parent is not None:
                self.problems.add(f"{path}/{name}", "is required")
            return ""
        if len(value) > max_len:
            self.problems.add(f"{path}/{name}", f"is longer than {max_len} characters", value)
            return ""
        return value

    def money(
        self, element: etree._Element | None, path: str, *, required: bool = True
    ) -> Money | None:
        """An ISO `<Amt Ccy="CNY">1234.50</Amt>` (amount messy-tolerant, exact to the fen)."""
        if element is None:
            if required:
                self.problems.add(path, "is required")
            return None
        amount = None
        try:
            amount = money_amount(text_of(element))
        except ValueError as exc:
            self.problems.add(path, str(exc), text_of(element))
        currency = (element.get("Ccy") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            self.problems.add(
                f"{path}/@Ccy", "must be a three-letter ISO 4217 currency code", element.get("Ccy")
            )
            return None
        return None if amount is None else Money(amount=amount, currency=currency)

    def date(self, element: etree._Element | None, path: str) -> date | None:
        """An ISO date, also from the other forms banks use; None when absent or wrong."""
        value = text_of(element)
        if not value:
            return None
        try:
            return to_date(value)
        except ValueError as exc:
            self.problems.add(path, str(exc), value)
            return None

    def moment(
        self, element: etree._Element | None, path: str, *, required: bool = False
    ) -> datetime | None:
        value = text_of(element)
        if not value:
            if required:
                self.problems.add(path, "is required")
            return None
        try:
            return to_datetime(value)
        except ValueError as exc:
            self.problems.add(path, str(exc), value)
            return None
