"""U8 OpenAPI sales invoice (`{"saleinvoice": {..., "entry": [...]}}`) -> canonical.

Fields from formats-inbound §1.2: header `invoiceno`, `vouchertype` (26 专用 / 27 普通, marked
[L] there), `date`, `customercode`, `customername`, `foreigncurrency` (a currency *name*, 人民币,
or a code), `taxrate` (the lines' default), `isnegative` (a red invoice), `dgatheringdate` (the
due date), `csocode` (sales order); lines `irowno`, `inventorycode`, `inventoryname`, `quantity`,
`originalprice`, `originalmoney`, `originaltax`, `originalsum`, `taxrate`, `csocode`. The header
carries no totals: amount, tax and total are the sums of the lines (§1.7). Following §1.7 the
invoice number is `invoiceno`, which U8 may fill with its own document number.

Parties. U8 names the seller by account (`to_account`: one account is one legal entity) and the
buyer by `customercode`; neither tax number is in the invoice. So the reader takes them as
keyword arguments: `seller=` (the entity behind the account) and `buyer=` (from the customer
master). Without them (the catalogue entry) the body must carry them beside `saleinvoice`:
`"seller": {"code", "name", "regcode"}`, filled by the connector from its account settings, and
`"customer": {"code", "name", "regcode"}`, the U8 customer master record (`regcode` = 纳税人登记号,
the USCC). Missing both ways is a problem at `/seller` or `/customer` saying so. A `customer`
block must name the invoice's `customercode`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from canonical import InvoiceKind, InvoiceStatus, Party, PartyRole
from mappings._fields import Node, Reader, read_document
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Figure,
    InvoiceDraft,
    Labels,
    LineDraft,
    Origin,
    assemble,
    check_line_tax,
    check_tolerance,
    fingerprint,
)
from mappings._problems import Problems, guarded, require_aware
from mappings._yonyou_common import currency, flag, ident, money, sniff_json
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush

__all__ = ["INBOUND", "U8Parties", "read_u8_invoice", "u8_invoice_to_canonical"]

SOURCE = "u8"
_KINDS = {"26": InvoiceKind.SPECIAL, "27": InvoiceKind.ORDINARY}
LABELS = Labels("entry", "originalmoney", "originaltax", "originalsum")


class U8Parties:
    """The seller and buyer given by the caller, and where the body may carry them instead."""

    __slots__ = ("buyer", "customer_block", "seller", "seller_block")

    def __init__(
        self, seller: Party | None, buyer: Party | None, seller_block: Node, customer_block: Node
    ) -> None:
        self.seller, self.buyer = seller, buyer
        self.seller_block, self.customer_block = seller_block, customer_block


def u8_invoice_to_canonical(
    raw: bytes,
    *,
    received_at: datetime,
    seller: Party | None = None,
    buyer: Party | None = None,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> InvoicePush:
    """Map a U8 OpenAPI sales invoice; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, seller, buyer, tolerance))


def _map(
    raw: bytes, received_at: datetime, seller: Party | None, buyer: Party | None, tolerance: Decimal
) -> InvoicePush:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, SOURCE)
    errcode = root.get("errcode")
    if not errcode.blank and str(errcode.value).strip() != "0":
        message = root.get("errmsg").value
        problems.add(
            errcode.path,
            "an error answer, not a document"
            + (f": {message}" if isinstance(message, str) and message else ""),
            errcode.value,
        )
    header = read.object(root.get("saleinvoice"))
    if header is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable")  # object() recorded why
    entries_node = header.get("entry")
    parties = U8Parties(seller, buyer, root.get("seller"), root.get("customer"))
    return read_u8_invoice(
        read,
        header,
        read.array(entries_node),
        entries_node.path,
        parties,
        Origin(SOURCE, None, fingerprint(raw), received_at),
        tolerance,
    )


def read_u8_invoice(
    read: Reader,
    header: Node,
    entries: list[Node] | None,
    entries_path: str,
    parties: U8Parties,
    origin: Origin,
    tolerance: Decimal,
) -> InvoicePush:
    """The invoice from U8 fields (JSON, or ufinterface XML turned into Nodes), assembled."""
    problems = read.problems
    red = flag(read, header.get("isnegative"))
    customer_code = ident(read, header.get("customercode"), required=True)
    lines = _lines(read, entries, header.get("taxrate"), ident(read, header.get("csocode")))
    check_line_tax(problems, lines or (), tolerance)
    amount, tax, total = (
        _sum(problems, lines, entries_path, column) for column in ("amount", "tax", "total")
    )
    if red and total.value is not None and total.value >= 0:
        problems.add(
            entries_path, "a negative invoice (isnegative) must have a negative total", total.value
        )
    kind_node = header.get("vouchertype")
    kind_text = read.text(kind_node, max_len=8)
    kind = _KINDS.get(kind_text or "")
    if kind_text is not None and kind is None:
        problems.add(kind_node.path, "must be 26 (专用发票) or 27 (普通发票)", kind_node.value)
    number = ident(read, header.get("invoiceno"), required=True, max_len=32)
    draft = InvoiceDraft(
        number=number,
        code="",
        kind=kind,
        status=None
        if red is None
        else (InvoiceStatus.RED_FLUSHED if red else InvoiceStatus.NORMAL),
        blue=not red,
        issue_date=read.date(header.get("date")),
        due_date=read.date(header.get("dgatheringdate"), required=False),
        seller=_seller(read, parties),
        buyer=_buyer(read, parties, header.get("customername"), customer_code),
        buyer_path=parties.customer_block.path,
        currency=currency(read, header.get("foreigncurrency"), names=True),
        amount=amount,
        tax=tax,
        total=total,
        lines=lines,
        lines_path=entries_path,
        labels=LABELS,
    )
    origin.document_id = number
    return assemble(problems, origin, draft, (), tolerance)


