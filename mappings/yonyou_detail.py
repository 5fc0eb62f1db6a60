"""YonBIP sales invoice as the detail API answers it (`vouchersaleinvoice/detail`) -> canonical.

The answer is `{"code": "200" | 200, "message": "操作成功", "data": {...}}` (formats-inbound
§1.5: `code` is a string on most pages, a number in the detail example); a bare invoice object
is read the same. Unlike the save push (mappings/yonyou.py), the detail API sends money as
`number` or `string` for the same field (§0.1), so JSON fractions are accepted here: `_json`
parses them into Decimal from their digits, so nothing is lost on our side.

The detail answer names the seller only by `orgId`/`orgName`; its 统一社会信用代码 comes from the
org master. Pass it as `seller=`, or put the org block beside `data` exactly as in the save push
(`"org": {"code", "name", "taxNo"}`); without either the document is refused at `/org`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from canonical import Party, PartyRole
from canonical.text import fold_identifier
from mappings._fields import Node, Reader, read_document, tax_invoice_key
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    InvoiceDraft,
    Labels,
    Origin,
    assemble,
    check_line_tax,
    check_tolerance,
    fingerprint,
)
from mappings._problems import Problems, guarded, require_aware
from mappings._yonyou_common import (
    answer_data,
    ident,
    inner,
    money,
    sniff_json,
    yonbip_lines,
)
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush
from mappings.yonyou import invoice_kind, invoice_status, seller_of, yonbip_currency

__all__ = ["INBOUND", "yonbip_invoice_detail_to_canonical"]

SOURCE = "yonyou"
_LINES = ("saleInvoiceDetails", "voucher_saleinvoicedetails")
_LABELS = Labels("saleInvoiceDetails", "oriMoney", "oriTax", "oriSum")


def yonbip_invoice_detail_to_canonical(
    raw: bytes,
    *,
    received_at: datetime,
    seller: Party | None = None,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> InvoicePush:
    """Map a YonBIP sales-invoice detail answer; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, seller, tolerance))


def _map(
    raw: bytes, received_at: datetime, seller: Party | None, tolerance: Decimal
) -> InvoicePush:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    if seller is not None and not isinstance(seller, Party):
        problems.add("seller", "must be a canonical Party", seller)
        seller = None
    root = read_document(problems, raw, SOURCE)
    found = answer_data(read, root)
    data = read.object(found) if found is not None else None
    if data is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable")  # answer_data / object recorded why
    org = read.object(root.get("org"), required=False)
    if seller is None:
        seller = seller_of(read, data, org)
    elif seller.role is not PartyRole.SELLER:
        seller = seller.model_copy(update={"role": PartyRole.SELLER})

    status, blue = invoice_status(read, data)
    number, code = tax_invoice_key(read, data.get("einvoiceHm"), data.get("einvoiceNo"))
    buyer_id = ident(read, data.first("invAgentId", "agentId"))
    buyer_uscc = data.get("invAgentTaxNo")
    buyer = read.party(
        data.first("invAgentName", "agentName"), buyer_uscc, PartyRole.BUYER, buyer_id or ""
    )
    lines_node = data.first(*_LINES)
    lines = yonbip_lines(read, lines_node, _LABELS)
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
        amount=money(read, data.get("oriMoney")),
        tax=money(read, data.get("oriTax")),
        total=money(read, data.get("oriSum")),
        lines=lines,
        lines_path=lines_node.path,
        labels=_LABELS,
    )
    check_line_tax(problems, lines or (), tolerance)
    origin = Origin(
        source_system=SOURCE,
        document_id=ident(read, data.first("code", "id"), required=True, max_len=128),
        fingerprint=fingerprint(raw),
        received_at=received_at,
    )
    reverses = _reverses(read, data) if not blue else ""
    push = assemble(problems, origin, draft, (), tolerance)
    if reverses:  # a validated string of at most 32 digits: the field's only rule
        push = InvoicePush(invoice=push.invoice.model_copy(update={"reverses": reverses}))
    return push


def _reverses(read: Reader, data: Node) -> str:
    """The blue invoice a red one reverses: blueEinvoiceNo (legacy code) + blueEinvoiceHm."""
    parts = []
    for key in ("blueEinvoiceNo", "blueEinvoiceHm"):
        node = data.get(key)
        text = read.text(node, required=False, max_len=64)
        digits = fold_identifier(text or "")
        if digits and not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
            read.problems.add(node.path, "must be the digits of the blue invoice", node.value)
            return ""
        parts.append(digits)
    return "".join(parts) if parts[1] else ""


def _looks_like_detail(body: dict[str, object]) -> bool:
    """A detail answer: the envelope's `code` and a `data` invoice with its lines."""
    data = inner(body)
    return (
        "code" in body
        and data is not None
        and data is not body
        and any(key in data for key in _LINES)
        and "einvoiceHm" in data
    )


def _read(raw: bytes, received_at: datetime) -> InvoicePush:
    return yonbip_invoice_detail_to_canonical(raw, received_at=received_at)


def _recognise(raw: bytes) -> bool:
    return sniff_json(raw, _looks_like_detail)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="yonbip-sales-invoice-detail",
        family="yonyou",
        title="YonBIP sales invoice, detail API answer (vouchersaleinvoice/detail)",
        read=_read,
        recognise=_recognise,
    ),
)
