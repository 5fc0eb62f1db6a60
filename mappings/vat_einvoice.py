"""数电票 XML (`<EInvoice>`, formats-inbound §3.2) -> canonical.Invoice.

One pass over the few sections the hub needs, each flattened into a dict of local name -> text,
so a default namespace, a prefix or none at all read the same. The 20-digit number is
`TaxSupervisionInfo/InvoiceNumber` (it must equal `Header/EIid` when both are present); the date
is `RequestTime`, else `IssueTime`; 专/普 is `GeneralOrSpecialVAT/LabelCode` 01/02; blue/red is
`InIssuType/LabelCode` Y/N, else the sign of the total (§0.3). A red invoice (§3.4) must have
negative totals and name the blue invoice it reverses, from `SpecificInformation/RedEInvoice`
or from the remark (`被红冲蓝字数电发票号码：...`). Problem paths are XPath-like local-name
paths (`/EInvoice/EInvoiceData/IssuItemInformation[2]/Amount`).
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
    amount,
    finish,
    invoice_digits,
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

__all__ = ["INBOUND", "SOURCE", "einvoice_to_canonical", "recognise_einvoice"]

SOURCE = "vat-einvoice"
_ROOT = "EInvoice"
_KINDS = {"01": InvoiceKind.SPECIAL, "02": InvoiceKind.ORDINARY}
_LINE = LineFields(
    collection="IssuItemInformation",
    description="ItemName",
    item_code="TaxClassificationCode",
    quantity="Quantity",
    unit_price="UnPrice",
    amount="Amount",
    rate="TaxRate",
    tax="ComTaxAm",
    total="TotaltaxIncludedAmount",
)
_ORDER = re.compile(r"(?:订单号|订单编号|采购订单)[:：]?\s*([0-9A-Za-z][0-9A-Za-z_/-]{0,63})")
_RED_BLOCK = ("OriginalInvoiceNumber", "OriginalInvoiceCode")
"""Where the blue number sits in the red block (EI390; §3.4 names OriginalInvoiceCode)."""
_RED_NOTICE = ("RedInvoiceConfirmationNumber", "ConfirmationNumber", "RedInfoNumber")


def einvoice_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> Invoice:
    """Map a 数电票 XML file; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def recognise_einvoice(raw: bytes) -> bool:
    """The root element is `EInvoice` (the legacy format's root is `eInvoice`)."""
    return root_name(raw) == _ROOT


