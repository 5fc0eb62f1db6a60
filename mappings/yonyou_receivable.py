"""Yonyou receivables -> canonical.ReceivableBill: YonBIP 应收事项 and NC Cloud 应收单 (F0).

YonBIP (formats-inbound §1.5, `POST /yonbip/fi/oar/save` and its detail answer): the save body
`{"data": [{...}]}` (exactly one bill), the answer `{"code": "200", "data": {...}}` or the bare
bill. Header `code`, `vouchdate`, `accentity_code` (the seller's 会计主体), `customer_code`,
`currency`/`currency_code`, `maturitydate`, `oriSum` (and `oriMoney`/`oriTax` when sent),
`invoiceno`, `orderno`; red when `billdirection` is 1, `redflag` is true or `billtype` is 3
(红字销售发票). Lines `oarDetail[]`; the collection plan `oarProtocol[]` (`maturitydate`,
`oriSum`) becomes the instalments, which must add up to the total.

NC Cloud (§1.4): the exact OpenAPI JSON was not found [L], so this reads the NC VO field names
the reference gives: `{"success": true, "data": {"ar_recbill": {...}, "ar_recitem": [...]}}`
with header `billno`, `billdate`, `pk_org`, `customer`, `pk_currtype`, `money` (价税合计,
negative on a red bill), `pk_billtype` (F0 when present) and items `material`, `quantity_de`,
`price`, `taxrate`, `notax_de`, `tax_de`, `money_de`, `invoiceno`, `expiredate` (the latest is
the due date).

Signs are not guessed: a red bill must carry a negative total and a blue one a positive total;
anything else is a problem. Seller and buyer come as ERP codes (neither source carries a tax
number), so `seller`/`buyer` stay None and matching resolves them by code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import ValidationError

from canonical import Instalment, Money, Provenance, ReceivableBill
from mappings._fields import Node, Reader, read_document
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Figure,
    Labels,
    LineDraft,
    OrderDraft,
    check_tolerance,
    document_line,
    fingerprint,
)
from mappings._problems import Problems, guarded, require_aware
from mappings._values import FOLD, fen
from mappings._yonyou_common import (
    answer_data,
    check_order,
    currency,
    flag,
    ident,
    inner,
    money,
    optional_money,
    sniff_json,
)
from mappings.catalogue import InboundFormat

__all__ = ["INBOUND", "ncc_receivable_to_canonical", "yonbip_receivable_to_canonical"]

T = TypeVar("T")

SOURCE_YONBIP = "yonyou"
SOURCE_NCC = "ncc"
_YONBIP_LABELS = Labels("oarDetail", "oriMoney", "oriTax", "oriSum")
_NCC_LABELS = Labels("ar_recitem", "notax_de", "tax_de", "money_de")
_KEYS = re.compile(r"[,，;；、\s]+")
_PRICE_PLACES = Decimal("0.00000001")


@dataclass(slots=True)
class _Bill:
    """What was read (None where a problem was recorded), before the checks and the build."""

    number: str | None
    bill_date: date | None
    due_date: date | None
    seller_code: str
    buyer_code: str
    currency: str | None
    red: bool | None
    total: Figure
    amount: Figure
    tax: Figure
    lines: list[LineDraft] | None
    lines_path: str
    labels: Labels
    invoice_keys: list[str] = field(default_factory=list)
    order_numbers: list[str] = field(default_factory=list)
    instalments: list[tuple[date | None, Figure]] | None = None
    plan_path: str = ""


def yonbip_receivable_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> ReceivableBill:
    """Map a YonBIP 应收事项 (save body or detail answer); MappingError lists every problem."""
    return guarded(SOURCE_YONBIP, lambda: _map(raw, received_at, tolerance, SOURCE_YONBIP))


def ncc_receivable_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> ReceivableBill:
    """Map an NC Cloud 应收单 (ar_recbill + ar_recitem); MappingError lists every problem."""
    return guarded(SOURCE_NCC, lambda: _map(raw, received_at, tolerance, SOURCE_NCC))


def _map(raw: bytes, received_at: datetime, tolerance: Decimal, source: str) -> ReceivableBill:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, source)
    found = answer_data(read, root)
    document = _single(read, found) if found is not None else None
    if document is None:
        problems.raise_if_any(source)
        raise AssertionError("unreachable")  # a problem says why there is no document
    bill = _yonbip(read, document) if source == SOURCE_YONBIP else _ncc(read, document)
    if bill is None:
        problems.raise_if_any(source)
        raise AssertionError("unreachable")
    _check(problems, bill, tolerance)
    problems.raise_if_any(source)
    try:
        return _build(bill, source, fingerprint(raw), received_at)
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(source)
        raise


def _single(read: Reader, node: Node) -> Node | None:
    """The one bill of `data`: an object, or an array holding exactly one."""
    if isinstance(node.value, list):
        items = read.array(node) or []
        if len(items) != 1:
            read.problems.add(
                node.path, f"must hold exactly one bill, got {len(items)}", len(items)
            )
            return None
        node = items[0]
    return read.object(node)


def _yonbip(read: Reader, bill: Node) -> _Bill:
    direction = bill.get("billdirection")
    value = "2" if direction.blank else read.text(direction, max_len=4)
    if value not in (None, "1", "2"):
        read.problems.add(direction.path, "must be 1 (red) or 2 (blue)", direction.value)
    red_flag = flag(read, bill.get("redflag"))
    red = None
    if value in ("1", "2") and red_flag is not None:
        red = value == "1" or red_flag or str(bill.get("billtype").value) == "3"
    lines_node = bill.get("oarDetail")
    lines = None if lines_node.blank else _yonbip_lines(read, lines_node)
    plan_node = bill.get("oarProtocol")
    plan = None
    if not plan_node.blank:
        plan = [
            (read.date(entry.get("maturitydate")), money(read, entry.get("oriSum")))
            for entry in read.array(plan_node) or []
            if read.object(entry) is not None
        ]
    invoice_keys = _keys(read, bill.get("invoiceno"))
    orders = [ident(read, bill.get("orderno"))]
    orders += [ident(read, line.get("orderno")) for line in _objects(lines_node)]
    return _Bill(
        number=ident(read, bill.get("code"), required=True),
        bill_date=read.date(bill.get("vouchdate")),
        due_date=read.date(bill.get("maturitydate"), required=False),
        seller_code=ident(read, bill.first("accentity_code", "accentity")) or "",
        buyer_code=ident(read, bill.first("customer_code", "customer")) or "",
        currency=_currency(read, bill),
        red=red,
        total=money(read, bill.get("oriSum")),
        amount=optional_money(read, bill.get("oriMoney")),
        tax=optional_money(read, bill.get("oriTax")),
        lines=lines,
        lines_path=lines_node.path,
        labels=_YONBIP_LABELS,
        invoice_keys=invoice_keys,
        order_numbers=[number for number in orders if number],
        instalments=plan,
        plan_path=plan_node.path,
    )


def _currency(read: Reader, bill: Node) -> str | None:
    """`currency_code`, else `currency` when it is an ISO code (it is often a long id)."""
    code = bill.get("currency_code")
    if not code.blank:
        return currency(read, code)
    node = bill.get("currency")
    if isinstance(node.value, int) or (isinstance(node.value, str) and node.value.isdigit()):
        read.problems.add(
            node.path, "is an internal currency id: currency_code is needed", node.value
        )
        return None
    return currency(read, node)


def _yonbip_lines(read: Reader, node: Node) -> list[LineDraft] | None:
    entries = read.array(node)
    if entries is None:
        return None
    drafts = []
    for index, entry in enumerate(entries):
        if read.object(entry) is None:
            continue
        line_no = entry.get("lineno")
        drafts.append(
            _line_draft(
                read,
                entry,
                index + 1 if line_no.blank else read.integer(line_no),
                item=entry.first("material_code", "material"),
                quantity=entry.get("qty"),
                price=entry.get("oriUnitPrice"),
                rate=entry.get("taxRate"),
                labels=_YONBIP_LABELS,
                order=entry.get("orderno"),
            )
        )
    return drafts


def _line_draft(
    read: Reader,
    entry: Node,
    line_no: int | None,
    *,
    item: Node,
    quantity: Node,
    price: Node,
    rate: Node,
    labels: Labels,
    order: Node,
) -> LineDraft:
    """One line; without a quantity it is one unit, without a net price it is amount / qty."""
    amount = money(read, entry.get(labels.amount))
    qty = Decimal(1) if quantity.blank else read.amount(quantity)
    unit_price = None if price.blank else read.amount(price)
    if price.blank and qty is not None and amount.value is not None:
        if qty == 0:
            read.problems.add(quantity.path, "must not be zero", quantity.value)
        else:
            unit_price = (amount.value / qty).quantize(_PRICE_PLACES).normalize()
    return LineDraft(
        path=entry.path,
        line_no=line_no,
        item_code=ident(read, item),
        description=read.text(entry.first("material_name", "materialName"), required=False),
        quantity=qty,
        unit_price=unit_price,
        tax_rate=read.rate(rate),
        amount=amount,
        tax=money(read, entry.get(labels.tax)),
        total=money(read, entry.get(labels.total)),
        order_number=ident(read, order),
    )


def _ncc(read: Reader, document: Node) -> _Bill | None:
    head = read.object(document.get("ar_recbill"))
    if head is None:
        return None
    kind = head.get("pk_billtype")
    if not kind.blank and read.text(kind, max_len=8) not in (None, "F0"):
        read.problems.add(kind.path, "not an 应收单: pk_billtype must be F0", kind.value)
    items_node = document.get("ar_recitem")
    items = read.array(items_node)
    lines, keys, due = None, [], []
    if items is not None:
        lines = []
        for index, entry in enumerate(items):
            if read.object(entry) is None:
                continue
            row = entry.get("rowno")
            lines.append(
                _line_draft(
                    read,
                    entry,
                    index + 1 if row.blank else read.integer(row),
                    item=entry.get("material"),
                    quantity=entry.get("quantity_de"),
                    price=entry.get("price"),
                    rate=entry.get("taxrate"),
                    labels=_NCC_LABELS,
                    order=entry.get("purchaseorder"),
                )
            )
            keys += _keys(read, entry.get("invoiceno"))
            when = read.date(entry.get("expiredate"), required=False)
            if when is not None:
                due.append(when)
    total = money(read, head.get("money"))
    return _Bill(
        number=ident(read, head.get("billno"), required=True),
        bill_date=read.date(head.get("billdate")),
        due_date=max(due, default=None),
        seller_code=ident(read, head.get("pk_org")) or "",
        buyer_code=ident(read, head.get("customer")) or "",
        currency=currency(read, head.get("pk_currtype")),
        red=None if total.value is None else total.value < 0,
        total=total,
        amount=Figure(None, ""),
        tax=Figure(None, ""),
        lines=lines,
        lines_path=items_node.path,
        labels=_NCC_LABELS,
        invoice_keys=keys,
        order_numbers=[line.order_number for line in lines or () if line.order_number],
    )


def _objects(node: Node) -> list[Node]:
    value = node.value
    if not isinstance(value, list):
        return []
    return [
        Node(item, f"{node.path}/{i}") for i, item in enumerate(value) if isinstance(item, dict)
    ]


def _keys(read: Reader, node: Node) -> list[str]:
    """Tax invoice keys from `invoiceno` (several may be listed, separated by , ; or 、)."""
    text = read.text(node, required=False, max_len=400)
    keys = []
    for part in _KEYS.split((text or "").translate(FOLD)):
        if not part:
            continue
        if not (part.isascii() and part.isdigit() and len(part) <= 32):
            read.problems.add(node.path, "invoice numbers must be digits", node.value)
            return []
        keys.append(part)
    return list(dict.fromkeys(keys))


def _check(problems: Problems, bill: _Bill, tolerance: Decimal) -> None:
    total = bill.total.value
    if total is not None and bill.red is not None:
        if total == 0:
            problems.add(bill.total.path, "total must not be zero", total)
        elif bill.red and total > 0:
            problems.add(bill.total.path, "a red receivable must have a negative total", total)
        elif not bill.red and total < 0:
            problems.add(
                bill.total.path,
                "a blue receivable must have a positive total "
                "(billdirection 1 or redflag marks a red one)",
                total,
            )
    check_order(
        problems,
        OrderDraft(
            path="",
            number=bill.number,
            order_date=bill.bill_date,
            buyer_code=bill.buyer_code,
            same_buyer=False,
            lines=bill.lines,
            lines_path=bill.lines_path,
            labels=bill.labels,
            amount=bill.amount,
            tax=bill.tax,
            total=bill.total,
        ),
        tolerance,
    )
    plan = bill.instalments
    if plan and total is not None and not problems.any_at(bill.total.path):
        values = [figure.value for _, figure in plan]
        if all(value is not None for value in values):
            summed = sum((v for v in values if v is not None), Decimal(0))
            if abs(summed - total) > tolerance:
                problems.add(
                    bill.plan_path,
                    f"the instalments add up to {summed}, the total "
                    f"is {total} (tolerance {tolerance})",
                    summed,
                )


def _build(bill: _Bill, source: str, digest: str, received_at: datetime) -> ReceivableBill:
    currency_code = bill.currency or "CNY"
    lines = tuple(document_line(draft, draft.order_number or "") for draft in bill.lines or ())
    amount, tax = bill.amount.value, bill.tax.value
    if (amount is None or tax is None) and bill.lines:
        amount = sum((d.amount.value or Decimal(0) for d in bill.lines), Decimal(0))
        tax = sum((d.tax.value or Decimal(0) for d in bill.lines), Decimal(0))
    instalments = tuple(
        Instalment(due_date=when, amount=Money(amount=fen(figure.value), currency=currency_code))
        for when, figure in bill.instalments or ()
        if when is not None and figure.value is not None
    )
    due = bill.due_date or max((i.due_date for i in instalments), default=None)
    number = bill.number or ""
    return ReceivableBill(
        number=number,
        bill_date=_present(bill.bill_date),
        due_date=due,
        seller_code=bill.seller_code,
        buyer_code=bill.buyer_code,
        amount=None if amount is None else Money(amount=fen(amount), currency=currency_code),
        tax=None if tax is None else Money(amount=fen(tax), currency=currency_code),
        total=Money(amount=fen(_present(bill.total.value)), currency=currency_code),
        red=bool(bill.red),
        instalments=instalments,
        lines=lines,
        invoice_keys=tuple(dict.fromkeys(bill.invoice_keys)),
        order_numbers=tuple(dict.fromkeys(bill.order_numbers)),
        provenance=Provenance(
            source_system=source,
            source_document_id=number,
            fingerprint=digest,
            received_at=received_at,
        ),
    )


def _present(value: T | None) -> T:
    if value is None:  # unreachable: a missing value always recorded a problem first
        raise RuntimeError("a field with no recorded problem is missing")
    return value


def _is_yonbip(body: dict[str, object]) -> bool:
    bill = inner(body)
    return bill is not None and (
        "oarDetail" in bill or "accentity_code" in bill or "billdirection" in bill
    )


def _is_ncc(body: dict[str, object]) -> bool:
    bill = inner(body)
    return bill is not None and isinstance(bill.get("ar_recbill"), dict)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="yonbip-receivable",
        family="yonyou",
        title="YonBIP 应收事项 (fi/oar save body or detail answer)",
        read=lambda raw, at: yonbip_receivable_to_canonical(raw, received_at=at),
        recognise=lambda raw: sniff_json(raw, _is_yonbip),
    ),
    InboundFormat(
        name="ncc-receivable",
        family="yonyou",
        title="NC Cloud 应收单 F0 (ar_recbill + ar_recitem)",
        read=lambda raw, at: ncc_receivable_to_canonical(raw, received_at=at),
        recognise=lambda raw: sniff_json(raw, _is_ncc),
    ),
)
