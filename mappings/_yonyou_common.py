"""Shared by the Yonyou mappers (YonBIP detail/receivable/order, NC Cloud, U8, ufinterface).

The YonBIP answer envelope, money that may be a JSON number or a string, per-line VAT checks,
lines read into the drafts of `mappings._invoice`, booleans and currency names as Yonyou sends
them, and a cheap JSON sniff for the catalogue's `recognise` functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from canonical.text import fold_full_width, hidden_problem
from mappings._fields import Node, Reader
from mappings._invoice import Checker, Figure, Labels, LineDraft, OrderDraft, check_line_tax
from mappings._problems import Problems

__all__ = [
    "SNIFF_LIMIT",
    "answer_data",
    "check_order",
    "currency",
    "flag",
    "ident",
    "inner",
    "money",
    "optional_money",
    "sniff_json",
    "yonbip_lines",
]

SNIFF_LIMIT = 512 * 1024
"""`recognise` looks at bodies up to this size only (a real document is a few KiB)."""

_CURRENCY_NAMES = {
    "人民币": "CNY",
    "RMB": "CNY",
    "美元": "USD",
    "欧元": "EUR",
    "日元": "JPY",
    "港币": "HKD",
    "港元": "HKD",
    "英镑": "GBP",
}
_TRUE = frozenset({"1", "true", "y", "yes", "是"})
_FALSE = frozenset({"0", "false", "n", "no", "否", ""})


def answer_data(read: Reader, root: Node) -> Node | None:
    """The `data` of a YonBIP/NCC answer (`{"code": "200"|200, "data": ...}`), else the root.

    A `code` other than 200 (YonBIP) or `success: false` (NC Cloud) is an error answer: it is
    reported with its message instead of being read as a document.
    """
    code, success = root.get("code"), root.get("success")
    data = root.get("data")
    if data.missing:
        return root
    failed = success.value is False or (
        success.missing and not code.blank and str(code.value).strip() not in ("200", "00000")
    )
    if failed:
        message = root.get("message").value
        reason = "an error answer, not a document"
        if isinstance(message, str) and message.strip():
            reason += f": {message.strip()}"
        read.problems.add(
            (code if success.missing else success).path,
            reason,
            code.value if success.missing else success.value,
        )
        return None
    return data


def ident(read: Reader, node: Node, *, required: bool = False, max_len: int = 64) -> str | None:
    """An identifier (document number, code) with full-width forms folded (`ＴＩ` -> `TI`); no
    other fold (not NFKC: `①` does not become `1`), and no line break or hidden character."""
    text = read.text(node, required=required, max_len=max_len * 2)
    if not text or (text.isascii() and text.isprintable()):
        return text
    folded = fold_full_width(text).strip()
    if why := hidden_problem(folded):
        read.problems.add(node.path, why, node.value)
        return None
    if len(folded) > max_len:
        read.problems.add(node.path, f"is longer than {max_len} characters", node.value)
        return None
    return folded


def money(read: Reader, node: Node, *, floats: bool = True, required: bool = True) -> Figure:
    """An amount as a Figure; `floats=False` refuses JSON fractions (YonBIP save bodies)."""
    return Figure(read.amount(node, allow_float=floats, required=required), node)


def optional_money(read: Reader, node: Node, *, floats: bool = True) -> Figure:
    """Like `money`, but an absent field is no problem (Figure without value or path)."""
    if node.blank:
        return Figure(None, "")
    return money(read, node, floats=floats)


def yonbip_lines(
    read: Reader, node: Node, labels: Labels, *, floats: bool = True, prices: str = ""
) -> list[LineDraft] | None:
    """YonBIP lines (`lineno`, `productCode`, `qty`, `oriUnitPrice`, `taxRate`, money by labels).

    With `prices`, a figure missing from the line is read from that nested object (a sales
    order's `orderDetailPrices`), at its own path.
    """
    entries = read.array(node)
    if entries is None:
        return None
    drafts = []
    for index, entry in enumerate(entries):
        if read.object(entry) is None:
            continue
        nested = entry.get(prices) if prices else None
        if nested is not None and not isinstance(nested.value, dict):
            nested = None

        def pick(*keys: str, entry: Node = entry, nested: Node | None = nested) -> Node:
            found = entry.first(*keys)
            return nested.first(*keys) if found.blank and nested is not None else found

        line_no = entry.get("lineno")
        order_number = ident(read, entry.get("orderNo"))
        if not order_number and entry.get("source").value == "voucher_order":
            order_number = ident(read, entry.get("srcVoucherNo"))
        drafts.append(
            LineDraft(
                path=entry.path,
                line_no=index + 1 if line_no.blank else read.integer(line_no),
                item_code=ident(read, entry.get("productCode")),
                description=read.text(entry.get("productName"), required=False),
                quantity=read.amount(entry.first("qty", "priceQty")),
                unit_price=read.amount(pick("oriUnitPrice"), allow_float=floats),
                tax_rate=read.rate(pick("taxRate")),
                amount=money(read, pick(labels.amount), floats=floats),
                tax=money(read, pick(labels.tax), floats=floats),
                total=money(read, pick(labels.total), floats=floats),
                order_number=order_number,
            )
        )
    return drafts


def check_order(problems: Problems, order: OrderDraft, tolerance: Decimal) -> None:
    """amount + tax = total on the header and every line, and Σ lines = header (as for orders)."""
    check_line_tax(problems, order.lines or (), tolerance)  # first: a bad tax is one problem
    Checker(problems, tolerance).order(order)


def flag(read: Reader, node: Node) -> bool | None:
    """A Yonyou boolean: true/false, 1/0, "1"/"0", "true"/"false", "Y"/"N", 是/否; absent false."""
    value = node.value
    if node.missing or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    read.problems.add(node.path, "must be a boolean (true/false, 1/0, Y/N, 是/否)", value)
    return None


def currency(read: Reader, node: Node, *, names: bool = False) -> str | None:
    """An ISO 4217 code (CNY when absent); `names` also accepts U8 currency names (人民币)."""
    if node.blank:
        return "CNY"
    text = read.text(node, max_len=16)
    if text is None:
        return None
    if names and text in _CURRENCY_NAMES:
        return _CURRENCY_NAMES[text]
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        reason = "must be an ISO 4217 currency code"
        if names:
            reason += " or a currency name (" + ", ".join(_CURRENCY_NAMES) + ")"
        read.problems.add(node.path, reason, node.value)
        return None
    return text.upper()


def sniff_json(raw: bytes, accept: Callable[[dict[str, object]], bool]) -> bool:
    """Whether `raw` is a JSON object that `accept` likes; never raises."""
    try:
        if not isinstance(raw, bytes | bytearray) or len(raw) > SNIFF_LIMIT:
            return False
        head = bytes(raw[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith(b"{"):
            return False
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            text = bytes(raw).decode("gb18030")
        value = json.loads(text)
        return isinstance(value, dict) and accept(value)
    except Exception:  # recognise never raises, whatever the bytes
        return False


def inner(value: object) -> dict[str, object] | None:
    """The document object of a sniffed body: `data` (an object, or a one-item list) or the root."""
    if not isinstance(value, dict):
        return None
    data = value.get("data", value)
    if isinstance(data, list) and data:
        data = data[0]
    return data if isinstance(data, dict) else None
