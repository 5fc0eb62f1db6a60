"""Base data and seeded bills from simulators/erp/dataset.py: one story across every simulator.

Each Kingdee case of the dataset becomes three audited bills: its sales order (SAL_SaleOrder), its
receivable (AR_receivable, due on the case's due date) and its invoice (IV_SALESIC for a 专票,
IV_SALESOC for a 普票), the invoice exactly as the ERP pusher renders it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from simulators.erp.dataset import Companies, GeneratedCase, Line, generate_invoices
from simulators.erp.kingdee import FORM_NORMAL, FORM_SPECIAL, render_kingdee
from simulators.erp.vocabulary import ACCESSORIES, GOODS, SERVICES

__all__ = ["BaseData", "BaseRecord", "SeededBill", "seeded_bills"]

CNY = "PRE001"
_CURRENCIES = {
    "PRE001": "人民币",
    "PRE002": "香港元",
    "PRE003": "欧元",
    "PRE004": "日本日元",
    "PRE005": "新台币元",
    "PRE006": "英镑",
    "PRE007": "美元",
}
KIND_LABELS = {"customer": "客户", "org": "组织", "currency": "币别", "material": "物料"}


@dataclass(frozen=True)
class BaseRecord:
    kind: str
    number: str
    name: str
    internal_id: int


class BaseData:
    """Customers (buyers), organisations (sellers), currencies and materials, by code."""

    def __init__(self, companies: Companies) -> None:
        self._records: dict[tuple[str, str], BaseRecord] = {}
        for company in companies.buyers:
            self._add("customer", company.kingdee_customer_number, company.name)
        for company in companies.sellers:
            self._add("org", company.kingdee_org_number, company.name)
        for code, name in _CURRENCIES.items():
            self._add("currency", code, name)
        for product in (*GOODS, *SERVICES, *ACCESSORIES):
            self._add("material", product.code, product.name)
        self.customers = {c.kingdee_customer_number: c for c in companies.buyers}

    def _add(self, kind: str, number: str, name: str) -> None:
        self._records[(kind, number.upper())] = BaseRecord(
            kind, number, name, _internal_id(kind, number)
        )

    def find(self, kind: str, number: str) -> BaseRecord | None:
        return self._records.get((kind, number.strip().upper()))

    def ref(self, kind: str, number: str) -> BaseRecord:
        """The record, or an unnamed one with a stable internal id for unchecked kinds."""
        return self.find(kind, number) or BaseRecord(kind, number, "", _internal_id(kind, number))


def _internal_id(kind: str, number: str) -> int:
    digest = hashlib.sha256(f"{kind}:{number.upper()}".encode()).digest()
    return 100_000 + int.from_bytes(digest[:4], "big") % 900_000


@dataclass(frozen=True)
class SeededBill:
    form_id: str
    model: dict[str, Any]


def seeded_bills(seed: int, count: int, companies: Companies) -> Iterator[SeededBill]:
    """Order, receivable and invoice of every Kingdee case among the first `count` cases."""
    for case in generate_invoices(seed, count, companies):
        if case.vendor != "kingdee":
            continue
        yield SeededBill("SAL_SaleOrder", _sale_order(case))
        yield SeededBill("AR_receivable", _receivable(case))
        yield SeededBill(*_invoice(case))


def _invoice(case: GeneratedCase) -> tuple[str, dict[str, Any]]:
    body = json.loads(render_kingdee(case), parse_float=Decimal)
    data = body["data"]
    if isinstance(data, str):  # the pusher double-encodes about one body in ten
        data = json.loads(data, parse_float=Decimal)
    form = FORM_SPECIAL if case.invoice.kind == "special" else FORM_NORMAL
    return form, dict(data["Model"])


def _ref(number: str) -> dict[str, Any]:
    return {"FNumber": number}


def _sale_order(case: GeneratedCase) -> dict[str, Any]:
    order = case.order
    return {
        "FID": 0,
        "FBillNo": order.number,
        "FBillTypeID": _ref("XSDD01_SYS"),
        "FDate": order.order_date.isoformat(),
        "FDocumentStatus": "C",
        "FCancelStatus": "A",
        "FCustId": _ref(case.buyer.kingdee_customer_number),
        "FSaleOrgId": _ref(case.seller.kingdee_org_number),
        "FLocalCurrId": _ref(CNY),
        "FSaleOrderEntry": [
            {
                "FEntryID": 0,
                "FSeq": n,
                "FMaterialId": _ref(line.product_code),
                "FMaterialName": line.product_name,
                "FQty": line.quantity,
                "FUnitId": _ref(line.unit),
                "FPrice": line.unit_price,
                "FTaxPrice": line.unit_price_incl_tax,
                "FEntryTaxRate": line.tax_rate,
                "FAmount": line.amount,
                "FTaxAmount": line.tax,
                "FAllAmount": line.total,
                "FDeliveryDate": order.delivery_date.isoformat(),
            }
            for n, line in enumerate(order.lines, 1)
        ],
    }


def _receivable(case: GeneratedCase) -> dict[str, Any]:
    invoice, seller = case.invoice, _ref(case.seller.kingdee_org_number)
    due = case.due_date.isoformat()
    return {
        "FID": 0,
        "FBillNo": case.receivable_no or f"AR-{case.document_no}",
        "FBillTypeID": _ref("YSD01_SYS"),
        "FDATE": invoice.issue_date.isoformat(),
        "FENDDATE_H": due,
        "FCUSTOMERID": _ref(case.buyer.kingdee_customer_number),
        "FCURRENCYID": _ref(CNY),
        "FSETTLEORGID": dict(seller),
        "FPAYORGID": dict(seller),
        "FSALEORGID": dict(seller),
        "FISTAX": True,
        "FCancelStatus": "A",
        "FBUSINESSTYPE": "BZ",
        "FSetAccountType": "1",
        "FDOCUMENTSTATUS": "C",
        "FALLAMOUNTFOR": invoice.total,
        "FsubHeadFinc": {
            "FACCNTTIMEJUDGETIME": invoice.issue_date.isoformat(),
            "FSettleTypeID": _ref("JSFS02_SYS"),
            "FMAINBOOKSTDCURRID": _ref(CNY),
            "FExchangeRate": Decimal("1.0"),
            "FTaxAmountFor": invoice.tax,
            "FNoTaxAmountFor": invoice.amount,
        },
        "FEntityDetail": [_receivable_line(line, case.order.number) for line in invoice.lines],
        "FEntityPlan": [
            {"FEntryID": 0, "FENDDATE": due, "FPAYRATE": 100, "FPAYAMOUNTFOR": invoice.total}
        ],
    }


def _receivable_line(line: Line, order_no: str) -> dict[str, Any]:
    return {
        "FEntryID": 0,
        "FMATERIALID": _ref(line.product_code),
        "FMaterialDesc": line.product_name,
        "FPRICEUNITID": _ref(line.unit),
        "FPriceQty": line.quantity,
        "FTaxPrice": line.unit_price_incl_tax,
        "FPrice": line.unit_price,
        "FEntryTaxRate": line.tax_rate,
        "FNoTaxAmountFor_D": line.amount,
        "FTAXAMOUNTFOR_D": line.tax,
        "FALLAMOUNTFOR_D": line.total,
        "FSRCBILLTYPEID": "SAL_SaleOrder",
        "FSRCBILLNO": order_no,
        "FORDERNUMBER": order_no,
        "FIVALLAMOUNTFOR": line.total,
    }
