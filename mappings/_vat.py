"""Shared by the VAT invoice mappers (数电 EInvoice XML, legacy `fp:` XML, verification answers).

Encoding repair for XML whose declaration disagrees with its bytes (formats-inbound §0.5), cheap
root sniffing for `recognise`, VAT field readers (rates given as `0.13`, `13%` or `免税`; tax as
`***` on exempt lines), the line checks of §0.3 (tax = amount × rate to the fen, discount lines
directly after the item they discount) and the red-letter rules of §3.4.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from lxml import etree
from pydantic import ValidationError

from canonical import (
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Party,
    PartyRole,
    normalise_uscc,
    uscc_problem,
)
from canonical.text import fold_identifier, hidden_problem, non_ascii_note
from mappings._invoice import fingerprint
from mappings._problems import Problems
from mappings._values import FOLD, fen, to_date, to_decimal, to_rate

__all__ = [
    "EXEMPT_RATES",
    "ORDINARY_TYPES",
    "SPECIAL_TYPES",
    "LineFields",
    "VatDraft",
    "VatLine",
    "amount",
    "finish",
    "invoice_digits",
    "kind_of_type",
    "leaves",
    "local",
    "read_date",
    "read_line",
    "read_party",
    "red_reference",
    "root_name",
    "xml_bytes",
]

SPECIAL_TYPES = frozenset({"01", "08", "31"})
"""专票: paper 01, electronic (OFD) 08, 数电 31 (formats-inbound §3.1)."""
ORDINARY_TYPES = frozenset({"04", "10", "11", "14", "32"})
"""普票: paper 04, electronic 10, roll 11, toll 14, 数电 32."""
EXEMPT_RATES = frozenset({"免税", "不征税", "免征", "免征增值税", "出口免税", "零税率"})
"""Rates given in words: tax is 0 and may be printed as `***` (formats-inbound §3.2)."""

T = TypeVar("T")

_PLAIN = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,10})?")
"""Within to_decimal's limits by construction (below 10^15, at most 10 decimals)."""
_ZERO = Decimal("0")
_BLANK = (None, "")
_STARS = frozenset({"*", "**", "***"})
_DECLARATION = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']"
)
_DECLARATION_TEXT = re.compile(r"\A\ufeff?\s*<\?xml[^>]*\?>")
_GB = frozenset({"gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn", "gb_2312-80"})
_UTF8 = frozenset({"utf-8", "utf8"})
_ROOT = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->)*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)",
    re.DOTALL,
)
_BLUE_NUMBER = re.compile(r"蓝字[^0-9:：]{0,16}号码[:：]?\s*([0-9]{20})")
_BLUE_LEGACY = re.compile(
    r"(?:正数|蓝字)[^0-9:：]{0,8}代码[:：]?\s*([0-9]{10}|[0-9]{12})\s*[,，;；]?\s*号码[:：]?\s*([0-9]{8})"
)
_RED_NOTICE = re.compile(r"(?:信息表|确认单)编号[:：]?\s*([0-9A-Za-z]{1,32})")


def local(element: etree._Element) -> str:
    """The element's local name (comments and processing instructions give "")."""
    tag = element.tag
    if type(tag) is not str:
        return ""
    return tag[tag.index("}") + 1 :] if tag[0] == "{" else tag


def root_name(raw: object) -> str:
    """The local name of the first element of an XML document, or "" (never raises)."""
    if not isinstance(raw, bytes | bytearray):
        return ""
    match = _ROOT.match(bytes(raw[:4096]))
    return match[1].decode("ascii", "replace") if match else ""


