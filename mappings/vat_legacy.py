"""Legacy 增值税电子普通发票 XML (`<eInvoice>`, `fp:` elements, formats-inbound §3.3) -> Invoice.

The key is `InvoiceCode` (10 or 12 digits) + `InvoiceNo` (8); `InvoiceCheckCode` (20 digits) is
kept as `check_code` because verification needs its last 6 digits. 专/普 comes from `TypeCode`
(01/08 专, 04/10/11/14 普; absent means 10, the format's own kind). A red invoice (§3.4) is one
whose totals are negative; its `Note` must name the blue invoice (`对应正数发票代码:...号码:...`).
Elements are matched by local name: `fp:`-prefixed, default-namespaced and bare files read alike.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from lxml import etree

from canonical import Invoice, InvoiceKind, PartyRole
from canonical.text import fold_identifier
from mappings._invoice import DEFAULT_TOLERANCE, check_tolerance
from mappings._problems import Problems, guarded, require_aware
from mappings._vat import (
    LineFields,
    VatDraft,
    VatLine,
    amount,
    finish,
    invoice_digits,
    kind_of_type,
    leaves,
    local,
    read_date,
    read_line,
    read_party,
    red_reference,
    root_name,
    xml_bytes,
)
from mappings._xml import parse_untrusted
from mappings.catalogue import InboundFormat

__all__ = [
    "FP_NAMESPACE",
    "INBOUND",
    "SOURCE",
    "legacy_einvoice_to_canonical",
    "recognise_legacy_einvoice",
]

SOURCE = "vat-legacy"
FP_NAMESPACE = "http://www.edrm.org.cn/schema/e-invoice/2019"
_ROOT = "eInvoice"
_NESTED = frozenset({"Buyer", "Seller", "GoodsInfos", "Signature"})
_LINE = LineFields(
    collection="GoodsInfos/GoodsInfo",
    description="Item",
    item_code="",
    quantity="Quantity",
    unit_price="Price",
    amount="Amount",
    rate="TaxScheme",
    tax="TaxAmount",
    total="",
)
_CHECK_CODE = re.compile(r"[0-9]{20}")
_ORDER = re.compile(r"(?:订单号|订单编号|采购订单)[:：]?\s*([0-9A-Za-z][0-9A-Za-z_/-]{0,63})")


def legacy_einvoice_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> Invoice:
    """Map a legacy electronic ordinary invoice XML; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def recognise_legacy_einvoice(raw: bytes) -> bool:
    """The root element is `eInvoice` (the 数电 root is `EInvoice`)."""
    return root_name(raw) == _ROOT


