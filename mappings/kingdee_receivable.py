"""Kingdee K/3 Cloud 应收单 (`AR_receivable` Save body) -> canonical.ReceivableBill.

Accepted shapes (formats-inbound §2.2): `{"formid": "AR_receivable", "data": {"Model": ...}}`,
the same with `data` double-encoded as a JSON string, and the native
`{"parameters": ["AR_receivable", "<payload JSON>"]}`. Fields follow §2.7: header totals in
`FALLAMOUNTFOR` and `FsubHeadFinc` (`FNoTaxAmountFor`, `FTaxAmountFor`), lines in
`FEntityDetail`, the receipt plan (收款计划) in `FEntityPlan`, which must add up to the total.
The due date is `FENDDATE_H`, else the plan's latest `FENDDATE`. A negative `FALLAMOUNTFOR` is a
red receivable. Optional `SellerOrg` / `Customer` objects beside `Model` (FNumber, FName,
FSOCIALCRECODE) name the parties, as in the sales-invoice push.

`receivable_from_bill` reads any bill node (`mappings._kingdee_common`), so the View and
ExecuteBillQuery readers of `mappings.kingdee_query` share it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import ValidationError

from canonical import Instalment, Money, PartyRole, Provenance, ReceivableBill
from mappings._fields import Node, Reader
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Figure,
    Labels,
    OrderDraft,
    document_line,
)
from mappings._kingdee_common import (
    SOURCE,
    LineKeys,
    check_bill,
    entries,
    figure,
    latest,
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

__all__ = ["INBOUND", "RECEIVABLE_LINES", "kingdee_receivable_to_canonical", "receivable_from_bill"]

FORM_ID = "AR_receivable"
RECEIVABLE_LINES = LineKeys(
    entity="FEntityDetail",
    item="FMATERIALID",
    names=("FMaterialDesc", "FMATERIALNAME", "FMATERIALID.FName"),
    quantity="FPriceQty",
    price="FPrice",
    rate="FEntryTaxRate",
    amount="FNoTaxAmountFor_D",
    tax="FTAXAMOUNTFOR_D",
    total="FALLAMOUNTFOR_D",
    orders=("FORDERNUMBER",),
)
"""Where an 应收单's detail lines (FEntityDetail) keep each figure (§2.7)."""
_LABELS = Labels("FEntityDetail", "FNoTaxAmountFor_D", "FTAXAMOUNTFOR_D", "FALLAMOUNTFOR_D")
_PERCENT = Decimal(100)


def kingdee_receivable_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> ReceivableBill:
    """Map an AR_receivable Save body; raise MappingError listing every problem."""
    return guarded(
        SOURCE,
        lambda: map_save_body(
            raw,
            received_at,
            tolerance,
            source=SOURCE,
            form_id=FORM_ID,
            from_bill=receivable_from_bill,
        ),
    )