def _read(raw: bytes, received_at: datetime) -> Invoice:
    return einvoice_to_canonical(raw, received_at=received_at)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="vat-einvoice-xml",
        family="vat",
        title="数电票 XML (<EInvoice>) -> Invoice",
        read=_read,
        recognise=recognise_einvoice,
    ),
)


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> Invoice:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root, base = _invoice_element(
        problems, parse_untrusted(problems, xml_bytes(problems, raw, SOURCE), SOURCE)
    )
    sections: dict[str, etree._Element] = {}
    for element in root:
        sections.setdefault(local(element), element)
    header = sections.get("Header")
    data = sections.get("EInvoiceData")
    if data is None:
        problems.add(f"{base}/EInvoiceData", "is required but missing")
    data_path = f"{base}/EInvoiceData"
    parts: dict[str, etree._Element] = {}
    items: list[etree._Element] = []
    for element in data if data is not None else ():
        name = local(element)
        if name == "IssuItemInformation":
            items.append(element)
        else:
            parts.setdefault(name, element)

    supervision_path = f"{base}/TaxSupervisionInfo"
    supervision = leaves(problems, sections.get("TaxSupervisionInfo"), supervision_path)
    basic_path = f"{data_path}/BasicInformation"
    basic = leaves(problems, parts.get("BasicInformation"), basic_path)
    seller_path = f"{data_path}/SellerInformation"
    seller = leaves(problems, parts.get("SellerInformation"), seller_path)
    buyer_path = f"{data_path}/BuyerInformation"
    buyer = leaves(problems, parts.get("BuyerInformation"), buyer_path)
    extra = leaves(
        problems, parts.get("AdditionalInformation"), f"{data_path}/AdditionalInformation"
    )
    remark = extra.get("Remark", "")

    number = _number(problems, base, header, supervision, supervision_path)
    kind = _kind(problems, header, base)
    blue_flag = _blue_flag(problems, header, base)
    issue_date = None
    if basic.get("RequestTime"):
        issue_date = read_date(problems, basic["RequestTime"], f"{basic_path}/RequestTime")
    elif supervision.get("IssueTime"):
        issue_date = read_date(problems, supervision["IssueTime"], f"{supervision_path}/IssueTime")
    else:
        problems.add(
            f"{basic_path}/RequestTime", "is required (nor is there a TaxSupervisionInfo/IssueTime)"
        )

    net = amount(problems, basic, "TotalAmWithoutTax", basic_path)
    tax = amount(problems, basic, "TotalTaxAm", basic_path)
    total = amount(problems, basic, "TotalTax-includedAmount", basic_path)
    blue = blue_flag if blue_flag is not None else not (total is not None and total < 0)
    lines = []
    for i, item in enumerate(items, start=1):
        path = f"{data_path}/IssuItemInformation[{i}]"
        lines.append(read_line(problems, leaves(problems, item, path), path, _LINE, tolerance))
    reverses, notice = "", ""
    if not blue:
        reverses, notice = _red_reference(
            problems, parts.get("SpecificInformation"), data_path, remark
        )
    draft = VatDraft(
        source=SOURCE,
        base=base,
        number=number,
        code="",
        kind=kind,
        blue=blue,
        issue_date=issue_date,
        seller=read_party(
            problems,
            seller.get("SellerName"),
            f"{seller_path}/SellerName",
            seller.get("SellerIdNum"),
            f"{seller_path}/SellerIdNum",
            PartyRole.SELLER,
        ),
        buyer=read_party(
            problems,
            buyer.get("BuyerName"),
            f"{buyer_path}/BuyerName",
            buyer.get("BuyerIdNum"),
            f"{buyer_path}/BuyerIdNum",
            PartyRole.BUYER,
        ),
        buyer_path=f"{buyer_path}/BuyerIdNum",
        amount=net,
        amount_path=f"{basic_path}/TotalAmWithoutTax",
        tax=tax,
        tax_path=f"{basic_path}/TotalTaxAm",
        total=total,
        total_path=f"{basic_path}/TotalTax-includedAmount",
        lines=lines,
        lines_path=f"{data_path}/IssuItemInformation",
        names=_LINE,
        reverses=reverses,
        reverses_path=f"{data_path}/SpecificInformation/RedEInvoice",
        red_notice=notice,
        order_numbers=tuple(dict.fromkeys(_ORDER.findall(remark))) if remark else (),
    )
    return finish(problems, draft, raw, received_at, tolerance)


def _invoice_element(problems: Problems, root: etree._Element) -> tuple[etree._Element, str]:
    """The one EInvoice (the root, or the only EInvoice child of a wrapper) and its path."""
    name = local(root)
    if name == _ROOT:
        return root, f"/{_ROOT}"
    found = [c for c in root if local(c) == _ROOT]
    if len(found) == 1:
        return found[0], f"/{name}/{_ROOT}"
    if found:
        problems.add(
            f"/{name}", f"holds {len(found)} invoices: send one EInvoice per document", len(found)
        )
    else:
        problems.add(f"/{name}", "not a 数电票: the root element must be EInvoice", name)
    problems.raise_if_any(SOURCE)
    raise AssertionError("unreachable: a problem was recorded")


def _label(header: etree._Element | None, name: str) -> str | None:
    """Header/InherentLabel/<name>/LabelCode, or None when absent."""
    if header is None:
        return None
    for group in header:
        if local(group) == "InherentLabel":
            for label in group:
                if local(label) == name:
                    for code in label:
                        if local(code) == "LabelCode":
                            return (code.text or "").strip()
    return None


