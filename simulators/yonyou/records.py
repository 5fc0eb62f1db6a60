"""Sales invoice records (销售发票, `voucher.invoice.SaleInvoice`), formats-inbound §1.5.

A record is the detail view as a dict: amounts are `Decimal` (written as JSON numbers, as the
detail API does), ids are longs. Seeded records come from the shared ERP dataset, so the codes,
ids and amounts are those the ERP pusher sends for the same seed; saved records come from a
client's `save` body, validated the way the save API does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from simulators.erp.dataset import GeneratedCase, Line
from simulators.erp.yonyou import INVOICE_TYPE_NORMAL, INVOICE_TYPE_SPECIAL
from simulators.yonyou.errors import SERVER_LOGIC_ERROR, YonyouError

__all__ = [
    "INVOICE_TYPES",
    "LINES",
    "SAVE_LINES",
    "record_from_save",
    "save_view",
    "seeded_record",
    "stamp",
    "summary_view",
]

LINES = "saleInvoiceDetails"
SAVE_LINES = "voucher_saleinvoicedetails"  # the save response names the same child differently
INVOICE_TYPES = frozenset(str(n) for n in range(14))  # 0 收据 … 10/11 数电 … 13 数电纸质普票
_HEADER_AMOUNTS = ("oriMoney", "oriTax", "oriSum")
_LINE_NUMBERS = ("qty", "priceQty", "taxRate", "oriUnitPrice", "oriTaxUnitPrice", *_HEADER_AMOUNTS)
_FEN = Decimal("0.01")
_PRICE = Decimal("0.000001")  # 6 places, as K/3 and YonBIP price digits commonly are (§0.2)
_TOLERANCE = Decimal("0.01")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?")


def stamp(value: date) -> str:
    return f"{value.isoformat()} 00:00:00"


def _national(amounts: Mapping[str, Any]) -> dict[str, Any]:
    """CNY only: local-currency amounts equal the original ones (exchRate 1)."""
    return {
        "natMoney": amounts["oriMoney"],
        "natTax": amounts["oriTax"],
        "natSum": amounts["oriSum"],
    }


def _seeded_line(line: Line, case: GeneratedCase) -> dict[str, Any]:
    amounts = {"oriMoney": line.amount, "oriTax": line.tax, "oriSum": line.total}
    return {
        "lineno": 10 * line.line_no,
        "productCode": line.product_code,
        "productName": line.product_name,
        "unitName": line.unit,
        "qty": line.quantity,
        "priceQty": line.quantity,
        "taxRate": line.tax_rate,
        "taxCode": f"VAT{line.tax_rate}",
        "taxItems": f"{line.tax_rate}%",
        "oriUnitPrice": line.unit_price,
        "oriTaxUnitPrice": line.unit_price_incl_tax,
        **amounts,
        **_national(amounts),
        "source": "voucher_order",
        "srcVoucherNo": case.order.number,
        "orderNo": case.order.number,
        "makeRuleCode": "order_saleinvoice",
    }


def seeded_record(case: GeneratedCase) -> dict[str, Any]:
    """An approved invoice (已审核, 已开税票) as the detail API shows it."""
    inv, seller, buyer = case.invoice, case.seller, case.buyer
    vouchdate = stamp(inv.issue_date)
    amounts = {"oriMoney": inv.amount, "oriTax": inv.tax, "oriSum": inv.total}
    return {
        "id": case.erp_id,
        "code": case.document_no,
        "orgId": seller.yonyou_org_id,
        "orgName": seller.name,
        "agentId": buyer.yonyou_agent_id,
        "agentName": buyer.name,
        "invAgentId": buyer.yonyou_agent_id,
        "invAgentName": buyer.name,
        "invAgentTaxNo": buyer.uscc,
        "invAgentBank": buyer.bank_name,
        "invAgentBankNo": buyer.bank_account,
        "invoiceTitle": buyer.name,
        "invoiceTitleType": 0,
        "invoiceType": INVOICE_TYPE_SPECIAL if inv.kind == "special" else INVOICE_TYPE_NORMAL,
        "invDirection": 2,
        "vouchdate": vouchdate,
        "source": "voucher_order",
        "invoiceSrcSystem": 1,
        "currency_code": "CNY",
        "currency_name": "人民币",
        "natCurrency_code": "CNY",
        "exchRate": 1,
        **amounts,
        **_national(amounts),
        "submmitAccountDate": vouchdate,
        "maturityDate": stamp(case.due_date),
        "status": 1,
        "verifystate": 2,
        "businessState": 2,
        "taxBillingStatus": 2,
        "einvoiceNo": "",
        "einvoiceHm": inv.number,
        "createTime": vouchdate,
        "auditTime": vouchdate,
        "pubts": vouchdate,
        LINES: [_seeded_line(line, case) for line in inv.lines],
    }


def _fail(message: str) -> YonyouError:
    return YonyouError(SERVER_LOGIC_ERROR, message)


def _decimal(value: object, field: str) -> Decimal:
    """A JSON number or numeric string (YonBIP sends both); never a bool or a float."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _fail(f"字段[{field}]不是合法的数值")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise _fail(f"字段[{field}]不是合法的数值") from None
    if not number.is_finite():
        raise _fail(f"字段[{field}]不是合法的数值")
    return number


