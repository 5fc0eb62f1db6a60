"""Kingdee K/3 Cloud sales-invoice push (an IV_SALESIC / IV_SALESOC Save body) -> canonical.

Accepted shapes (formats-inbound §2.2): `{"formid": ..., "data": {...}}`, the same with `data` as
a JSON string (double-encoded), and the native `{"parameters": [formid, "<payload JSON>"]}`.
Keys are matched case-insensitively (`FNUMBER` / `FNumber`). Problem paths are JSON pointers into
the body, through an embedded JSON string as if it were an object (`/data/Model/FDATE`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from canonical import InvoiceKind, InvoiceStatus, PartyRole
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
from mappings._kingdee_fast import map_plain_push
from mappings._problems import Problems, guarded, require_aware
from mappings._sniff import head_text, json_mentions
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush

__all__ = [
    "INBOUND",
    "KINGDEE_CURRENCIES",
    "bill_status",
    "kingdee_currency",
    "kingdee_invoice_to_canonical",
    "save_envelope",
]

SOURCE = "kingdee"
KINGDEE_CURRENCIES = {
    "PRE001": "CNY",
    "PRE002": "USD",
    "PRE003": "EUR",
    "PRE004": "JPY",
    "PRE005": "HKD",
}
"""K/3 Cloud standard currency numbers (BD_Currency); plain ISO codes are accepted as well."""

_KINDS = {"IV_SALESIC": InvoiceKind.SPECIAL, "IV_SALESOC": InvoiceKind.ORDINARY}
_INVOICE_LABELS = Labels("FSALESICENTRY", "FAMOUNTFOR", "FDETAILTAXAMOUNTFOR", "FALLAMOUNTFOR")
_ORDER_LABELS = Labels("FSaleOrderEntry", "FAmount", "FTaxAmount", "FAllAmount")


def kingdee_invoice_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> InvoicePush:
    """Map a pushed K/3 Cloud sales invoice; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> InvoicePush:
    plain = map_plain_push(
        raw,
        received_at,
        tolerance,
        source=SOURCE,
        kinds=_KINDS,
        currencies=KINGDEE_CURRENCIES,
        labels=(_INVOICE_LABELS, _ORDER_LABELS),
    )
    return plain if plain is not None else map_carefully(raw, received_at, tolerance)


def map_carefully(raw: bytes, received_at: datetime, tolerance: Decimal) -> InvoicePush:
    """Every field read with its path, every problem collected (what `_map` falls back to)."""
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, SOURCE, fold=True)
    formid, payload = save_envelope(read, root)
    kind = None
    form = read.text(formid, max_len=64)
    if form is not None:
        kind = _KINDS.get(form.upper())
        if kind is None:
            problems.add(formid.path, "must be IV_SALESIC or IV_SALESOC", formid.value)
    body = read.embedded_object(payload) if payload is not None else None
    model = read.object(body.get("Model")) if body is not None else None
    if body is None or model is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable")  # a problem was recorded for the missing part
    seller_org = read.object(body.get("SellerOrg"))
    related = read.object(body.get("Related"), required=False)

    status, blue = bill_status(read, model)
    number, code = tax_invoice_key(
        read, model.first("FIVNUMBER", "FINVOICENO"), model.get("FIVCODE")
    )
    buyer_code = read.code(model.get("FCUSTOMERID"))
    buyer_uscc = model.get("FTAXREGISTERCODE")
    buyer = read.party(model.get("FINVOICETITLE"), buyer_uscc, PartyRole.BUYER, buyer_code or "")
    seller = None
    if seller_org is not None:
        seller_code = read.code(seller_org.get("FNumber")) or read.code(model.get("FSETTLEORGID"))
        seller = read.party(seller_org.get("FName"), seller_org.get("FSOCIALCRECODE"),
                            PartyRole.SELLER, seller_code or "")
    entries = model.get("FSALESICENTRY")
    draft = InvoiceDraft(
        number=number,
        code=code,
        kind=kind,
        status=status,
        blue=blue,
        issue_date=read.date(model.first("FINVOICEDATE", "FDATE")),
        due_date=_due_date(read, related),
        seller=seller,
        buyer=buyer,
        buyer_path=buyer_uscc.path,
        currency=kingdee_currency(read, model.get("FCURRENCYID")),
        amount=_figure(read, model.get("FHEADAUXPRICEFOR")),
        tax=_figure(read, model.get("FTAXAMOUNTFOR")),
        total=_figure(read, model.get("FAFTERTOTALTAXFOR")),
        lines=_invoice_lines(read, entries),
        lines_path=entries.path,
        labels=_INVOICE_LABELS,
    )
    orders = _orders(read, related, buyer_code)
    origin = Origin(
        source_system=SOURCE,
        document_id=read.text(model.first("FBillNo", "FIVNUMBER"), max_len=128),
        fingerprint=fingerprint(raw),
        received_at=received_at,
    )
    return assemble(problems, origin, draft, orders, tolerance)


def save_envelope(read: Reader, root: Node) -> tuple[Node, Node | None]:
    """(form id, payload) from `{"formid", "data"}` or the native `{"parameters": [...]}`."""
    parameters = root.get("parameters")
    if parameters.missing:
        return root.get("formid"), root.get("data")
    items = read.array(parameters)
    if items is None:
        return root.get("formid"), None
    if len(items) < 2:
        read.problems.add(parameters.path, "must hold the form id and the payload", len(items))
        return root.get("formid"), None
    return items[0], items[1]


