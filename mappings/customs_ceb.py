"""Cross-border e-commerce customs messages (formats-inbound §4.5-4.6) -> canonical.

CEB303 (`CEB303Message/Order*`, each an OrderHead and its OrderList lines) -> EcommerceOrders;
CEB403 (`CEB403Message/Receipts*`) -> CollectionReceipts. A message may carry several business
elements before its BaseTransfer: every one is mapped, and the problems of every one are reported
together. Currencies are ISO or the legacy numeric customs codes (142 CNY, 502 USD); times are
`yyyyMMddHHmmss` China time. The ceb namespace may be prefixed, default or absent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from lxml import etree
from pydantic import BaseModel, ValidationError

from canonical import DocumentLine, Money, Provenance
from canonical.customs import (
    CollectionReceipt,
    CollectionReceipts,
    CustomsApplication,
    CustomsCompany,
    EcommerceOrder,
    EcommerceOrders,
)
from mappings._customs import (
    Section,
    check_line_total,
    check_namespace,
    parse_customs_xml,
    sniff_root,
)
from mappings._invoice import DEFAULT_TOLERANCE, check_tolerance, fingerprint
from mappings._problems import Problems, guarded, require_aware
from mappings._values import fen
from mappings._xml import child, children, local_name
from mappings.catalogue import InboundFormat

__all__ = [
    "CEB_NAMESPACE",
    "INBOUND",
    "ceb303_to_canonical",
    "ceb403_to_canonical",
    "recognise_ceb303",
    "recognise_ceb403",
]

CEB_NAMESPACE = "http://www.chinaport.gov.cn/ceb"
SOURCE_303 = "customs-ceb303"
SOURCE_403 = "customs-ceb403"

M = TypeVar("M", bound=BaseModel)

_APPLICATIONS = {
    "1": CustomsApplication.NEW,
    "2": CustomsApplication.CHANGE,
    "3": CustomsApplication.DELETE,
}
_CUSTOMS_CODE = re.compile(r"[0-9A-Z]{10}")
_GNUM = re.compile(r"[1-9][0-9]{0,3}")
_LINE_LABELS = ("qty", "price", "totalPrice")


def ceb303_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> EcommerceOrders:
    """Map a CEB303 export order message; raise MappingError listing every problem."""
    return guarded(SOURCE_303, lambda: _map_303(raw, received_at, tolerance))


def ceb403_to_canonical(raw: bytes, *, received_at: datetime) -> CollectionReceipts:
    """Map a CEB403 collection-receipt message; raise MappingError listing every problem."""
    return guarded(SOURCE_403, lambda: _map_403(raw, received_at))


def recognise_ceb303(raw: bytes) -> bool:
    return sniff_root(raw) in (("CEB303Message", CEB_NAMESPACE), ("CEB303Message", ""))


def recognise_ceb403(raw: bytes) -> bool:
    return sniff_root(raw) in (("CEB403Message", CEB_NAMESPACE), ("CEB403Message", ""))


def _read_303(raw: bytes, received_at: datetime) -> EcommerceOrders:
    return ceb303_to_canonical(raw, received_at=received_at)


def _read_403(raw: bytes, received_at: datetime) -> CollectionReceipts:
    return ceb403_to_canonical(raw, received_at=received_at)


INBOUND = (
    InboundFormat(
        name=SOURCE_303,
        family="customs",
        title="Cross-border e-commerce export order CEB303 (电子订单) -> EcommerceOrders",
        read=_read_303,
        recognise=recognise_ceb303,
    ),
    InboundFormat(
        name=SOURCE_403,
        family="customs",
        title="Cross-border e-commerce collection receipt CEB403 (收款单) -> CollectionReceipts",
        read=_read_403,
        recognise=recognise_ceb403,
    ),
)


def _message(
    problems: Problems, raw: bytes, received_at: datetime, source: str, root_name: str, item: str
) -> tuple[etree._Element, str, list[etree._Element]]:
    """(root, its path, the business elements) after the checks every CEB message shares."""
    require_aware(problems, "received_at", received_at)
    root, prefix = parse_customs_xml(problems, raw, source)
    path = f"{prefix}/{local_name(root)}"
    if local_name(root) != root_name:
        problems.add(path, f"not a {root_name[:6]} message: expected a {root_name} root")
        problems.raise_if_any(source)
    check_namespace(problems, root, CEB_NAMESPACE, path)
    elements = children(root, item)
    if not elements:
        problems.add(f"{path}/{item}", "is required: the message carries no business element")
    transfer = child(root, "BaseTransfer")
    if transfer is None:
        problems.add(f"{path}/BaseTransfer", "is required but missing")
    else:
        Section(problems, transfer, f"{path}/BaseTransfer").text("copCode", required=True)
    return root, path, elements


def _built(problems: Problems, path: str, build: Callable[[], M]) -> M | None:
    """A model, or None with its validation errors recorded under `path`."""
    try:
        return build()
    except ValidationError as exc:
        problems.add_validation_error(path, exc)
        return None


class _Application:
    """The fields every CEB business element starts with (guid, appType, appTime, appStatus)."""

    __slots__ = ("app_time", "application", "declared", "guid")

    def __init__(self, section: Section) -> None:
        self.guid = section.ident("guid", required=True, max_len=64)
        app_type = section.text("appType", required=True)
        self.application = _APPLICATIONS.get(app_type or "")
        if app_type and self.application is None:
            section.problems.add(
                section.where("appType"), "must be 1 (新增), 2 (变更) or 3 (删除)", app_type
            )
        self.app_time = section.moment("appTime")
        status = section.text("appStatus", required=True)
        self.declared = status == "2"
        if status and status not in ("1", "2"):
            section.problems.add(section.where("appStatus"), "must be 1 (暂存) or 2 (申报)", status)

    def complete(self) -> bool:
        return bool(self.guid) and self.application is not None and self.app_time is not None


def _company(section: Section, code: str, name: str) -> CustomsCompany | None:
    company_code = section.ident(
        code, required=True, pattern=_CUSTOMS_CODE, expected="a 10-character customs code"
    )
    company_name = section.text(name, required=True, max_len=140)
    if not company_code or not company_name:
        return None
    return CustomsCompany(code=company_code, name=company_name)


def _map_303(raw: bytes, received_at: datetime, tolerance: Decimal) -> EcommerceOrders:
    problems = Problems()
    tolerance = check_tolerance(problems, tolerance)
    root, path, elements = _message(
        problems, raw, received_at, SOURCE_303, "CEB303Message", "Order"
    )
    provenance = _provenance_factory(raw, received_at, SOURCE_303)
    orders = []
    for index, element in enumerate(elements, start=1):
        order = _order(problems, element, f"{path}/Order[{index}]", tolerance, provenance)
        if order is not None:
            orders.append(order)
    problems.raise_if_any(SOURCE_303)
    message = _built(
        problems, path, lambda: EcommerceOrders(message_guid=_guid(root), orders=tuple(orders))
    )
    problems.raise_if_any(SOURCE_303)
    if message is None:
        raise RuntimeError("a message with no recorded problem was not built")
    return message


def _order(
    problems: Problems,
    element: etree._Element,
    path: str,
    tolerance: Decimal,
    provenance: Callable[[str], Provenance],
) -> EcommerceOrder | None:
    head_element = child(element, "OrderHead")
    if head_element is None:
        problems.add(f"{path}/OrderHead", "is required but missing")
        return None
    head = Section(problems, head_element, f"{path}/OrderHead")
    application = _Application(head)
    order_no = head.ident("orderNo", required=True, max_len=64)
    order_type = head.text("orderType", required=True)
    if order_type and order_type not in ("E", "B"):
        problems.add(
            head.where("orderType"), "must be E (export retail) or B (B2B, 9710)", order_type
        )
    platform = _company(head, "ebpCode", "ebpName")
    seller = _company(head, "ebcCode", "ebcName")
    goods_value = head.amount("goodsValue")
    if goods_value is not None and goods_value <= 0:
        problems.add(head.where("goodsValue"), "must be positive", str(goods_value))
        goods_value = None
    freight = head.amount("freight", required=False)
    if freight is not None and freight < 0:
        problems.add(head.where("freight"), "must not be negative", str(freight))
    currency = head.currency("currency")
    lines = _order_lines(problems, element, path, order_no or "", currency, tolerance)
    if lines is not None and goods_value is not None:
        summed = sum((line.amount for line in lines), Decimal(0))
        if abs(goods_value - summed) > tolerance:
            problems.add(
                head.where("goodsValue"),
                f"does not match the lines: the sum of "
                f"OrderList[*].totalPrice is {summed}, the head says {goods_value} "
                f"(difference {goods_value - summed}, tolerance {tolerance})",
                str(goods_value),
            )
    note = head.text("note", max_len=1000)
    if not (
        application.complete()
        and order_no
        and order_type in ("E", "B")
        and platform
        and seller
        and goods_value is not None
        and currency
        and lines is not None
        and (freight is None or freight >= 0)
    ):
        return None
    return _built(
        problems,
        path,
        lambda: EcommerceOrder(
            order_no=order_no,
            guid=application.guid or "",
            application=application.application,
            app_time=application.app_time,
            declared=application.declared,
            order_type=order_type,
            platform=platform,
            seller=seller,
            goods_value=Money(amount=fen(goods_value), currency=currency),
            freight=Money(amount=fen(freight or Decimal(0)), currency=currency),
            lines=tuple(lines),
            note=note or "",
            provenance=provenance(order_no),
        ),
    )


def _order_lines(
    problems: Problems,
    order: etree._Element,
    path: str,
    order_no: str,
    currency: str | None,
    tolerance: Decimal,
) -> list[DocumentLine] | None:
    items = children(order, "OrderList")
    if not items:
        problems.add(f"{path}/OrderList", "is required: an order has at least one goods line")
        return None
    lines: list[DocumentLine] = []
    seen: dict[str, str] = {}
    complete = True
    for index, item in enumerate(items, start=1):
        line = Section(problems, item, f"{path}/OrderList[{index}]")
        number = line.ident("gnum", required=True, pattern=_GNUM, expected="a line number 1-9999")
        if number:
            if number in seen:
                problems.add(
                    line.where("gnum"), f"repeats the line number of {seen[number]}", number
                )
            seen[number] = line.path
        line_currency = line.currency("currency", required=False)
        if line_currency and currency and line_currency != currency:
            problems.add(
                line.where("currency"),
                f"is {line_currency} but the order head says {currency}",
                line_currency,
            )
        quantity = _positive(line, "qty")
        price = line.amount("price")
        if price is not None and price < 0:
            problems.add(line.where("price"), "must not be negative", str(price))
            price = None
        total = _positive(line, "totalPrice")
        name = line.text("itemName", required=True, max_len=250)
        item_no = line.ident("itemNo", max_len=64)
        if quantity is None or price is None or total is None or not number or not name:
            complete = False
            continue
        check_line_total(
            problems, line.where("totalPrice"), quantity, price, total, tolerance, _LINE_LABELS
        )
        lines.append(
            DocumentLine(
                line_no=int(number),
                item_code=item_no or "",
                description=name,
                quantity=quantity,
                unit_price=price,
                amount=fen(total),
                order_number=order_no,
            )
        )
    return lines if complete else None


def _map_403(raw: bytes, received_at: datetime) -> CollectionReceipts:
    problems = Problems()
    root, path, elements = _message(
        problems, raw, received_at, SOURCE_403, "CEB403Message", "Receipts"
    )
    provenance = _provenance_factory(raw, received_at, SOURCE_403)
    receipts = []
    for index, element in enumerate(elements, start=1):
        receipt = _receipt(
            problems, Section(problems, element, f"{path}/Receipts[{index}]"), provenance
        )
        if receipt is not None:
            receipts.append(receipt)
    problems.raise_if_any(SOURCE_403)
    message = _built(
        problems,
        path,
        lambda: CollectionReceipts(message_guid=_guid(root), receipts=tuple(receipts)),
    )
    problems.raise_if_any(SOURCE_403)
    if message is None:
        raise RuntimeError("a message with no recorded problem was not built")
    return message


def _receipt(
    problems: Problems, section: Section, provenance: Callable[[str], Provenance]
) -> CollectionReceipt | None:
    application = _Application(section)
    platform = _company(section, "ebpCode", "ebpName")
    seller = _company(section, "ebcCode", "ebcName")
    payment_company = _company(section, "payCode", "payName")
    order_no = section.ident("orderNo", required=True, max_len=64)
    pay_no = section.ident("payNo", required=True, max_len=64)
    charge = _positive(section, "charge")
    currency = section.currency("currency")
    accounting = section.date("accountingDate")
    note = section.text("note", max_len=1000)
    if not (
        application.complete()
        and platform
        and seller
        and payment_company
        and order_no
        and pay_no
        and charge is not None
        and currency
        and accounting
    ):
        return None
    return _built(
        problems,
        section.path,
        lambda: CollectionReceipt(
            pay_no=pay_no,
            order_no=order_no,
            guid=application.guid or "",
            application=application.application,
            app_time=application.app_time,
            declared=application.declared,
            platform=platform,
            seller=seller,
            payment_company=payment_company,
            charge=Money(amount=fen(charge), currency=currency),
            accounting_date=accounting,
            note=note or "",
            provenance=provenance(pay_no),
        ),
    )


def _positive(section: Section, name: str) -> Decimal | None:
    value = section.amount(name)
    if value is not None and value <= 0:
        section.problems.add(section.where(name), "must be positive", str(value))
        return None
    return value


def _guid(root: etree._Element) -> str:
    return (root.get("guid") or "").strip()[:64]


def _provenance_factory(
    raw: bytes, received_at: datetime, source: str
) -> Callable[[str], Provenance]:
    """Provenance per business element: one fingerprint of the whole message, computed once."""
    digest = fingerprint(raw)

    def make(document_id: str) -> Provenance:
        return Provenance(
            source_system=source,
            source_document_id=document_id,
            fingerprint=digest,
            received_at=received_at,
        )

    return make
