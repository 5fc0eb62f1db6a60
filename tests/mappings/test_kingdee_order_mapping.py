"""Kingdee K/3 Cloud SAL_SaleOrder (销售订单) Save bodies -> PurchaseOrder."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic_core import to_jsonable_python

from canonical import MappingError
from mappings.kingdee_order import INBOUND, kingdee_order_to_canonical

KINGDEE = Path(__file__).parent / "fixtures" / "kingdee"
FIXTURES = ["sale_order.json", "sale_order_native_bom.json"]
OTHER_FORMATS = [
    "../kingdee_iv_salesic.json",
    "../yonyou_sale_invoice.json",
    "../pain002_acsc.xml",
    "ar_receivable.json",
    "ar_receivable_red_native.json",
    "view_sale_order.json",
    "query_sale_order.json",
]


def _raw(name: str) -> bytes:
    return (KINGDEE / name).read_bytes()


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        kingdee_order_to_canonical(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


class TestGoldenFixtures:
    @pytest.mark.parametrize("name", FIXTURES)
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        order = kingdee_order_to_canonical(_raw(name), received_at=received_at)
        expected = json.loads((KINGDEE / name.replace(".json", ".expected.json")).read_text())

        assert to_jsonable_python(order) == expected

    def test_without_finance_totals_the_total_is_the_sum_of_the_lines(self, received_at):
        order = kingdee_order_to_canonical(
            _raw("sale_order_native_bom.json"), received_at=received_at
        )

        assert order.total.amount == Decimal("6608.63")  # 5,300.00 + 1,308.63
        assert order.total.currency == "USD"  # FSettleCurrId PRE002
        assert order.buyer is None
        assert order.buyer_code == "CUST-0102"
        assert {line.order_number for line in order.lines} == {"XSDD2611000009"}

    def test_without_a_settlement_currency_the_headers_local_currency_is_taken(
        self, encode, received_at
    ):
        document = json.loads(_raw("sale_order.json"), parse_float=Decimal)
        model = document["data"]["Model"]
        del model["FSaleOrderFinance"]
        model["FLocalCurrId"] = {"FNumber": "PRE002"}  # §2.8 names FLocalCurrId on the header

        order = kingdee_order_to_canonical(encode(document), received_at=received_at)
        assert order.total.currency == "USD"

    def test_the_customer_object_becomes_the_buyer_party(self, received_at):
        order = kingdee_order_to_canonical(_raw("sale_order.json"), received_at=received_at)

        assert order.buyer is not None
        assert (order.buyer.uscc, order.buyer.erp_code) == ("913101156607431925", "CUST-0086")


class TestProblems:
    def test_every_problem_is_reported_at_once_with_its_path_and_reason(self, encode, received_at):
        document = json.loads(_raw("sale_order.json"), parse_float=Decimal)
        model = document["data"]["Model"]
        del model["FCustId"]
        model["FSaleOrderEntry"][1]["FTaxAmount"] = Decimal("348.00")
        model["FSaleOrderEntry"][1]["FAllAmount"] = Decimal("2948.00")
        model["FSaleOrderEntry"][0]["FQty"] = "一百"

        assert _problems(encode(document), received_at) == [
            ("/data/Model/FCustId", "is required but missing"),
            ("/data/Model/FSaleOrderEntry/0/FQty", "is not a decimal number"),
            (
                "/data/Model/FSaleOrderEntry/1/FTaxAmount",
                "tax 348.00 is not amount 2600.00 x rate 0.13 = 338.00 (tolerance 0.01)",
            ),
            (
                "/data/Model/FSaleOrderFinance/FBillAllAmount",
                "does not match the lines: the "
                "sum of FSaleOrderEntry[*].FAllAmount is 115948.00, the header says 115938.00 "
                "(difference -10.00, tolerance 0.01)",
            ),
        ]

    def test_unaudited_orders_and_unknown_currencies_are_refused(self, encode, received_at):
        document = json.loads(_raw("sale_order.json"), parse_float=Decimal)
        document["data"]["Model"]["FDocumentStatus"] = "A"
        document["data"]["Model"]["FSaleOrderFinance"]["FSettleCurrId"] = {"FNumber": "PRE999"}

        assert _problems(encode(document), received_at) == [
            (
                "/data/Model/FDocumentStatus",
                "document status 'A' is not C (已审核): only audited sales orders are accepted",
            ),
            (
                "/data/Model/FSaleOrderFinance/FSettleCurrId",
                "unknown currency: expected PRE001..PRE005 or an ISO code",
            ),
        ]


class TestRecognise:
    @pytest.mark.parametrize("name", FIXTURES)
    def test_recognises_its_own_fixtures(self, name):
        assert INBOUND[0].recognise(_raw(name))
        assert INBOUND[0].name == "kingdee-sale-order"

    @pytest.mark.parametrize("name", OTHER_FORMATS)
    def test_rejects_other_formats(self, name):
        assert not INBOUND[0].recognise(_raw(name))


class TestFuzzing:
    def _outcome(self, raw, received_at) -> str:
        try:
            kingdee_order_to_canonical(raw, received_at=received_at)
        except MappingError as exc:
            crashed = any(p.reason.startswith("unexpected ") for p in exc.problems)
            return f"crashed: {exc}" if crashed else "refused"
        return "mapped"

    def test_truncations_and_byte_flips_only_raise_mapping_error(self, received_at):
        raw = _raw("sale_order_native_bom.json")
        for end in range(0, len(raw) - 2, 3):
            assert self._outcome(raw[:end], received_at) == "refused"
        rng = random.Random(11)
        for _ in range(400):
            corrupted = bytearray(_raw("sale_order.json"))
            for _ in range(rng.randint(1, 4)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            assert self._outcome(bytes(corrupted), received_at) in ("mapped", "refused")

    @pytest.mark.parametrize("value", [None, True, [], {}, "", -1, Decimal("1e400"), 10**30])
    def test_every_line_field_swapped_for_a_wrong_type_only_raises_mapping_error(
        self, encode, received_at, value
    ):
        original = json.loads(_raw("sale_order.json"), parse_float=Decimal)
        for key in original["data"]["Model"]["FSaleOrderEntry"][0]:
            document = json.loads(_raw("sale_order.json"), parse_float=Decimal)
            document["data"]["Model"]["FSaleOrderEntry"][0][key] = value
            assert self._outcome(encode(document), received_at) in ("mapped", "refused"), key