def _required(data: Mapping[str, Any], field: str) -> Any:
    value = data.get(field)
    if value is None or value == "" or value == []:
        raise _fail(f"字段[{field}]不能为空")
    return value


def _line(raw: object, index: int) -> dict[str, Any]:
    where = f"{LINES}[{index}]"
    if not isinstance(raw, dict):
        raise _fail(f"{where}必须是对象")
    line = dict(raw)
    for field in ("qty", "taxRate", "oriSum"):
        _required_in(line, field, where)
    for field in _LINE_NUMBERS:
        if field in line and line[field] is not None:
            line[field] = _decimal(line[field], f"{where}.{field}")
    if line["qty"] == 0:
        raise _fail(f"字段[{where}.qty]不能为0")
    if "oriMoney" not in line:
        rate = 1 + line["taxRate"] / 100
        line["oriMoney"] = (line["oriSum"] / rate).quantize(_FEN, ROUND_HALF_UP)
    if "oriTax" not in line:
        line["oriTax"] = line["oriSum"] - line["oriMoney"]
    if abs(line["oriMoney"] + line["oriTax"] - line["oriSum"]) > _TOLERANCE:
        raise _fail(f"{where}: 无税金额+税额与含税金额不一致")
    # YonBIP derives the unit prices it does not get, as it derives the money: the detail
    # answer always shows them (§1.5 line fields), at its price precision
    if line.get("oriUnitPrice") is None:
        line["oriUnitPrice"] = (line["oriMoney"] / line["qty"]).quantize(_PRICE, ROUND_HALF_UP)
    if line.get("oriTaxUnitPrice") is None:
        line["oriTaxUnitPrice"] = (line["oriSum"] / line["qty"]).quantize(_PRICE, ROUND_HALF_UP)
    line.setdefault("lineno", 10 * (index + 1))
    return {**line, **_national(line)}


def _required_in(line: Mapping[str, Any], field: str, where: str) -> Any:
    value = line.get(field)
    if value is None or value == "":
        raise _fail(f"字段[{where}.{field}]不能为空")
    return value


def record_from_save(
    data: Mapping[str, Any], *, record_id: int, code: str, now: str
) -> dict[str, Any]:
    """A new open (开立) invoice from the `data` of a save body; raises YonyouError(999)."""
    for field in ("orgId", "agentId", "vouchdate", "invoiceType"):
        _required(data, field)
    vouchdate = str(data["vouchdate"])
    if not _DATE.fullmatch(vouchdate):
        raise _fail("字段[vouchdate]格式应为yyyy-MM-dd HH:mm:ss")
    if len(vouchdate) == 10:
        vouchdate += " 00:00:00"
    if str(data["invoiceType"]) not in INVOICE_TYPES:
        raise _fail(f"字段[invoiceType]取值非法: {data['invoiceType']}")
    direction = str(data.get("invDirection", 2))
    if direction not in ("1", "2"):
        raise _fail(f"字段[invDirection]取值非法: {data.get('invDirection')}")
    raw_lines = _required(data, LINES)
    if not isinstance(raw_lines, list):
        raise _fail(f"字段[{LINES}]必须是数组")
    lines = [_line(raw, i) for i, raw in enumerate(raw_lines)]
    totals = {f: sum((ln[f] for ln in lines), Decimal("0")) for f in _HEADER_AMOUNTS}
    for field in _HEADER_AMOUNTS:
        if data.get(field) not in (None, ""):
            given = _decimal(data[field], field)
            if abs(given - totals[field]) > _TOLERANCE:
                raise _fail(f"表头[{field}]与表体合计不一致: {given} != {totals[field]}")
            totals[field] = given
    record = {k: v for k, v in data.items() if k not in ("_status", "id", "code", LINES)}
    record.update(
        id=record_id,
        code=code,
        vouchdate=vouchdate,
        invDirection=int(direction),
        currency_code=data.get("currency_code") or "CNY",
        **totals,
        **_national(totals),
        status=0,
        verifystate=0,
        businessState=1,
        taxBillingStatus=1,
        createTime=now,
        pubts=now,
    )
    record[LINES] = lines
    return record


def save_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """What save answers: the id as a string and the lines under their save-response name."""
    view = {k: v for k, v in record.items() if k != LINES}
    view["id"] = str(record["id"])
    view[SAVE_LINES] = list(record[LINES])
    return view


def summary_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """A list row with `isSum` true: the header only."""
    return {k: v for k, v in record.items() if k != LINES}
