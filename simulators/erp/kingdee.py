"""Kingdee K/3 Cloud `DynamicFormService.Save` body for a sales invoice (IV_SALESIC / IV_SALESOC).

Amounts are JSON numbers with exact text; about one case in ten sends `data` as a JSON string,
as real clients do.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from simulators.erp.dataset import GeneratedCase, Line
from simulators.erp.jsontext import JsonValue, Number, decimal_text, dumps
from simulators.erp.variants import one_in

FORM_SPECIAL = "IV_SALESIC"  # 销售增值税专用发票
FORM_NORMAL = "IV_SALESOC"  # 销售普通发票
BILL_TYPE_SPECIAL = "XSZZSZYFP01_SYS"
BILL_TYPE_NORMAL = "XSPTFP01_SYS"


def number(value: Decimal) -> Number:
    """Kingdee style: shortest exact text with at least one decimal (113000.0, 1285.5)."""
    text = decimal_text(value.normalize())
    return Number(text if "." in text else f"{text}.0")


def data_is_string(case: GeneratedCase) -> bool:
    return one_in(10, "kingdee-data-as-string", case.document_no)


def render_kingdee(case: GeneratedCase) -> bytes:
    special = case.invoice.kind == "special"
    data: dict[str, JsonValue] = {
        "Model": _model(case, special),
        "SellerOrg": {
            "FNumber": case.seller.kingdee_org_number,
            "FName": case.seller.name,
            "FSOCIALCRECODE": case.seller.uscc,
        },
        "Related": {
            "SAL_SaleOrder": [_sale_order(case)],
            "AR_receivable": [_receivable(case)],
            "SAL_OUTSTOCK": [_out_stock(case)] if case.delivery else [],
        },
    }
    body: dict[str, JsonValue] = {
        "formid": FORM_SPECIAL if special else FORM_NORMAL,
        "data": dumps(data) if data_is_string(case) else data,
    }
    return dumps(body).encode()


def _day(value: date) -> str:
    return value.isoformat()


def _model(case: GeneratedCase, special: bool) -> dict[str, JsonValue]:
    inv, org = case.invoice, {"FNumber": case.seller.kingdee_org_number}
    return {
        "FID": 0,
        "FBillNo": case.document_no,
        "FBillTypeID": {"FNUMBER": BILL_TYPE_SPECIAL if special else BILL_TYPE_NORMAL},
        "FDOCUMENTSTATUS": "C",
        "FDATE": _day(inv.issue_date),
        "FSETTLEORGID": dict(org),
        "FSALEORGID": dict(org),
        "FCUSTOMERID": {"FNumber": case.buyer.kingdee_customer_number},
        "FINVOICETITLE": case.buyer.name,
        "FTAXREGISTERCODE": case.buyer.uscc,
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FIVCODE": "",
        "FIVNUMBER": inv.number,
        "FINVOICEDATE": _day(inv.issue_date),
        "FRedBlue": "0",
        "FCancelStatus": "A",
        "FISTAX": "true",
        "FHEADAUXPRICEFOR": number(inv.amount),
        "FTAXAMOUNTFOR": number(inv.tax),
        "FAFTERTOTALTAXFOR": number(inv.total),
        "FSALESICENTRY": [_invoice_entry(line, case.order.number) for line in inv.lines],
    }


def _invoice_entry(line: Line, order_no: str) -> dict[str, JsonValue]:
    return {
        "FEntryID": 0,
        "FMATERIALID": {"FNumber": line.product_code},
        "FMATERIALNAME": line.product_name,
        "FPRICEQTY": line.quantity,
        "FAUXPRICE": number(line.unit_price),
        "FAUXTAXPRICE": number(line.unit_price_incl_tax),
        "FTAXRATE": line.tax_rate,
        "FAMOUNTFOR": number(line.amount),
        "FDETAILTAXAMOUNTFOR": number(line.tax),
        "FALLAMOUNTFOR": number(line.total),
        "FSALESORDERNO": order_no,
        "FSRCBILLTYPEID": "SAL_SaleOrder",
        "FSRCBILLNO": order_no,
    }


def _sale_order(case: GeneratedCase) -> dict[str, JsonValue]:
    order = case.order
    return {
        "FBillNo": order.number,
        "FDate": _day(order.order_date),
        "FDocumentStatus": "C",
        "FCustId": {"FNumber": case.buyer.kingdee_customer_number},
        "FSaleOrgId": {"FNumber": case.seller.kingdee_org_number},
        "FSaleOrderEntry": [
            {
                "FSeq": n,
                "FMaterialId": {"FNumber": line.product_code},
                "FQty": line.quantity,
                "FPrice": number(line.unit_price),
                "FTaxPrice": number(line.unit_price_incl_tax),
                "FEntryTaxRate": line.tax_rate,
                "FAmount": number(line.amount),
                "FTaxAmount": number(line.tax),
                "FAllAmount": number(line.total),
                "FDeliveryDate": _day(order.delivery_date),
            }
            for n, line in enumerate(order.lines, 1)
        ],
    }


def _out_stock(case: GeneratedCase) -> dict[str, JsonValue]:
    """The 销售出库单 (SAL_OUTSTOCK) that shipped the order's goods."""
    delivery = case.delivery
    assert delivery is not None
    return {
        "FBillNo": delivery.number,
        "FDate": _day(delivery.delivery_date),
        "FDocumentStatus": "C",
        "FCustomerID": {"FNumber": case.buyer.kingdee_customer_number},
        "FStockOrgId": {"FNumber": case.seller.kingdee_org_number},
        "FEntity": [
            {
                "FSeq": n,
                "FMaterialID": {"FNumber": line.product_code},
                "FRealQty": line.quantity,
                "FSrcBillTypeID": "SAL_SaleOrder",
                "FSrcBillNo": delivery.order_number,
                "FSoorDerno": delivery.order_number,
            }
            for n, line in enumerate(delivery.lines, 1)
        ],
    }


def _receivable(case: GeneratedCase) -> dict[str, JsonValue]:
    due = _day(case.due_date)
    return {
        "FBillNo": case.receivable_no or f"AR-{case.document_no}",
        "FENDDATE_H": due,
        "FEntityPlan": [
            {"FENDDATE": due, "FPAYRATE": 100, "FPAYAMOUNTFOR": number(case.invoice.total)}
        ],
    }