def xml_bytes(problems: Problems, raw: bytes, source: str) -> bytes:
    """`raw`, or UTF-8 re-encoded bytes when its declaration disagrees with its content.

    Honour the declaration (§0.5); a document declared UTF-8 (or undeclared) that is not valid
    UTF-8 is read as GB18030, and one declared GBK/GB2312 whose bytes are valid, non-ASCII UTF-8
    is read as UTF-8 (Chinese text in GBK is practically never valid UTF-8). GB-declared documents
    are decoded as GB18030, the superset, since GB2312 decoders stop at GBK-only characters.
    """
    if not isinstance(raw, bytes | bytearray):
        return raw  # parse_untrusted reports the type
    data = bytes(raw)
    match = _DECLARATION.match(data)
    declared = match[1].decode("ascii").lower() if match else None
    if declared is not None and declared not in _UTF8 and declared not in _GB:
        return data  # UTF-16, ISO-8859-1 ...: libxml2 honours the declaration itself
    if declared is None and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if declared is None or declared in _UTF8 or text.isascii():
            return data
        return _redeclared(text)
    try:
        return _redeclared(data.decode("gb18030"))
    except UnicodeDecodeError as exc:
        said = f"declared {declared}" if declared else "undeclared"
        problems.add(
            "",
            f"encoding is {said}, but the bytes are neither UTF-8 nor GB18030 "
            f"(bad byte at {exc.start})",
        )
        problems.raise_if_any(source)
        raise  # unreachable: a problem was just recorded


def _redeclared(text: str) -> bytes:
    body = _DECLARATION_TEXT.sub("", text, count=1).lstrip("\ufeff")
    return b'<?xml version="1.0" encoding="UTF-8"?>' + body.encode("utf-8")


def leaves(problems: Problems, element: etree._Element | None, path: str) -> dict[str, str]:
    """Local name -> trimmed text of `element`'s children; a repeated child is a problem.

    The hot loop of every VAT reader: local names are cut inline rather than through `local`.
    """
    fields: dict[str, str] = {}
    if element is None:
        return fields
    for item in element:  # the parser drops comments and PIs, and entities are refused
        tag = item.tag
        if tag[0] == "{":
            tag = tag[tag.index("}") + 1 :]
        if tag in fields:
            problems.add(f"{path}/{tag}", "appears more than once")
            continue
        text = item.text
        fields[tag] = text.strip() if text else ""
    return fields


def amount(
    problems: Problems, fields: dict[str, str], name: str, path: str, *, required: bool = True
) -> Decimal | None:
    """An exact amount; None when absent (a problem if required) or bad (a problem).

    The path is only built when there is a problem: this runs for every figure of every line.
    """
    text = fields.get(name)
    if text and _PLAIN.fullmatch(text):  # the usual "17000.00": nothing to fold or range-check
        return Decimal(text)
    if not text:
        if required:
            problems.add(
                f"{path}/{name}", "is required but missing" if text is None else "must not be empty"
            )
        return None
    try:
        return to_decimal(text)
    except ValueError as exc:
        problems.add(f"{path}/{name}", str(exc), text)
        return None


def read_date(problems: Problems, text: str, where: str) -> date | None:
    try:
        return to_date(text)
    except ValueError as exc:
        problems.add(where, str(exc), text)
        return None


def invoice_digits(
    problems: Problems, text: str | None, where: str, lengths: tuple[int, ...], what: str
) -> str | None:
    """Digits of an invoice number / code (full-width folded, spaces dropped), length-checked."""
    if not text:
        problems.add(where, "is required but missing" if text is None else "must not be empty")
        return None
    digits = fold_identifier(text)
    if not (digits.isascii() and digits.isdigit() and len(digits) in lengths):
        shown = " or ".join(str(n) for n in lengths)
        problems.add(where, f"{what} must be {shown} digits{non_ascii_note(digits)}", text)
        return None
    return digits


def kind_of_type(code: str) -> InvoiceKind | None:
    """专票 or 普票 from a verification / QR type code (None for other ticket kinds)."""
    if code in SPECIAL_TYPES:
        return InvoiceKind.SPECIAL
    if code in ORDINARY_TYPES:
        return InvoiceKind.ORDINARY
    return None


