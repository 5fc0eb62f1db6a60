"""YonBIP sales-invoice push (a `vouchersaleinvoice/save` body) -> canonical.

Accepted shapes (formats-inbound §1.5): `{"data": {...}, "org": {...}, "related": {...}}` and the
bare `data` object. Lines come as `saleInvoiceDetails` or `voucher_saleinvoicedetails`. YonBIP
sends money as BigDecimal text, so a money field holding a JSON number with a fraction is refused:
the sender's float may already have lost precision. JSON integers and decimal strings are fine.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from canonical import InvoiceKind, InvoiceStatus, Party, PartyRole
from mappings._fields import Node, Reader, read_document, tax_invoice_key
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Figure,
    InvoiceDraft,
    Labels,
    LineDraft,
    OrderDraft,
    Origin,
    assemble,
    check_tolerance,
    fingerprint,
)
from mappings._problems import Problems, guarded, require_aware
from mappings._yonyou_common import inner, sniff_json
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush

__all__ = [
    "INBOUND",
    "invoice_kind",
    "invoice_status",
    "seller_of",
    "yonbip_currency",
    "yonyou_invoice_to_canonical",
]

SOURCE = "yonyou"
_SPECIAL = frozenset({"1", "9", "10", "12"})
_ORDINARY = frozenset({"2", "3", "11", "13"})
_BUSINESS_STATES = {"2": InvoiceStatus.NORMAL, "3": InvoiceStatus.VOID,
                    "4": InvoiceStatus.RED_FLUSHED}
_NOT_ISSUED = {"0": "开票中", "1": "未开税票", "5": "作废中", "6": "红冲中", "7": "开票失败"}
_LINES = ("saleInvoiceDetails", "voucher_saleinvoicedetails")
_LABELS = Labels("saleInvoiceDetails", "oriMoney", "oriTax", "oriSum")
_ORDER_LABELS = Labels("orderDetails", "oriMoney", "oriTax", "oriSum")
_BARE_MARKERS = ("code", "einvoiceHm", *_LINES)


def yonyou_invoice_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> InvoicePush:
    """Map a pushed YonBIP sales invoice; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> InvoicePush:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, SOURCE)
    data, org, related = _envelope(read, root)
    if data is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable")  # _envelope recorded why there is no data

    status, blue = invoice_status(read, data)
    number, code = tax_invoice_key(read, data.get("einvoiceHm"), data.get("einvoiceNo"))
    buyer_id = read.text(data.first("invAgentId", "agentId"), required=False, max_len=64)
    buyer_uscc = data.get("invAgentTaxNo")
    buyer = read.party(data.first("invAgentName", "agentName"), buyer_uscc, PartyRole.BUYER,
                       buyer_id or "")
    seller = seller_of(read, data, org)
    lines_node = data.first(*_LINES)
    draft = InvoiceDraft(
        number=number,
        code=code,
        kind=invoice_kind(read, data.get("invoiceType")),
        status=status,
        blue=blue,
        issue_date=read.date(data.get("vouchdate")),
        due_date=read.date(data.get("maturityDate"), required=False),
        seller=seller,
        buyer=buyer,
        buyer_path=buyer_uscc.path,
        currency=yonbip_currency(read, data.first("currency_code", "currency")),
        amount=_money(read, data.get("oriMoney")),
        tax=_money(read, data.get("oriTax")),
        total=_money(read, data.get("oriSum")),
        lines=_lines(read, lines_node, _LABELS),
        lines_path=lines_node.path,
        labels=_LABELS,
    )
    customers = {read.text(data.get(k), required=False) for k in ("agentId", "invAgentId")}
    origin = Origin(
        source_system=SOURCE,
        document_id=read.text(data.first("code", "id"), max_len=128),
        fingerprint=fingerprint(raw),
        received_at=received_at,
    )
    orders = _orders(read, related, customers - {None, ""})
    return assemble(problems, origin, draft, orders, tolerance)


def _envelope(read: Reader, root: Node) -> tuple[Node | None, Node | None, Node | None]:
    """(data, org, related): the save envelope, or a bare `data` object."""
    if not root.get("data").missing:
        data = read.embedded_object(root.get("data"))
        return (data, read.object(root.get("org"), required=False),
                read.object(root.get("related"), required=False))
    if any(not root.get(key).missing for key in _BARE_MARKERS):
        return (root, read.object(root.get("org"), required=False),
                read.object(root.get("related"), required=False))
    read.problems.add("", "not a YonBIP sales-invoice body: no `data` object and no invoice "
                      "fields", root.value)
    return None, None, None


def seller_of(read: Reader, data: Node, org: Node | None) -> Party | None:
    """The seller from the `org` block: name (else data.orgName), taxNo, code (else orgId)."""
    if org is None:
        read.problems.add("/org", "is required: the seller's 统一社会信用代码 (org.taxNo) comes "
                          "only with the org block")
        return None
    name = org.get("name")
    if name.blank:
        name = data.get("orgName")
    code = read.text(org.get("code"), required=False, max_len=64) or read.text(
        data.get("orgId"), required=False, max_len=64)
    return read.party(name, org.get("taxNo"), PartyRole.SELLER, code or "")