def _number(
    problems: Problems,
    base: str,
    header: etree._Element | None,
    supervision: dict[str, str],
    path: str,
) -> str | None:
    eiid = None
    if header is not None:
        eiid = next(((c.text or "").strip() for c in header if local(c) == "EIid"), None)
    text = supervision.get("InvoiceNumber") or eiid
    where = f"{path}/InvoiceNumber" if supervision.get("InvoiceNumber") else f"{base}/Header/EIid"
    if text is None:
        where = f"{path}/InvoiceNumber"
    number = invoice_digits(problems, text, where, (20,), "a 数电 invoice number")
    if number and eiid and supervision.get("InvoiceNumber"):
        other = fold_identifier(eiid)
        if other != number:
            problems.add(
                f"{base}/Header/EIid",
                f"differs from TaxSupervisionInfo/InvoiceNumber {number}",
                eiid,
            )
    return number


def _kind(problems: Problems, header: etree._Element | None, base: str) -> InvoiceKind | None:
    where = f"{base}/Header/InherentLabel/GeneralOrSpecialVAT/LabelCode"
    code = _label(header, "GeneralOrSpecialVAT")
    if not code:
        problems.add(where, "is required: 01 专票 or 02 普票")
        return None
    kind = _KINDS.get(code)
    if kind is None:
        problems.add(where, "must be 01 (增值税专用发票) or 02 (普通发票)", code)
    return kind


def _blue_flag(problems: Problems, header: etree._Element | None, base: str) -> bool | None:
    code = _label(header, "InIssuType")
    if not code:
        return None
    if code.upper() not in ("Y", "N"):
        problems.add(
            f"{base}/Header/InherentLabel/InIssuType/LabelCode", "must be Y (blue) or N (red)", code
        )
        return None
    return code.upper() == "Y"


def _red_reference(
    problems: Problems, specific: etree._Element | None, data_path: str, remark: str
) -> tuple[str, str]:
    """(blue invoice key, confirmation number): the red block first, then the remark.

    `OriginalInvoiceNumber` holds the blue number (20 digits, or 8 beside a legacy
    `OriginalInvoiceCode`); one parser guide puts the 20-digit number in `OriginalInvoiceCode`.
    """
    block = None
    for element in specific if specific is not None else ():
        if local(element) == "RedEInvoice":
            block = element
    path = f"{data_path}/SpecificInformation/RedEInvoice"
    fields = leaves(problems, block, path)
    from_remark, notice_in_remark = red_reference(remark)
    number, code = fields.get("OriginalInvoiceNumber"), fields.get("OriginalInvoiceCode")
    reverses = ""
    if number:
        if code:
            legacy_code = invoice_digits(
                problems, code, f"{path}/OriginalInvoiceCode", (10, 12), "a legacy invoice code"
            )
            legacy = invoice_digits(
                problems,
                number,
                f"{path}/OriginalInvoiceNumber",
                (8,),
                "a legacy invoice number (with a code)",
            )
            reverses = f"{legacy_code}{legacy}" if legacy_code and legacy else ""
        else:
            reverses = (
                invoice_digits(
                    problems,
                    number,
                    f"{path}/OriginalInvoiceNumber",
                    (20,),
                    "a 数电 invoice number",
                )
                or ""
            )
    elif code:
        reverses = (
            invoice_digits(
                problems, code, f"{path}/OriginalInvoiceCode", (20,), "a 数电 invoice number"
            )
            or ""
        )
    if problems.any_at(f"{path}/OriginalInvoiceNumber", f"{path}/OriginalInvoiceCode"):
        return "", ""
    notice = next((fields[n] for n in _RED_NOTICE if fields.get(n)), "") or notice_in_remark
    if len(notice) > 32:
        problems.add(path, "the 红字发票信息确认单 number is longer than 32 characters", notice)
        notice = ""
    return reverses or from_remark, notice