def read_party(
    problems: Problems,
    name: str | None,
    name_path: str,
    tax_id: str | None,
    id_path: str,
    role: PartyRole,
) -> Party | None:
    """A party from its name and 统一社会信用代码 (normalised, check character verified)."""
    if not name:
        problems.add(name_path, "is required but missing" if name is None else "must not be empty")
    elif len(name) > 140:
        problems.add(name_path, "is longer than 140 characters", name)
        name = None
    elif why := hidden_problem(name):
        problems.add(name_path, why, name)
        name = None
    code = None
    if not tax_id:
        problems.add(
            id_path,
            "is required: a party is identified by its 统一社会信用代码"
            if tax_id is None
            else "must not be empty",
        )
    else:
        code = normalise_uscc(tax_id)
        why = uscc_problem(code)
        if why:
            problems.add(id_path, f"invalid 统一社会信用代码: {why}", tax_id)
            code = None
    if not name or code is None:
        return None
    return Party(name=name, uscc=code, role=role)


@dataclass(frozen=True, slots=True)
class LineFields:
    """The element names of one line's fields in a dialect ("" when it has no such field)."""

    collection: str
    """How problems name the lines: `IssuItemInformation`, `GoodsInfos/GoodsInfo`."""
    description: str
    item_code: str
    quantity: str
    unit_price: str
    amount: str
    rate: str
    tax: str
    total: str


@dataclass(slots=True)
class VatLine:
    """One goods line as read: exact values, None where a problem was recorded."""

    path: str
    description: str
    item_code: str
    quantity: Decimal | None
    unit_price: Decimal | None
    rate: Decimal | None
    amount: Decimal | None
    tax: Decimal | None
    total: Decimal | None


def read_line(
    problems: Problems, fields: dict[str, str], path: str, names: LineFields, tolerance: Decimal
) -> VatLine:
    """One goods line, its tax checked against amount × rate to the fen (within `tolerance`).

    Quantity and price may be absent (service and discount lines, §0.3): they are then 0.
    """
    value = amount(problems, fields, names.amount, path)
    rate_text = fields.get(names.rate)
    rate: Decimal | None = None
    if not rate_text:
        problems.add(
            f"{path}/{names.rate}",
            "is required but missing" if rate_text is None else "must not be empty",
        )
    elif rate_text in EXEMPT_RATES:
        rate = _ZERO
    else:
        rate = _rate(problems, rate_text, f"{path}/{names.rate}")
    if fields.get(names.tax) in _STARS and rate == 0:
        tax: Decimal | None = _ZERO
    else:
        tax = amount(problems, fields, names.tax, path)
    if rate is not None and value is not None and tax is not None:
        expected = fen(value * rate)
        if abs(tax - expected) > tolerance:
            problems.add(
                f"{path}/{names.tax}",
                f"tax {tax} is not amount × rate = {expected} "
                f"(difference {tax - expected}, tolerance {tolerance})",
                tax,
            )
    quantity = amount(problems, fields, names.quantity, path, required=False)
    price = amount(problems, fields, names.unit_price, path, required=False)
    return VatLine(
        path=path,
        description=_free_text(problems, fields, names.description, path),
        item_code=_free_text(problems, fields, names.item_code, path) if names.item_code else "",
        quantity=_ZERO if quantity is None and fields.get(names.quantity) in _BLANK else quantity,
        unit_price=_ZERO if price is None and fields.get(names.unit_price) in _BLANK else price,
        rate=rate,
        amount=value,
        tax=tax,
        total=amount(problems, fields, names.total, path, required=False) if names.total else None,
    )


def _free_text(problems: Problems, fields: dict[str, str], name: str, path: str) -> str:
    """A text field ("" when absent); hidden characters (a bidi override) are a problem."""
    text = fields.get(name, "")
    if why := hidden_problem(text, "\t\n\r"):
        problems.add(f"{path}/{name}", why, text)
        return ""
    return text


def _rate(problems: Problems, text: str, where: str) -> Decimal | None:
    """`13%` / `13` are percent, `0.13` a fraction (a bare number below 1 cannot be a percent
    VAT rate: the lowest non-zero rate is 1 %, written `0.01` or `1%`)."""
    if text == "0" or (text.startswith("0.") and _PLAIN.fullmatch(text)):  # the usual "0.13"
        return Decimal(text).normalize()
    try:
        folded = text.translate(FOLD).strip()
        if folded.endswith(("%", "％")):
            return to_rate(folded)
        value = to_decimal(folded)
        if 0 <= value < 1:
            return value.normalize() if value else _ZERO
        return to_rate(value)
    except ValueError as exc:
        problems.add(where, str(exc), text)
        return None