def invoice_status(read: Reader, data: Node) -> tuple[InvoiceStatus | None, bool]:
    """(status, is_blue) from invDirection (1 red, 2 blue) and businessState (2 issued)."""
    direction_node = data.get("invDirection")
    direction = "2" if direction_node.blank else read.text(direction_node, max_len=4)
    blue = direction != "1"
    if direction not in (None, "1", "2"):
        read.problems.add(direction_node.path, "must be 1 (red) or 2 (blue)", direction_node.value)
    node = data.get("businessState")
    state = read.text(node, max_len=4)
    if state is None:
        return None, blue
    if state in _NOT_ISSUED:
        read.problems.add(node.path, f"not an issued tax invoice: businessState {state} "
                          f"({_NOT_ISSUED[state]}); only 2 (已开税票) is accepted", node.value)
        return None, blue
    status = _BUSINESS_STATES.get(state)
    if status is None:
        read.problems.add(node.path, "unknown businessState (expected 0-7)", node.value)
        return None, blue
    if status is InvoiceStatus.NORMAL and not blue:
        status = InvoiceStatus.RED_FLUSHED
    return status, blue


def invoice_kind(read: Reader, node: Node) -> InvoiceKind | None:
    value = read.text(node, max_len=4)
    if value in _SPECIAL:
        return InvoiceKind.SPECIAL
    if value in _ORDINARY:
        return InvoiceKind.ORDINARY
    if value is not None:
        read.problems.add(node.path, "not a VAT invoice type: expected 1, 9, 10, 12 (专票) or "
                          "2, 3, 11, 13 (普票)", node.value)
    return None


def yonbip_currency(read: Reader, node: Node) -> str | None:
    if node.blank:
        return "CNY"
    code = read.text(node, max_len=8)
    if code is None:
        return None
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        read.problems.add(node.path, "must be an ISO 4217 currency code", node.value)
        return None
    return code.upper()


def _money(read: Reader, node: Node) -> Figure:
    return Figure(read.amount(node, allow_float=False), node)


def _lines(read: Reader, node: Node, labels: Labels) -> list[LineDraft] | None:
    entries = read.array(node)
    if entries is None:
        return None
    drafts = []
    for index, entry in enumerate(entries):
        if read.object(entry) is None:
            continue
        line_no = entry.get("lineno")
        order_number = read.text(entry.get("orderNo"), required=False, max_len=64)
        if not order_number and entry.get("source").value == "voucher_order":
            order_number = read.text(entry.get("srcVoucherNo"), required=False, max_len=64)
        drafts.append(LineDraft(
            path=entry.path,
            line_no=index + 1 if line_no.blank else read.integer(line_no),
            item_code=read.text(entry.get("productCode"), required=False, max_len=64),
            description=read.text(entry.get("productName"), required=False),
            quantity=read.amount(entry.first("qty", "priceQty")),
            unit_price=read.amount(entry.get("oriUnitPrice"), allow_float=False),
            tax_rate=read.rate(entry.get("taxRate")),
            amount=_money(read, entry.get(labels.amount)),
            tax=_money(read, entry.get(labels.tax)),
            total=_money(read, entry.get(labels.total)),
            order_number=order_number,
        ))
    return drafts


def _orders(read: Reader, related: Node | None, customers: set[str | None]) -> list[OrderDraft]:
    if related is None:
        return []
    drafts = []
    for order in read.array(related.get("saleOrders"), required=False) or []:
        if read.object(order) is None:
            continue
        customer = read.text(order.get("agentId"), required=False, max_len=64)
        lines_node = order.get("orderDetails")
        drafts.append(OrderDraft(
            path=order.path,
            number=read.text(order.get("code"), max_len=64),
            order_date=read.date(order.get("vouchdate")),
            buyer_code=customer,
            same_buyer=bool(customer) and customer in customers,
            lines=_lines(read, lines_node, _ORDER_LABELS),
            lines_path=lines_node.path,
            labels=_ORDER_LABELS,
            amount=_optional_money(read, order.get("oriMoney")),
            tax=_optional_money(read, order.get("oriTax")),
            total=_optional_money(read, order.get("oriSum")),
        ))
    return drafts


def _optional_money(read: Reader, node: Node) -> Figure:
    if node.missing:
        return Figure(None, "")
    return _money(read, node)


def _looks_like_sales_invoice(raw: bytes) -> bool:
    return sniff_json(raw, _is_save_body)


def _is_save_body(body: dict[str, object]) -> bool:
    """A save push (wrapped or bare), not the detail API's answer (`{"code": ..., "data"}`)."""
    data = inner(body)
    if data is None or (data is not body and "code" in body):
        return False
    return "einvoiceHm" in data or "invAgentTaxNo" in data or any(k in data for k in _LINES)


INBOUND = (
    InboundFormat(
        name="yonbip-sales-invoice",
        family="yonyou",
        title="YonBIP / YonSuite sales invoice save body -> invoice + orders",
        read=lambda raw, at: yonyou_invoice_to_canonical(raw, received_at=at),
        recognise=_looks_like_sales_invoice,
    ),
)
