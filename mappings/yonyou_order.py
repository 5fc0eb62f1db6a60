"""YonBIP sales order (`voucherorder` detail answer or `singleSave` body) -> PurchaseOrder.

The seller's sales order is the buyer's purchase order the hub matches invoices against
(formats-inbound §1.5). Accepted: `{"code": "200" | 200, "data": {...}}`, `{"data": {...}}` and
the bare order. Header `code`, `vouchdate`, `agentId` (the customer), `oriMoney`/`oriTax`/`oriSum`
(else `payMoney` for the total), currency `currency_code`; lines `orderDetails[]` with the same
line fields as the sales invoice. YonBIP keeps an order's prices in nested objects as well
(`orderPrices` on the header, `orderDetailPrices` on a line): a figure missing from the object
itself is read there. Money may be a JSON number or a string (§0.1).

An order names its customer by id only, so `buyer` stays None and `buyer_code` carries the id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from canonical import Money, Provenance, PurchaseOrder
from mappings._fields import Node, Reader, read_document
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Labels,
    OrderDraft,
    check_tolerance,
    document_line,
    fingerprint,
)
from mappings._problems import Problems, guarded, require_aware
from mappings._values import fen
from mappings._yonyou_common import (
    answer_data,
    check_order,
    currency,
    ident,
    inner,
    optional_money,
    sniff_json,
    yonbip_lines,
)
from mappings.catalogue import InboundFormat

__all__ = ["INBOUND", "yonbip_order_to_canonical"]

SOURCE = "yonyou"
_LABELS = Labels("orderDetails", "oriMoney", "oriTax", "oriSum")


def yonbip_order_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> PurchaseOrder:
    """Map a YonBIP sales order; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> PurchaseOrder:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, SOURCE)
    found = answer_data(read, root)
    order = read.object(found) if found is not None else None
    if order is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable")  # a problem says why there is no order
    prices = order.get("orderPrices")
    head = _Prices(order, prices if isinstance(prices.value, dict) else None)
    lines_node = order.get("orderDetails")
    total = head.pick("oriSum", "payMoney")
    draft = OrderDraft(
        path="",
        number=ident(read, order.get("code"), required=True),
        order_date=read.date(order.get("vouchdate")),
        buyer_code=ident(read, order.first("agentId", "agentId_code")),
        same_buyer=False,
        lines=yonbip_lines(read, lines_node, _LABELS, prices="orderDetailPrices"),
        lines_path=lines_node.path,
        labels=_LABELS,
        amount=optional_money(read, head.pick("oriMoney")),
        tax=optional_money(read, head.pick("oriTax")),
        total=optional_money(read, total),
    )
    code = currency(read, head.pick("currency_code", "currency"))
    check_order(problems, draft, tolerance)
    _signs(problems, draft)
    problems.raise_if_any(SOURCE)
    try:
        return _build(draft, code or "CNY", fingerprint(raw), received_at)
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(SOURCE)
        raise


class _Prices:
    """Header fields read from the order, else from its nested `orderPrices`."""

    def __init__(self, order: Node, nested: Node | None) -> None:
        self.order, self.nested = order, nested

    def pick(self, *keys: str) -> Node:
        """The first key present and not blank, on the order or else in `orderPrices`."""
        for key in keys:
            for holder in (self.order, self.nested):
                if holder is not None and not holder.get(key).blank:
                    return holder.get(key)
        return self.order.get(keys[0])


def _signs(problems: Problems, draft: OrderDraft) -> None:
    total = draft.total.value
    if total is not None and total <= 0:
        problems.add(draft.total.path, "an order's total must be positive", total)


def _build(draft: OrderDraft, code: str, digest: str, received_at: datetime) -> PurchaseOrder:
    number = draft.number or ""
    lines = draft.lines or []
    if draft.order_date is None:  # unreachable: a missing date recorded a problem
        raise RuntimeError("a field with no recorded problem is missing")
    total = draft.total.value
    if total is None:
        total = sum((d.total.value or Decimal(0) for d in lines), Decimal(0))
    return PurchaseOrder(
        number=number,
        order_date=draft.order_date,
        buyer_code=draft.buyer_code or "",
        total=Money(amount=fen(total), currency=code),
        lines=tuple(document_line(d, number) for d in lines),
        provenance=Provenance(
            source_system=SOURCE,
            source_document_id=number,
            fingerprint=digest,
            received_at=received_at,
        ),
    )


def _is_order(body: dict[str, object]) -> bool:
    order = inner(body)
    return (
        order is not None
        and isinstance(order.get("orderDetails"), list)
        and ("saleInvoiceDetails" not in order)
    )


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="yonbip-sale-order",
        family="yonyou",
        title="YonBIP sales order (voucherorder detail answer or singleSave body)",
        read=lambda raw, at: yonbip_order_to_canonical(raw, received_at=at),
        recognise=lambda raw: sniff_json(raw, _is_order),
    ),
)