def red_reference(note: str) -> tuple[str, str]:
    """(key of the blue invoice, 信息表/确认单 number) from a red invoice's remark, or ""."""
    reverses = notice = ""
    if match := _BLUE_NUMBER.search(note):
        reverses = match[1]
    elif match := _BLUE_LEGACY.search(note):
        reverses = match[1] + match[2]
    if match := _RED_NOTICE.search(note):
        notice = match[1]
    return reverses, notice


@dataclass(slots=True)
class VatDraft:
    """An invoice as read (None wherever a problem was recorded), ready to be reconciled."""

    source: str
    base: str
    number: str | None
    code: str | None
    kind: InvoiceKind | None
    blue: bool
    issue_date: date | None
    seller: Party | None
    buyer: Party | None
    buyer_path: str
    amount: Decimal | None
    amount_path: str
    tax: Decimal | None
    tax_path: str
    total: Decimal | None
    total_path: str
    lines: list[VatLine] | None
    lines_path: str
    names: LineFields
    reverses: str = ""
    reverses_path: str = ""
    red_notice: str = ""
    check_code: str = ""
    order_numbers: tuple[str, ...] = ()
    reverses_required: bool = True
    """A red invoice must name the blue one (§3.4); a verification answer need not."""
    status: InvoiceStatus | None = None
    """When the source states it (verification); else NORMAL if blue, RED_FLUSHED if red."""


def finish(
    problems: Problems, draft: VatDraft, raw: bytes, received_at: datetime, tolerance: Decimal
) -> Invoice:
    """Reconcile (signs, red rules, sums, discounts), raise every problem at once, or build."""
    _reconcile(problems, draft, tolerance)
    problems.raise_if_any(draft.source)
    try:
        return _build(draft, raw, received_at)
    except ValidationError as exc:
        problems.add_validation_error(draft.base, exc)
        problems.raise_if_any(draft.source)
        raise


def _reconcile(problems: Problems, draft: VatDraft, tolerance: Decimal) -> None:
    add = problems.add
    blue, names = draft.blue, draft.names
    headers = (
        (draft.amount, draft.amount_path, False),
        (draft.tax, draft.tax_path, False),
        (draft.total, draft.total_path, True),
    )
    for value, where, is_total in headers:
        if value is None:
            continue
        if is_total and value == 0:
            add(where, "total must not be zero", value)
        elif blue and value < 0:
            add(where, "must not be negative on a blue invoice", value)
        elif not blue and value > 0:
            add(where, "must not be positive on a red-letter invoice", value)
    if (
        not blue
        and draft.reverses_required
        and not draft.reverses
        and not any(p.startswith(draft.reverses_path) for p in problems.paths)
    ):
        add(draft.reverses_path, "a red-letter invoice must name the blue invoice it reverses")
    a, t, s = draft.amount, draft.tax, draft.total
    if a is not None and t is not None and s is not None:
        difference = a + t - s
        if abs(difference) > tolerance:
            add(
                draft.total_path,
                f"amount + tax = {a + t} does not equal the total {s} "
                f"(difference {difference}, tolerance {tolerance})",
                s,
            )
        elif fen(a) + fen(t) != fen(s):
            add(
                draft.total_path,
                f"amount + tax = {a + t} is within tolerance of the total {s}, "
                f"but at the fen {fen(a)} + {fen(t)} != {fen(s)} and a canonical invoice must "
                "add up exactly",
                s,
            )
    if draft.seller and draft.buyer and draft.seller.uscc == draft.buyer.uscc:
        add(draft.buyer_path, "the buyer has the seller's 统一社会信用代码", draft.buyer.uscc)
    lines = draft.lines
    if lines is None:
        return
    if not lines:
        add(draft.lines_path, "must have at least one line", [])
        return
    for line in lines:
        if line.amount is not None and line.tax is not None and line.total is not None:
            difference = line.amount + line.tax - line.total
            if abs(difference) > tolerance:
                add(
                    f"{line.path}/{names.total}",
                    f"amount + tax = {line.amount + line.tax} "
                    f"does not equal the line total {line.total} (difference {difference}, "
                    f"tolerance {tolerance})",
                    line.total,
                )
    _discounts(problems, lines, blue, names)
    columns: list[tuple[Decimal | None, str, str, list[Decimal | None]]] = [
        (draft.amount, draft.amount_path, names.amount, [x.amount for x in lines]),
        (draft.tax, draft.tax_path, names.tax, [x.tax for x in lines]),
    ]
    if names.total and all(x.total is not None for x in lines):
        columns.append((draft.total, draft.total_path, names.total, [x.total for x in lines]))
    for stated, where, key, values in columns:
        present = [v for v in values if v is not None]
        if stated is None or len(present) != len(values):
            continue
        summed = sum(present, _ZERO)
        if abs(stated - summed) > tolerance:
            add(
                where,
                f"does not match the lines: the sum of {names.collection}[*].{key} is "
                f"{summed}, the header says {stated} (difference {stated - summed}, tolerance "
                f"{tolerance})",
                stated,
            )