def _lines(
    read: Reader, entries: list[Node] | None, default_rate: Node, order: str | None
) -> list[LineDraft] | None:
    if entries is None:
        return None
    drafts = []
    for index, entry in enumerate(entries):
        if read.object(entry) is None:
            continue
        row = entry.get("irowno")
        rate = entry.get("taxrate")
        drafts.append(
            LineDraft(
                path=entry.path,
                line_no=index + 1 if row.blank else read.integer(row),
                item_code=ident(read, entry.get("inventorycode"), required=True),
                description=read.text(entry.get("inventoryname"), required=False),
                quantity=read.amount(entry.get("quantity")),
                unit_price=read.amount(entry.get("originalprice")),
                tax_rate=read.rate(default_rate if rate.blank else rate),
                amount=money(read, entry.get("originalmoney")),
                tax=money(read, entry.get("originaltax")),
                total=money(read, entry.get("originalsum")),
                order_number=ident(read, entry.get("csocode")) or order,
            )
        )
    return drafts


def _sum(problems: Problems, lines: list[LineDraft] | None, path: str, column: str) -> Figure:
    """A header figure as the sum of the lines' (None when a line's figures have a problem:
    the header is derived, so checking it again would only repeat the line's problem)."""
    if not lines:
        return Figure(None, path)
    figures = [f for line in lines for f in (line.amount, line.tax, line.total)]
    if any(f.value is None for f in figures) or problems.any_at(*(f.path for f in figures)):
        return Figure(None, path)
    values = [getattr(line, column).value for line in lines]
    return Figure(sum(values, Decimal(0)), path)


def _block_party(
    read: Reader, block: Node, role: PartyRole, why: str, fallback_name: Node | None = None
) -> Party | None:
    if block.missing or block.value is None:
        read.problems.add(block.path, why)
        return None
    if read.object(block) is None:
        return None
    code = ident(read, block.get("code"))
    name = block.get("name")
    if name.blank and fallback_name is not None and not fallback_name.blank:
        name = fallback_name
    return read.party(name, block.get("regcode"), role, code or "")


def _seller(read: Reader, parties: U8Parties) -> Party | None:
    if parties.seller is not None:
        if not isinstance(parties.seller, Party):
            read.problems.add("seller", "must be a canonical Party", parties.seller)
            return None
        return parties.seller.model_copy(update={"role": PartyRole.SELLER})
    return _block_party(
        read,
        parties.seller_block,
        PartyRole.SELLER,
        "is required: U8 names the seller by account, not by tax number; pass "
        "seller= or send a seller block {code, name, regcode}",
    )


def _buyer(read: Reader, parties: U8Parties, name: Node, code: str | None) -> Party | None:
    if parties.buyer is not None:
        if not isinstance(parties.buyer, Party):
            read.problems.add("buyer", "must be a canonical Party", parties.buyer)
            return None
        return parties.buyer.model_copy(
            update={"role": PartyRole.BUYER, "erp_code": code or parties.buyer.erp_code}
        )
    block = parties.customer_block
    party = _block_party(
        read,
        block,
        PartyRole.BUYER,
        "is required: a U8 invoice names its customer by customercode only; "
        "pass buyer= or send the customer master block {code, name, regcode}",
        name,
    )
    if party is not None and code and party.erp_code and party.erp_code != code:
        read.problems.add(
            f"{block.path}/code", f"is not the invoice's customercode {code!r}", party.erp_code
        )
        return None
    if party is not None and not party.erp_code and code:
        party = party.model_copy(update={"erp_code": code})
    return party


def _is_u8(body: dict[str, object]) -> bool:
    invoice = body.get("saleinvoice")
    return isinstance(invoice, dict) and "entry" in invoice


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="u8-sales-invoice",
        family="yonyou",
        title="U8 OpenAPI sales invoice (saleinvoice add body or get answer)",
        read=lambda raw, at: u8_invoice_to_canonical(raw, received_at=at),
        recognise=lambda raw: sniff_json(raw, _is_u8),
    ),
)
