"""Shared by the customs mappers (DecMessage, CEB): XML intake, field reads, codes and dates.

Customs XML is UTF-8 by rule (formats-inbound §0.5), but a file re-saved by a Windows tool may
be GB18030 under a UTF-8 (or no) declaration: such bytes are transcoded before parsing, while a
declared GBK/GB2312/GB18030 is honoured by the parser itself. A `DxpMsg` transport envelope
(§4.1) is opened and its Base64 `Data` read as the document.
"""

from __future__ import annotations

import binascii
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from lxml import etree

from canonical.text import fold_identifier, hidden_problem
from mappings._problems import Problems
from mappings._values import FOLD, SPACES, to_date, to_decimal
from mappings._xml import MAX_XML_BYTES, child, local_name, namespace, parse_untrusted, text_of

__all__ = [
    "CHINA",
    "CUSTOMS_CURRENCIES",
    "DXP_NAMESPACE",
    "ISO_CURRENCIES",
    "Section",
    "check_line_total",
    "check_namespace",
    "currency_code",
    "customs_date",
    "customs_moment",
    "identifier",
    "parse_customs_xml",
    "sniff_root",
]

CHINA = timezone(timedelta(hours=8))
DXP_NAMESPACE = "http://www.chinaport.gov.cn/dxp"
CUSTOMS_CURRENCIES = {"142": "CNY", "502": "USD"}
"""Legacy numeric customs currency codes named by formats-inbound §4.3/§4.5; others are refused."""
ISO_CURRENCIES = frozenset(
    {
        "AUD",
        "CAD",
        "CHF",
        "CNY",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "JPY",
        "KRW",
        "MOP",
        "NOK",
        "NZD",
        "RUB",
        "SEK",
        "SGD",
        "THB",
        "TWD",
        "USD",
    }
)
"""3-letter codes of the 2018 format that we accept; `RMB` and other look-alikes are refused."""
PRICE_DIGITS = 4
"""DeclPrice has at most 4 decimals: a line total may miss qty x price by that rounding."""

_DECLARATION = re.compile(
    rb"^(\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)"
    rb"[\"']"
)
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_START = re.compile(r"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)([^>]*)>", re.DOTALL)
_XMLNS = re.compile(r"xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*[\"']([^\"']*)[\"']")
_COMPACT = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{2})([0-9]{2})"
    r"(?:[0-9]{2})?)?"
)
_SEPARATED = re.compile(
    r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})"
    r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?)?"
)
_SNIFF_BYTES = 4096
_DATA = re.compile(r"<(?:[\w.-]+:)?Data\s*>\s*([A-Za-z0-9+/=\s]{8,})")


def parse_customs_xml(problems: Problems, raw: bytes, source: str) -> tuple[etree._Element, str]:
    """(root, path prefix) of the document, opening a DxpMsg envelope; MappingError if unreadable.

    The prefix is "" for a bare document and "/DxpMsg/Data" when it came Base64-wrapped, so
    problem paths say where the offending value really was.
    """
    root = parse_untrusted(problems, _transcoded(raw), source)
    if local_name(root) != "DxpMsg":
        return root, ""
    data = child(root, "Data")
    try:
        encoded = "".join(text_of(data).split()).encode("ascii")
        inner = binascii.a2b_base64(encoded, strict_mode=True)
    except (ValueError, binascii.Error) as exc:
        problems.add("/DxpMsg/Data", f"is not Base64 ({exc})", text_of(data)[:80])
        problems.raise_if_any(source)
        raise
    if not inner:
        problems.add("/DxpMsg/Data", "is required: the envelope carries no document")
        problems.raise_if_any(source)
    return parse_untrusted(problems, _transcoded(inner), source), "/DxpMsg/Data"


def _transcoded(raw: bytes) -> bytes:
    """UTF-8-declared (or undeclared) bytes that are not UTF-8 but GB18030 -> UTF-8 bytes."""
    if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_XML_BYTES:
        return raw  # parse_untrusted reports it
    declared = _DECLARATION.match(raw)
    if declared is not None and declared.group(2).decode().lower() not in _UTF8_NAMES:
        return bytes(raw)  # honour GBK / GB18030 / UTF-16 declarations
    try:
        bytes(raw).decode("utf-8")
        return bytes(raw)
    except UnicodeDecodeError:
        pass
    data = bytes(raw).removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return bytes(raw)  # neither: the parser reports where it breaks
    return text.encode("utf-8")  # any declaration already says UTF-8 (or nothing)