def _discounts(problems: Problems, lines: Sequence[VatLine], blue: bool, names: LineFields) -> None:
    """§0.3: a line of the opposite sign discounts the regular line directly before it."""
    previous: VatLine | None = None
    for line in lines:
        value = line.amount
        if value is None:
            previous = None
            continue
        if not (value < 0 if blue else value > 0):
            previous = line
            continue
        where = f"{line.path}/{names.amount}"
        if previous is None or previous.amount is None:
            problems.add(
                where, "a discount line must directly follow the item line it discounts", value
            )
        elif abs(value) > abs(previous.amount):
            problems.add(
                where,
                f"discount {value} is larger than the {names.amount} "
                f"{previous.amount} of the line it discounts",
                value,
            )
        elif line.rate is not None and previous.rate is not None and line.rate != previous.rate:
            problems.add(
                f"{line.path}/{names.rate}",
                f"a discount line must have the rate of the line it discounts ({previous.rate})",
                line.rate,
            )
        previous = None


def _present(value: T | None) -> T:
    if value is None:  # unreachable once the problems list was empty
        raise RuntimeError("a field with no recorded problem is missing")
    return value


def _build(draft: VatDraft, raw: bytes, received_at: datetime) -> Invoice:
    """One validation of the whole tree (nested dicts): cheaper than a model call per part."""
    number, code = _present(draft.number), draft.code or ""
    return Invoice.model_validate(
        {
            "number": number,
            "code": code,
            "kind": _present(draft.kind),
            "issue_date": _present(draft.issue_date),
            "seller": _present(draft.seller),
            "buyer": _present(draft.buyer),
            "amount": {"amount": fen(_present(draft.amount))},
            "tax": {"amount": fen(_present(draft.tax))},
            "total": {"amount": fen(_present(draft.total))},
            "status": draft.status
            or (InvoiceStatus.NORMAL if draft.blue else InvoiceStatus.RED_FLUSHED),
            "lines": tuple(
                {
                    "line_no": i,
                    "item_code": line.item_code,
                    "description": line.description,
                    "quantity": _present(line.quantity),
                    "unit_price": _present(line.unit_price),
                    "tax_rate": _present(line.rate),
                    "amount": fen(_present(line.amount)),
                    "tax": fen(_present(line.tax)),
                }
                for i, line in enumerate(_present(draft.lines), start=1)
            ),
            "order_numbers": draft.order_numbers,
            "provenance": {
                "source_system": draft.source,
                "source_document_id": f"{code}{number}",
                "fingerprint": fingerprint(raw),
                "received_at": received_at,
            },
            "check_code": draft.check_code,
            "reverses": draft.reverses,
            "red_notice": draft.red_notice,
        }
    )