def bill_status(read: Reader, model: Node) -> tuple[InvoiceStatus | None, bool]:
    """(status, is_blue): only 已审核 documents; red unless FRedBlue is 0; void if cancelled B."""
    node = model.get("FDOCUMENTSTATUS")
    document_status = read.text(node, max_len=8)
    if document_status is not None and document_status.upper() != "C":
        read.problems.add(node.path, f"document status {document_status!r} is not C (已审核): "
                          "only audited invoices are accepted", node.value)
    red_blue = model.get("FRedBlue")
    blue = red_blue.blank or read.text(red_blue, max_len=8) == "0"
    cancel = model.get("FCancelStatus")
    cancelled = "A" if cancel.blank else read.text(cancel, max_len=8)
    if cancelled is None:
        return None, blue
    if cancelled.upper() == "B":
        return InvoiceStatus.VOID, blue
    if cancelled.upper() != "A":
        read.problems.add(cancel.path, "must be A (normal) or B (void)", cancel.value)
        return None, blue
    return (InvoiceStatus.NORMAL if blue else InvoiceStatus.RED_FLUSHED), blue


def kingdee_currency(read: Reader, node: Node) -> str | None:
    if node.blank:
        return "CNY"  # K/3 always sends it; an invoice without one is in the book currency
    code = read.code(node, required=True)
    if code is None:
        return None
    iso = KINGDEE_CURRENCIES.get(code.upper(), code.upper())
    if len(iso) != 3 or not iso.isascii() or not iso.isalpha():
        read.problems.add(node.path, "unknown currency: expected PRE001..PRE005 or an ISO code",
                          node.value)
        return None
    return iso


def _figure(read: Reader, node: Node) -> Figure:
    return Figure(read.amount(node), node)


def _line(read: Reader, entry: Node, index: int, *, invoice: bool) -> LineDraft:
    if invoice:
        seq, item, qty, price, rate = "FSeq", "FMATERIALID", "FPRICEQTY", "FAUXPRICE", "FTAXRATE"
        labels = _INVOICE_LABELS
    else:
        seq, item, qty, price, rate = "FSeq", "FMaterialId", "FQty", "FPrice", "FEntryTaxRate"
        labels = _ORDER_LABELS
    seq_node = entry.get(seq)
    order_number: str | None = ""
    if invoice:
        order_number = read.text(entry.get("FSALESORDERNO"), required=False, max_len=64)
        source_type = entry.get("FSRCBILLTYPEID")
        if not order_number and not source_type.blank and source_type.value == "SAL_SaleOrder":
            order_number = read.text(entry.get("FSRCBILLNO"), required=False, max_len=64)
    return LineDraft(
        path=entry.path,
        line_no=index + 1 if seq_node.blank else read.integer(seq_node),
        item_code=read.code(entry.get(item)),
        description=read.text(entry.get("FMATERIALNAME"), required=False),
        quantity=read.amount(entry.get(qty)),
        unit_price=read.amount(entry.get(price)),
        tax_rate=read.rate(entry.get(rate)),
        amount=_figure(read, entry.get(labels.amount)),
        tax=_figure(read, entry.get(labels.tax)),
        total=_figure(read, entry.get(labels.total)),
        order_number=order_number,
    )


def _invoice_lines(read: Reader, node: Node) -> list[LineDraft] | None:
    entries = read.array(node)
    if entries is None:
        return None
    return [_line(read, e, i, invoice=True) for i, e in enumerate(entries)
            if read.object(e) is not None]


def _due_date(read: Reader, related: Node | None) -> date | None:
    """Latest FEntityPlan FENDDATE of the receivables, else their FENDDATE_H, else None."""
    if related is None:
        return None
    plan_dates: list[date] = []
    header_dates: list[date] = []
    for receivable in read.array(related.get("AR_receivable"), required=False) or []:
        if read.object(receivable) is None:
            continue
        for plan in read.array(receivable.get("FEntityPlan"), required=False) or []:
            if read.object(plan) is not None:
                when = read.date(plan.get("FENDDATE"), required=False)
                if when is not None:
                    plan_dates.append(when)
        when = read.date(receivable.get("FENDDATE_H"), required=False)
        if when is not None:
            header_dates.append(when)
    return max(plan_dates or header_dates, default=None)


def _orders(read: Reader, related: Node | None, buyer_code: str | None) -> list[OrderDraft]:
    if related is None:
        return []
    drafts = []
    for order in read.array(related.get("SAL_SaleOrder"), required=False) or []:
        if read.object(order) is None:
            continue
        customer = read.code(order.first("FCustId", "FCUSTOMERID"))
        entries = order.get("FSaleOrderEntry")
        lines = read.array(entries)
        drafts.append(OrderDraft(
            path=order.path,
            number=read.text(order.get("FBillNo"), max_len=64),
            order_date=read.date(order.get("FDate")),
            buyer_code=customer,
            same_buyer=bool(customer) and customer == buyer_code,
            lines=None if lines is None else [
                _line(read, e, i, invoice=False) for i, e in enumerate(lines)
                if read.object(e) is not None
            ],
            lines_path=entries.path,
            labels=_ORDER_LABELS,
        ))
    return drafts


def _looks_like_sales_invoice(raw: bytes) -> bool:
    head = head_text(raw, 1024).upper()
    return json_mentions(raw) and ("IV_SALESIC" in head or "IV_SALESOC" in head)


INBOUND = (
    InboundFormat(
        name="kingdee-sales-invoice",
        family="kingdee",
        title="Kingdee K/3 Cloud IV_SALESIC / IV_SALESOC Save body -> invoice + orders",
        read=lambda raw, at: kingdee_invoice_to_canonical(raw, received_at=at),
        recognise=_looks_like_sales_invoice,
    ),
)