def sniff_root(raw: object) -> tuple[str, str] | None:
    """(local name, namespace URI or "") of the first element, looking inside a DxpMsg.

    Cheap and never raises: reads at most the first few KiB (of a DxpMsg, the start of its Data).
    """
    try:
        return _sniff(raw)
    except Exception:  # recognise() must never raise, whatever the bytes
        return None


def _sniff(raw: object) -> tuple[str, str] | None:
    if not isinstance(raw, bytes | bytearray):
        return None
    found = _first_start_tag(bytes(raw[:_SNIFF_BYTES]))
    if found is None:
        return None
    local, uri, rest = found
    if local != "DxpMsg" or uri not in (DXP_NAMESPACE, ""):
        return local, uri
    match = _DATA.search(rest)
    if match is None:
        return None
    encoded = "".join(match.group(1).split())[:1400]
    inner = _first_start_tag(binascii.a2b_base64(encoded[: len(encoded) // 4 * 4]))
    return None if inner is None else (inner[0], inner[1])


def _first_start_tag(data: bytes) -> tuple[str, str, str] | None:
    """(local name, namespace URI or "", the text after the tag) of the first element."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = (
        data.decode("utf-8", "replace") if _is_utf8ish(data) else data.decode("gb18030", "replace")
    )
    position = 0
    while (skipped := _PROLOG.match(text, position)) is not None and skipped.end() > position:
        position = skipped.end()
    while text[position : position + 1].isspace():
        position += 1
    start = _START.match(text, position)
    if start is None:
        return None
    prefix, local, attributes = start.group(1) or "", start.group(2), start.group(3)
    uri = ""
    for declared_prefix, value in _XMLNS.findall(attributes):
        if declared_prefix == prefix:
            uri = value
    return local, uri, text[start.end() :]


def _is_utf8ish(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3  # only a character cut by the window
    return True


def identifier(text: str) -> str:
    """An identifier with full-width forms folded and every blank removed (`ＥＮ 01` -> `EN01`);
    no other fold (`canonical.text`): what is left is checked by the caller."""
    return fold_identifier(text)


def currency_code(text: str) -> str:
    """ISO 4217 code of a customs currency: 3 letters (2018 format) or a legacy numeric code."""
    code = identifier(text).upper()
    if code in ISO_CURRENCIES:
        return code
    iso = CUSTOMS_CURRENCIES.get(code)
    if iso is not None:
        return iso
    known = ", ".join(f"{k} ({v})" for k, v in CUSTOMS_CURRENCIES.items())
    raise ValueError(
        f"unknown customs currency code: expected an ISO code such as USD or one of "
        f"the legacy codes {known}"
    )


def customs_moment(text: str) -> datetime:
    """A China-time moment from `yyyyMMdd[HHmmss[00]]` or `yyyy-MM-dd[ HH:mm[:ss]]`."""
    folded = text.translate(FOLD).strip()
    match = _COMPACT.fullmatch(folded) or _SEPARATED.fullmatch(folded)
    if match is None:
        if "年" in folded:
            return datetime.combine(to_date(folded), datetime.min.time(), CHINA)
        raise ValueError(
            "is not a customs date (expected yyyyMMdd, yyyyMMddHHmmss, "
            "yyyyMMddHHmmss00 or yyyy-MM-dd HH:mm:ss)"
        )
    year, month, day, hour, minute, second = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=CHINA,
        )
    except ValueError as exc:
        raise ValueError(f"is not a real date ({exc})") from None


def customs_date(text: str) -> date:
    """The calendar date of any customs date or timestamp form."""
    return customs_moment(text).date()


def check_line_total(
    problems: Problems,
    path: str,
    quantity: Decimal,
    price: Decimal,
    total: Decimal,
    tolerance: Decimal,
    labels: tuple[str, str, str],
) -> None:
    """qty x price must give the line total, allowing the declared price's own rounding.

    A customs unit price is the total divided by the quantity, rounded to at most 4 decimals,
    so the product may miss the total by up to qty x half a unit of the price's last place.
    """
    exponent = price.as_tuple().exponent
    places = min(exponent if isinstance(exponent, int) else 0, -PRICE_DIGITS)
    allowed = max(tolerance, abs(quantity) * Decimal(5).scaleb(places - 1))
    product = quantity * price
    if abs(product - total) > allowed:
        qty_name, price_name, total_name = labels
        problems.add(
            path,
            f"{qty_name} x {price_name} = {product} does not match {total_name} "
            f"{total} (difference {product - total}, allowed {allowed})",
            str(total),
        )


class Section:
    """The children of one XML element by local name, each read with a problem if it is bad.

    Fields are checked only when read, so nested or repeated elements the mapper does not use
    (DecGoodsLimits inside a DecList, say) are left alone.
    """

    __slots__ = ("path", "problems", "repeated", "values")

    def __init__(self, problems: Problems, element: etree._Element | None, path: str) -> None:
        self.problems = problems
        self.path = path
        values: dict[str, etree._Element] = {}
        repeated: set[str] = set()
        if element is not None:
            for item in element:
                tag = item.tag
                if isinstance(tag, str):
                    name = tag.rpartition("}")[2]
                    if name in values:
                        repeated.add(name)
                    else:
                        values[name] = item
        self.values = values
        self.repeated = repeated

    def raw(self, name: str) -> str | None:
        """The untrimmed text; "" when absent; None (with a problem) when not a single value."""
        item = self.values.get(name)
        if item is None:
            return ""
        if name in self.repeated:
            self.problems.add(f"{self.path}/{name}", "appears more than once")
            return None
        if len(item):
            self.problems.add(f"{self.path}/{name}", "must be a value, not nested elements")
            return None
        return item.text or ""

    def text(self, name: str, *, required: bool = False, max_len: int = 255) -> str | None:
        """The trimmed text ("" when optional and absent); None when there is a problem."""
        raw = self.raw(name)
        if raw is None:
            return None
        text = raw.strip(SPACES)
        if why := hidden_problem(text, "\t\n\r"):
            self.problems.add(f"{self.path}/{name}", why, raw)
            return None
        if not text:
            if required:
                where = f"{self.path}/{name}"
                self.problems.add(
                    where,
                    "must not be empty" if name in self.values else "is required but missing",
                    raw if raw else None,
                )
                return None
            return ""
        if len(text) > max_len:
            self.problems.add(f"{self.path}/{name}", f"is longer than {max_len} characters", text)
            return None
        return text

    def ident(
        self,
        name: str,
        *,
        required: bool = False,
        max_len: int = 64,
        pattern: re.Pattern[str] | None = None,
        expected: str = "",
    ) -> str | None:
        """An identifier: full-width folded, blanks removed, optionally matched to `pattern`."""
        text = self.text(name, required=required, max_len=max_len * 2)
        if not text:
            return text
        value = identifier(text)
        if why := hidden_problem(value):
            self.problems.add(f"{self.path}/{name}", why, text)
            return None
        if len(value) > max_len:
            self.problems.add(f"{self.path}/{name}", f"is longer than {max_len} characters", text)
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problems.add(f"{self.path}/{name}", f"must be {expected}", text)
            return None
        return value

    def amount(self, name: str, *, required: bool = True) -> Decimal | None:
        text = self.text(name, required=required)
        if not text:
            return None
        try:
            return to_decimal(text)
        except ValueError as exc:
            self.problems.add(f"{self.path}/{name}", str(exc), text)
            return None

    def moment(self, name: str, *, required: bool = True) -> datetime | None:
        text = self.text(name, required=required)
        if not text:
            return None
        try:
            return customs_moment(text)
        except ValueError as exc:
            self.problems.add(f"{self.path}/{name}", str(exc), text)
            return None

    def date(self, name: str, *, required: bool = True) -> date | None:
        moment = self.moment(name, required=required)
        return None if moment is None else moment.date()

    def currency(self, name: str, *, required: bool = True) -> str | None:
        text = self.text(name, required=required)
        if not text:
            return None
        try:
            return currency_code(text)
        except ValueError as exc:
            self.problems.add(f"{self.path}/{name}", str(exc), text)
            return None

    def where(self, name: str) -> str:
        return f"{self.path}/{name}"


def check_namespace(problems: Problems, root: etree._Element, expected: str, path: str) -> None:
    """A namespaced root must be in `expected`; an un-namespaced one is accepted as is."""
    uri = namespace(root)
    if uri is not None and uri != expected:
        problems.add(path, f"namespace {uri!r} is not {expected!r}")
