"""Kingdee K/3 Cloud 销售订单 (`SAL_SaleOrder` Save body) -> canonical.PurchaseOrder.

Accepted shapes as for every K/3 Save body (formats-inbound §2.2). Fields follow §2.8: the customer
is `FCustId` (not `FCUSTOMERID`), lines are `FSaleOrderEntry` with line-level `FAmount`,
`FTaxAmount`, `FAllAmount`; the order total is their sum, checked against the `FSaleOrderFinance`
totals (`FBillAmount`, `FBillTaxAmount`, `FBillAllAmount`) when the order states them. The
currency is `FSaleOrderFinance.FSettleCurrId` (结算币别), else the header's `FLocalCurrId` (the one
§2.8 names, all a query of the reference's fields can ask), CNY when absent. An optional `Customer`
object beside `Model` (FNumber, FName, FSOCIALCRECODE) names the buyer.

`order_from_bill` reads any bill node, so the View and query readers share it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from canonical import Money, PartyRole, Provenance, PurchaseOrder
from mappings._fields import Node, Reader
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Labels,
    OrderDraft,
    document_line,
)
from mappings._kingdee_common import (
    SOURCE,
    LineKeys,
    check_bill,
    figure,
    map_save_body,
    read_lines,
    require_audited,
    side_party,
    sniff_save,
)
from mappings._problems import guarded
from mappings._values import fen
from mappings.catalogue import InboundFormat
from mappings.kingdee import kingdee_currency

__all__ = ["INBOUND", "ORDER_LINES", "kingdee_order_to_canonical", "order_from_bill"]

FORM_ID = "SAL_SaleOrder"
ORDER_LINES = LineKeys(
    entity="FSaleOrderEntry",
    item="FMaterialId",
    names=("FMaterialName", "FMaterialDesc", "FMaterialId.FName"),
    quantity="FQty",
    price="FPrice",
    rate="FEntryTaxRate",
    amount="FAmount",
    tax="FTaxAmount",
    total="FAllAmount",
)
"""Where a 销售订单's lines (FSaleOrderEntry) keep each figure (§2.8)."""
_LABELS = Labels("FSaleOrderEntry", "FAmount", "FTaxAmount", "FAllAmount")


def kingdee_order_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> PurchaseOrder:
    """Map a SAL_SaleOrder Save body; raise MappingError listing every problem."""
    return guarded(
        SOURCE,
        lambda: map_save_body(
            raw, received_at, tolerance, source=SOURCE, form_id=FORM_ID, from_bill=order_from_bill
        ),
    )


def order_from_bill(
    read: Reader,
    bill: Node,
    *,
    body: Node | None,
    fingerprint: str,
    received_at: datetime,
    tolerance: Decimal,
) -> PurchaseOrder | None:
    """Read one 销售订单; None (with every problem recorded) when it cannot be built."""
    problems = read.problems
    before = len(problems.items)
    require_audited(read, bill, what="sales orders")
    number = read.text(bill.get("FBillNo"), max_len=64)
    order_date = read.date(bill.get("FDate"))
    currency = kingdee_currency(
        read, bill.first("FSaleOrderFinance.FSettleCurrId", "FSettleCurrId", "FLocalCurrId")
    )
    customer = bill.get("FCustId")
    buyer_code = read.code(customer, required=True)
    buyer = side_party(read, body, "Customer", PartyRole.BUYER, buyer_code, customer.path)
    lines = read_lines(read, bill, ORDER_LINES, order_number=number or "")
    total = figure(read, bill.get("FSaleOrderFinance.FBillAllAmount"), required=False)
    check_bill(
        problems,
        OrderDraft(
            path=bill.path,
            number=number,
            order_date=order_date,
            buyer_code=buyer_code,
            same_buyer=buyer is not None,
            lines=lines,
            lines_path=bill.get("FSaleOrderEntry").path,
            labels=_LABELS,
            amount=figure(read, bill.get("FSaleOrderFinance.FBillAmount"), required=False),
            tax=figure(read, bill.get("FSaleOrderFinance.FBillTaxAmount"), required=False),
            total=total,
        ),
        tolerance,
        exact_at_fen=False,
    )
    if (
        len(problems.items) > before
        or currency is None
        or number is None
        or order_date is None
        or lines is None
    ):
        return None
    stated = total.value
    summed = sum((line.total.value for line in lines if line.total.value is not None), Decimal(0))
    built_lines = tuple(document_line(line) for line in lines)
    try:
        return PurchaseOrder(
            number=number,
            order_date=order_date,
            buyer=buyer,
            buyer_code=buyer_code or "",
            total=Money(amount=fen(summed if stated is None else stated), currency=currency),
            lines=built_lines,
            provenance=Provenance(
                source_system=SOURCE,
                source_document_id=number,
                fingerprint=fingerprint,
                received_at=received_at,
            ),
        )
    except ValidationError as exc:
        problems.add_validation_error(bill.path, exc)
        return None


INBOUND = (
    InboundFormat(
        name="kingdee-sale-order",
        family="kingdee",
        title="Kingdee K/3 Cloud SAL_SaleOrder (销售订单) Save body -> purchase order",
        read=lambda raw, at: kingdee_order_to_canonical(raw, received_at=at),
        recognise=lambda raw: sniff_save(raw, (FORM_ID,)),
    ),
)
