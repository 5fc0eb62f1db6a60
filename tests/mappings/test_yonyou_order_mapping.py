"""YonBIP sales orders -> PurchaseOrder: nested prices, reconciliation, listed problems."""

from __future__ import annotations

from decimal import Decimal

import pytest

from canonical import MappingError
from mappings.yonyou_order import yonbip_order_to_canonical

ORDER = "yonyou/yonbip_sale_order.json"


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        yonbip_order_to_canonical(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


def test_figures_in_nested_price_objects_are_read_at_their_own_paths(
    fixture_json, encode, received_at
):
    document = fixture_json(ORDER)
    document["data"]["orderDetails"][0]["orderDetailPrices"]["oriTax"] = "1.00"

    assert _problems(encode(document), received_at) == [
        (
            "/data/orderDetails/0/orderDetailPrices/oriTax",
            "tax 1.00 is not amount 13200.00 x rate 0.13 = 1716.00 (tolerance 0.01)",
        )
    ]


def test_a_header_total_that_disagrees_with_the_lines_is_refused(fixture_json, encode, received_at):
    document = fixture_json(ORDER)
    document["data"]["orderPrices"].update(oriSum="20666", oriMoney="18300")

    assert [path for path, _ in _problems(encode(document), received_at)] == [
        "/data/orderPrices/oriMoney",
        "/data/orderPrices/oriSum",
    ]


def test_missing_number_and_quantity_are_listed_together(fixture_json, encode, received_at):
    document = fixture_json(ORDER)
    del document["data"]["code"]
    document["data"]["orderDetails"][1]["qty"] = None

    assert _problems(encode(document), received_at) == [
        ("/data/code", "is required but missing"),
        ("/data/orderDetails/1/qty", "is required but missing"),
    ]


def test_without_a_header_total_the_lines_give_it(fixture_json, encode, received_at):
    document = fixture_json(ORDER)
    del document["data"]["orderPrices"]
    del document["data"]["payMoney"]
    order = yonbip_order_to_canonical(encode(document), received_at=received_at)

    assert order.total.amount == Decimal("20566.00")
    assert order.total.currency == "CNY"
