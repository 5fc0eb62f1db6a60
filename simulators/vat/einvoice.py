"""The 数电票 XML file (`<EInvoice>`, formats-inbound §3.2), written element by element.

A red invoice carries `InIssuType` N, negative totals and
`SpecificInformation/RedEInvoice/OriginalInvoiceCode` (§3.4); its remark names the blue invoice
and the 红字发票信息确认单, as printed red invoices do.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from simulators.vat.invoices import FaceLine, Party, PlatformInvoice

__all__ = ["amount_in_words", "render_einvoice"]

VERSION = "0.32"
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SECTIONS = ("", "万", "亿", "万亿")
_PROVINCES = {
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "37": "山东省",
    "44": "广东省",
    "51": "四川省",
}
_Element = etree._Element


def render_einvoice(invoice: PlatformInvoice) -> bytes:
    """UTF-8 bytes with an XML declaration."""
    face = invoice.face
    root = etree.Element("EInvoice")
    header = _sub(root, "Header")
    _text(header, "EIid", face.number)
    _text(header, "EInvoiceTag", f"SWEI{invoice.province}00")
    _text(header, "Version", VERSION)
    labels = _sub(header, "InherentLabel")
    _label(labels, "InIssuType", "N" if invoice.is_red else "Y", "是否蓝字发票标志")
    _label(labels, "EInvoiceType", "01", "电子发票")
    special = face.kind == "special"
    _label(
        labels,
        "GeneralOrSpecialVAT",
        "01" if special else "02",
        "增值税专用发票" if special else "普通发票",
    )
    _label(labels, "TaxpayerType", "01", "一般纳税人")

    data = _sub(root, "EInvoiceData")
    _party(_sub(data, "SellerInformation"), "Seller", face.seller)
    buyer = _sub(data, "BuyerInformation")
    _party(buyer, "Buyer", face.buyer)
    _text(buyer, "BuyerHandlingName", "")
    basic = _sub(data, "BasicInformation")
    _text(basic, "TotalAmWithoutTax", _money(invoice.amount))
    _text(basic, "TotalTaxAm", _money(invoice.tax))
    _text(basic, "TotalTax-includedAmount", _money(invoice.total))
    _text(basic, "TotalTax-includedAmountInChinese", amount_in_words(invoice.total))
    _text(basic, "Drawer", face.drawer)
    _text(basic, "RequestTime", f"{face.issued_at:%Y-%m-%d %H:%M:%S}")
    for line in face.lines:
        _line(_sub(data, "IssuItemInformation"), line)
    if invoice.blue_number is not None:
        red = _sub(_sub(data, "SpecificInformation"), "RedEInvoice")
        _text(red, "OriginalInvoiceCode", invoice.blue_number)
    _text(_sub(data, "AdditionalInformation"), "Remark", face.remark)

    _text(_sub(root, "SellerAuthentication"), "AuthenticationMethods", "1")
    supervision = _sub(root, "TaxSupervisionInfo")
    _text(supervision, "InvoiceNumber", face.number)
    _text(supervision, "IssueTime", f"{face.issued_at:%Y-%m-%d %H:%M:%S}")
    _text(supervision, "TaxBureauCode", f"1{invoice.province}00000000")
    province = _PROVINCES.get(invoice.province, "")
    _text(supervision, "TaxBureauName", f"国家税务总局{province}税务局")
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + bytes(body)


def amount_in_words(value: Decimal) -> str:
    """大写金额 as printed on the invoice: 壹仟贰佰柒拾贰圆整, 伍圆陆角壹分, (负数) on red."""
    fen_total = int((abs(value) * 100).to_integral_value(ROUND_HALF_UP))
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    text = f"{_integer_words(yuan)}圆" if yuan else ""
    if not (jiao or fen):
        text = f"{text or '零圆'}整"
    else:
        if jiao:
            text += f"{_DIGITS[jiao]}角"
        elif yuan:
            text += "零"
        if fen:
            text += f"{_DIGITS[fen]}分"
    return f"（负数）{text}" if value < 0 else text


def _integer_words(number: int) -> str:
    groups: list[int] = []
    while number:
        groups.append(number % 10_000)
        number //= 10_000
    out, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = bool(out)
            continue
        if out and (gap or group < 1000):
            out += "零"
        out += _group_words(group) + _SECTIONS[index]
        gap = False
    return out


def _group_words(group: int) -> str:
    out, zero = "", False
    for weight, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = group // weight % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + unit
    return out


def _line(item: _Element, line: FaceLine) -> None:
    _text(item, "ItemName", line.item_name)
    _text(item, "SpecMod", "")
    _text(item, "MeaUnits", line.unit)
    _text(item, "Quantity", "" if line.quantity is None else _eight(line.quantity))
    _text(item, "UnPrice", "" if line.unit_price is None else _eight(line.unit_price))
    _text(item, "Amount", _money(line.amount))
    _text(item, "TaxRate", str(Decimal(line.tax_rate).scaleb(-2)))
    _text(item, "ComTaxAm", _money(line.tax))
    _text(item, "TotaltaxIncludedAmount", _money(line.total))
    _text(item, "TaxClassificationCode", line.tax_code)


def _party(parent: _Element, prefix: str, party: Party) -> None:
    _text(parent, f"{prefix}IdNum", party.tax_no)
    _text(parent, f"{prefix}Name", party.name)
    _text(parent, f"{prefix}Addr", party.address)
    _text(parent, f"{prefix}TelNum", party.phone)
    _text(parent, f"{prefix}BankName", party.bank_name)
    _text(parent, f"{prefix}BankAccNum", party.bank_account)


def _label(parent: _Element, tag: str, code: str, name: str) -> None:
    label = _sub(parent, tag)
    _text(label, "LabelCode", code)
    _text(label, "LabelName", name)


def _sub(parent: _Element, tag: str) -> _Element:
    return etree.SubElement(parent, tag)


def _text(parent: _Element, tag: str, value: str) -> None:
    etree.SubElement(parent, tag).text = value


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _eight(value: Decimal) -> str:
    """Price and quantity with 8 decimals, as real files print them (8500.00000000)."""
    return f"{value:.8f}"