def _read(raw: bytes, received_at: datetime) -> Invoice:
    return legacy_einvoice_to_canonical(raw, received_at=received_at)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="vat-legacy-xml",
        family="vat",
        title="Legacy 增值税电子普通发票 XML (fp: namespace) -> Invoice",
        read=_read,
        recognise=recognise_legacy_einvoice,
    ),
)


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> Invoice:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = parse_untrusted(problems, xml_bytes(problems, raw, SOURCE), SOURCE)
    if local(root) != _ROOT:
        problems.add(
            f"/{local(root)}",
            "not a legacy e-invoice: the root element must be eInvoice",
            local(root),
        )
        problems.raise_if_any(SOURCE)
    base = f"/{_ROOT}"
    fields: dict[str, str] = {}
    nested: dict[str, etree._Element] = {}
    for element in root:
        name = local(element)
        if name in _NESTED:
            if name in nested:
                problems.add(f"{base}/{name}", "appears more than once")
            nested.setdefault(name, element)
        elif name:
            if name in fields:
                problems.add(f"{base}/{name}", "appears more than once")
            else:
                fields[name] = (element.text or "").strip()

    code = invoice_digits(
        problems,
        fields.get("InvoiceCode"),
        f"{base}/InvoiceCode",
        (10, 12),
        "a legacy invoice code",
    )
    number = invoice_digits(
        problems, fields.get("InvoiceNo"), f"{base}/InvoiceNo", (8,), "a legacy invoice number"
    )
    kind = _kind(problems, fields.get("TypeCode"), f"{base}/TypeCode")
    issue_date = None
    if fields.get("IssueDate"):
        issue_date = read_date(problems, fields["IssueDate"], f"{base}/IssueDate")
    else:
        problems.add(f"{base}/IssueDate", "is required but missing")
    check_code = _check_code(
        problems, fields.get("InvoiceCheckCode"), f"{base}/InvoiceCheckCode", kind
    )
    buyer_path, seller_path = f"{base}/Buyer", f"{base}/Seller"
    buyer = leaves(problems, nested.get("Buyer"), buyer_path)
    seller = leaves(problems, nested.get("Seller"), seller_path)
    net = amount(problems, fields, "TaxExclusiveTotalAmount", base)
    tax = amount(problems, fields, "TaxTotalAmount", base)
    total = amount(problems, fields, "TaxInclusiveTotalAmount", base)
    blue = not (total is not None and total < 0)
    lines = _lines(problems, nested.get("GoodsInfos"), f"{base}/GoodsInfos", tolerance)
    note = fields.get("Note", "")
    reverses, notice = red_reference(note) if not blue else ("", "")
    draft = VatDraft(
        source=SOURCE,
        base=base,
        number=number,
        code=code,
        kind=kind,
        blue=blue,
        issue_date=issue_date,
        seller=read_party(
            problems,
            seller.get("SellerName"),
            f"{seller_path}/SellerName",
            seller.get("SellerTaxID"),
            f"{seller_path}/SellerTaxID",
            PartyRole.SELLER,
        ),
        buyer=read_party(
            problems,
            buyer.get("BuyerName"),
            f"{buyer_path}/BuyerName",
            buyer.get("BuyerTaxID"),
            f"{buyer_path}/BuyerTaxID",
            PartyRole.BUYER,
        ),
        buyer_path=f"{buyer_path}/BuyerTaxID",
        amount=net,
        amount_path=f"{base}/TaxExclusiveTotalAmount",
        tax=tax,
        tax_path=f"{base}/TaxTotalAmount",
        total=total,
        total_path=f"{base}/TaxInclusiveTotalAmount",
        lines=lines,
        lines_path=f"{base}/GoodsInfos",
        names=_LINE,
        reverses=reverses,
        reverses_path=f"{base}/Note",
        red_notice=notice,
        check_code=check_code or "",
        order_numbers=tuple(dict.fromkeys(_ORDER.findall(note))) if note else (),
    )
    return finish(problems, draft, raw, received_at, tolerance)


def _kind(problems: Problems, code: str | None, where: str) -> InvoiceKind | None:
    if not code:
        return InvoiceKind.ORDINARY  # the format is the 增值税电子普通发票 (type 10)
    kind = kind_of_type(code)
    if kind is None:
        problems.add(where, "must be a VAT invoice type: 01/08 (专票) or 04/10/11/14 (普票)", code)
    return kind


def _check_code(
    problems: Problems, text: str | None, where: str, kind: InvoiceKind | None
) -> str | None:
    """The 20-digit 校验码: required on ordinary invoices (verification needs it)."""
    digits = fold_identifier(text or "")
    if not digits:
        if kind is InvoiceKind.ORDINARY:
            problems.add(
                where, "is required on an ordinary invoice: verification uses its last 6 digits"
            )
        return None
    if not _CHECK_CODE.fullmatch(digits):
        problems.add(where, "must be 20 digits", text)
        return None
    return digits


def _lines(
    problems: Problems, goods: etree._Element | None, path: str, tolerance: Decimal
) -> list[VatLine] | None:
    if goods is None:
        problems.add(path, "is required but missing")
        return None
    lines: list[VatLine] = []
    for element in goods:
        if local(element) != "GoodsInfo":
            continue
        where = f"{path}/GoodsInfo[{len(lines) + 1}]"
        lines.append(read_line(problems, leaves(problems, element, where), where, _LINE, tolerance))
    return lines