def receivable_from_bill(
    read: Reader,
    bill: Node,
    *,
    body: Node | None,
    fingerprint: str,
    received_at: datetime,
    tolerance: Decimal,
) -> ReceivableBill | None:
    """Read one 应收单; None (with every problem recorded) when it cannot be built."""
    problems = read.problems
    before = len(problems.items)
    require_audited(read, bill, what="receivables")
    number = read.text(bill.get("FBillNo"), max_len=64)
    bill_date = read.date(bill.get("FDATE"))
    currency = kingdee_currency(read, bill.get("FCURRENCYID"))
    buyer_node, seller_node = bill.get("FCUSTOMERID"), bill.get("FSETTLEORGID")
    buyer_code = read.code(buyer_node, required=True)
    seller_code = read.code(seller_node)
    buyer = side_party(read, body, "Customer", PartyRole.BUYER, buyer_code, buyer_node.path)
    seller = side_party(read, body, "SellerOrg", PartyRole.SELLER, seller_code, seller_node.path)
    if buyer is not None and seller is not None and buyer.uscc == seller.uscc:
        problems.add(buyer_node.path, "the customer has the seller's 统一社会信用代码", buyer.uscc)

    total = figure(read, bill.get("FALLAMOUNTFOR"))
    if total.value is not None and total.value == 0:
        problems.add(total.path, "total must not be zero", total.value)
    amount = figure(read, bill.get("FsubHeadFinc.FNoTaxAmountFor"), required=False)
    tax = figure(read, bill.get("FsubHeadFinc.FTaxAmountFor"), required=False)
    lines = read_lines(read, bill, RECEIVABLE_LINES)
    check_bill(
        problems,
        OrderDraft(
            path=bill.path,
            number=number,
            order_date=bill_date,
            buyer_code=buyer_code,
            same_buyer=False,
            lines=lines,
            lines_path=bill.get("FEntityDetail").path,
            labels=_LABELS,
            amount=amount,
            tax=tax,
            total=total,
        ),
        tolerance,
        exact_at_fen=True,
    )
    plan = _plan(read, bill, total, tolerance)
    header_due = read.date(bill.get("FENDDATE_H"), required=False)
    if len(problems.items) > before or currency is None or number is None or bill_date is None:
        return None
    instalments = tuple(
        Instalment(due_date=when, amount=Money(amount=fen(value), currency=currency))
        for when, value in plan
    )
    built_lines = tuple(document_line(line) for line in lines or ())
    total_value = total.value if total.value is not None else Decimal(0)
    try:
        return ReceivableBill(
            number=number,
            bill_date=bill_date,
            due_date=header_due or latest(when for when, _ in plan),
            seller=seller,
            seller_code=seller_code or "",
            buyer=buyer,
            buyer_code=buyer_code or "",
            amount=_money(amount, currency),
            tax=_money(tax, currency),
            total=Money(amount=fen(total_value), currency=currency),
            red=total_value < 0,
            instalments=instalments,
            lines=built_lines,
            order_numbers=tuple(
                dict.fromkeys(line.order_number for line in built_lines if line.order_number)
            ),
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


def _plan(
    read: Reader, bill: Node, total: Figure, tolerance: Decimal
) -> list[tuple[date, Decimal]]:
    """The receipt plan as (due date, amount); its amounts must sum to the total (±tolerance)."""
    problems = read.problems
    rows = entries(read, bill, "FEntityPlan", required=False)
    if not rows:
        return []
    plan = []
    amounts: list[Figure] = []
    rates = []
    for row in rows:
        when = read.date(row.get("FENDDATE"))
        amount = figure(read, row.get("FPAYAMOUNTFOR"))
        rate_node = row.get("FPAYRATE")
        rate = None if rate_node.blank else read.amount(rate_node)
        amounts.append(amount)
        rates.append((rate, rate_node))
        if when is not None and amount.value is not None:
            plan.append((when, amount.value))
    plan_path = bill.get("FEntityPlan").path
    if (
        total.value is not None
        and not problems.any_at(total.path, *(a.path for a in amounts))
        and all(a.value is not None for a in amounts)
    ):
        summed = sum((a.value for a in amounts if a.value is not None), Decimal(0))
        if abs(summed - total.value) > tolerance:
            problems.add(
                plan_path,
                f"the receipt plan's FPAYAMOUNTFOR sum to {summed}, not "
                f"the total FALLAMOUNTFOR {total.value} (整单收款计划应收金额合计不等于"
                f"整单价税合计; tolerance {tolerance})",
                summed,
            )
    if all(rate is not None for rate, _ in rates):
        percent = sum((rate for rate, _ in rates if rate is not None), Decimal(0))
        if percent != _PERCENT:
            problems.add(
                plan_path, f"the receipt plan's FPAYRATE sum to {percent}%, not 100%", percent
            )
    return plan


def _money(figure: Figure, currency: str) -> Money | None:
    return None if figure.value is None else Money(amount=fen(figure.value), currency=currency)


INBOUND = (
    InboundFormat(
        name="kingdee-ar-receivable",
        family="kingdee",
        title="Kingdee K/3 Cloud AR_receivable (应收单) Save body -> receivable bill",
        read=lambda raw, at: kingdee_receivable_to_canonical(raw, received_at=at),
        recognise=lambda raw: sniff_save(raw, (FORM_ID,)),
    ),
)
