"""YonBIP `vouchersaleinvoice/save` body (销售发票) with the related sales order.

Money goes out as strings (YonBIP's BigDecimal text), except about one case in ten that sends
whole amounts as plain JSON integers, as the detail API does; a fractional amount is never a
JSON float (it may have lost precision on the ERP's side, and the hub refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeAlias

from simulators.erp.dataset import GeneratedCase, Line
from simulators.erp.jsontext import JsonValue, Number, decimal_text, dumps
from simulators.erp.money import FEN
from simulators.erp.variants import one_in

INVOICE_TYPE_SPECIAL = "10"  # 电子发票（增值税专用发票）
INVOICE_TYPE_NORMAL = "11"  # 电子发票（普通发票）

_Money: TypeAlias = Callable[[Decimal], JsonValue]


def money_is_numeric(case: GeneratedCase) -> bool:
    return one_in(10, "yonyou-numeric-money", case.document_no)


def money_text(value: Decimal) -> str:
    """At least two places, never fewer than the value has ("1000.00", "1285.4993")."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        value = value.quantize(FEN)
    return decimal_text(value)


def _stamp(value: date) -> str:
    return f"{value.isoformat()} 00:00:00"


def render_yonyou(case: GeneratedCase) -> bytes:
    numeric = money_is_numeric(case)

    def money(value: Decimal) -> JsonValue:
        if numeric and value == value.to_integral_value():
            return Number(str(int(value)))
        return money_text(value)

    inv, seller, buyer = case.invoice, case.seller, case.buyer
    data: dict[str, JsonValue] = {
        "id": str(case.erp_id),
        "code": case.document_no,
        "orgId": seller.yonyou_org_id,
        "orgName": seller.name,
        "agentId": buyer.yonyou_agent_id,
        "agentName": buyer.name,
        "invAgentId": buyer.yonyou_agent_id,
        "invAgentName": buyer.name,
        "invAgentTaxNo": buyer.uscc,
        "invoiceType": INVOICE_TYPE_SPECIAL if inv.kind == "special" else INVOICE_TYPE_NORMAL,
        "invDirection": "2",
        "vouchdate": _stamp(inv.issue_date),
        "currency_code": "CNY",
        "oriMoney": money(inv.amount),
        "oriTax": money(inv.tax),
        "oriSum": money(inv.total),
        "maturityDate": _stamp(case.due_date),
        "status": 1,
        "businessState": 2,
        "einvoiceNo": "",
        "einvoiceHm": inv.number,
        "_status": "Insert",
        "saleInvoiceDetails": [
            {
                "lineno": 10 * line.line_no,
                "productCode": line.product_code,
                "productName": line.product_name,
                **_priced(line, money),
                "orderNo": case.order.number,
            }
            for line in inv.lines
        ],
    }
    order = case.order
    related: dict[str, JsonValue] = {
        "saleOrders": [
            {
                "code": order.number,
                "vouchdate": _stamp(order.order_date),
                "agentId": buyer.yonyou_agent_id,
                "agentName": buyer.name,
                "oriMoney": money(order.amount),
                "oriTax": money(order.tax),
                "oriSum": money(order.total),
                "orderDetails": [
                    {
                        "lineno": 10 * line.line_no,
                        "productCode": line.product_code,
                        **_priced(line, money),
                    }
                    for line in order.lines
                ],
            }
        ]
    }
    if case.delivery is not None:
        related["deliveries"] = [
            {
                "code": case.delivery.number,
                "vouchdate": _stamp(case.delivery.delivery_date),
                "source": "voucher_order",
                "srcBillNo": case.delivery.order_number,
                "details": [
                    {"lineno": 10 * n, "productCode": line.product_code, "qty": line.quantity}
                    for n, line in enumerate(case.delivery.lines, 1)
                ],
            }
        ]
    body: dict[str, JsonValue] = {
        "data": data,
        "org": {"code": seller.yonyou_org_code, "name": seller.name, "taxNo": seller.uscc},
        "related": related,
    }
    return dumps(body).encode()


def _priced(line: Line, money: _Money) -> dict[str, JsonValue]:
    return {
        "qty": line.quantity,
        "oriUnitPrice": money(line.unit_price),
        "oriTaxUnitPrice": money(line.unit_price_incl_tax),
        "taxRate": line.tax_rate,
        "oriMoney": money(line.amount),
        "oriTax": money(line.tax),
        "oriSum": money(line.total),
    }
