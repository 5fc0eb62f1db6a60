"""CEB303 e-commerce orders and CEB403 collection receipts -> canonical, from hand-written XML."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic_core import to_jsonable_python

from canonical import MappingError
from canonical.customs import (
    CollectionReceipts,
    CustomsApplication,
    CustomsCompany,
    EcommerceOrders,
)
from mappings.customs_ceb import (
    INBOUND,
    ceb303_to_canonical,
    ceb403_to_canonical,
    recognise_ceb303,
    recognise_ceb403,
)
from tests.mappings.conftest import CHINA, FIXTURES

CUSTOMS = FIXTURES / "customs"
ORDERS = (CUSTOMS / "ceb303_orders.xml").read_text(encoding="utf-8")
RECEIPTS = (CUSTOMS / "ceb403_receipts.xml").read_text(encoding="utf-8")
ORDER = "/CEB303Message/Order"
RECEIPT = "/CEB403Message/Receipts"
READERS: dict[str, Callable[..., Any]] = {
    "ceb303": ceb303_to_canonical,
    "ceb403": ceb403_to_canonical,
}


def _map(raw: bytes | str, received_at: datetime):
    data = raw.encode() if isinstance(raw, str) else raw
    kind = "ceb303" if b"CEB303Message" in data[:400] else "ceb403"
    return READERS[kind](data, received_at=received_at)


def _problems(raw: bytes | str, received_at: datetime, source: str):
    with pytest.raises(MappingError) as caught:
        _map(raw, received_at)
    assert caught.value.source == source
    return [(p.path, p.reason) for p in caught.value.problems]


def _edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


class TestGoldenMessages:
    @pytest.mark.parametrize(
        "name", ["ceb303_orders.xml", "ceb303_b2b_bom.xml", "ceb403_receipts.xml", "ceb403_gbk.xml"]
    )
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, received_at):
        result = _map((CUSTOMS / name).read_bytes(), received_at)
        expected = json.loads((CUSTOMS / name).with_suffix(".expected.json").read_text("utf-8"))
        assert to_jsonable_python(result) == expected

    def test_every_order_of_a_message_is_returned_in_document_order(self, received_at):
        message = _map(ORDERS, received_at)

        assert message.message_guid == "8D2F3A61-5C7B-4E0A-9B21-7F3C5D9E1A04"
        first, second = message.orders
        assert (first.order_no, second.order_no) == ("SO202509180001", "SO202509180002")
        assert (first.application, second.application) == (
            CustomsApplication.NEW,
            CustomsApplication.CHANGE,
        )
        assert first.app_time == datetime(2025, 9, 18, 9, 30, 15, tzinfo=CHINA)
        assert first.seller == CustomsCompany(code="3120940123", name="上海锦程电子科技有限公司")
        assert (first.goods_value.amount, first.goods_value.currency) == (Decimal("1596.00"), "CNY")
        assert first.freight.amount == Decimal("45.00")
        assert [line.amount for line in first.lines] == [Decimal("1398.00"), Decimal("198.00")]
        assert {line.order_number for line in first.lines} == {"SO202509180001"}
        assert first.provenance.source_document_id == "SO202509180001"
        assert first.provenance.fingerprint == second.provenance.fingerprint

    def test_a_b2b_order_reads_legacy_currency_separators_and_full_width(self, received_at):
        (order,) = _map((CUSTOMS / "ceb303_b2b_bom.xml").read_bytes(), received_at).orders

        assert (order.order_type, order.order_no, order.declared) == ("B", "HT-B2B-0920", False)
        assert order.goods_value.currency == "USD"  # 502 in the head, USD on a line
        assert order.freight.amount == Decimal("1200.00")

    def test_every_receipt_of_a_message_is_collection_evidence(self, received_at):
        first, second = _map(RECEIPTS, received_at).receipts

        assert (first.pay_no, first.order_no) == ("PAY2025092500017788", "SO202509180001")
        assert (first.charge.amount, first.charge.currency) == (Decimal("1641.00"), "CNY")
        assert first.accounting_date == date(2025, 9, 24)
        assert first.payment_company.code == "312226T001"
        assert second.accounting_date == date(2025, 9, 25)
        assert second.provenance.source_document_id == "PAY2025092500017789"

    def test_unprefixed_and_prefixed_messages_read_the_same(self, received_at):
        plain = RECEIPTS.replace("ceb:", "").replace("xmlns:ceb=", "xmlns=")
        bare = plain.replace(' xmlns="http://www.chinaport.gov.cn/ceb"', "")

        expected = _map(RECEIPTS, received_at).model_dump(
            exclude={"receipts": {"__all__": {"provenance"}}}
        )
        for variant in (plain, bare):
            assert (
                _map(variant, received_at).model_dump(
                    exclude={"receipts": {"__all__": {"provenance"}}}
                )
                == expected
            )

    def test_the_catalogue_entries_read_and_recognise_their_formats(self, received_at):
        by_name = {entry.name: entry for entry in INBOUND}
        assert set(by_name) == {"customs-ceb303", "customs-ceb403"}
        assert {entry.family for entry in INBOUND} == {"customs"}
        orders = by_name["customs-ceb303"].read(ORDERS.encode(), received_at)
        receipts = by_name["customs-ceb403"].read(RECEIPTS.encode(), received_at)
        assert isinstance(orders, EcommerceOrders)
        assert isinstance(receipts, CollectionReceipts)
        assert (len(orders.orders), len(receipts.receipts)) == (2, 2)


class TestBadMessages:
    def test_the_problems_of_every_order_are_reported_together(self, received_at):
        raw = _edit(
            ORDERS,
            ("<ceb:appType>1</ceb:appType>", "<ceb:appType>4</ceb:appType>"),
            ("<ceb:appTime>20250918093015</ceb:appTime>", "<ceb:appTime>20251318</ceb:appTime>"),
            (
                "<ceb:goodsValue>1596.00</ceb:goodsValue>",
                "<ceb:goodsValue>1600.00</ceb:goodsValue>",
            ),
            ("<ceb:currency>142</ceb:currency>", "<ceb:currency>156</ceb:currency>"),
            ("<ceb:totalPrice>198.00</ceb:totalPrice>", "<ceb:totalPrice>200.00</ceb:totalPrice>"),
            (
                "<ceb:ebcCode>3120940123</ceb:ebcCode>\n      <ceb:ebcName>上海锦程电子科技有限公司"
                "</ceb:ebcName>\n      <ceb:goodsValue>187.50",
                "<ceb:ebcCode>31209</ceb:ebcCode>\n      <ceb:ebcName>上海锦程电子科技有限公司"
                "</ceb:ebcName>\n      <ceb:goodsValue>187.50",
            ),
            (
                "<ceb:orderType>E</ceb:orderType>\n      <ceb:orderNo>SO202509180002",
                "<ceb:orderType>C</ceb:orderType>\n      <ceb:orderNo>SO202509180002",
            ),
            (
                "<ceb:currency>142</ceb:currency>\n      <ceb:qty>3</ceb:qty>",
                "<ceb:currency>502</ceb:currency>\n      <ceb:qty>3</ceb:qty>",
            ),
        )
        o1, o2 = f"{ORDER}[1]", f"{ORDER}[2]"
        assert _problems(raw, received_at, "customs-ceb303") == [
            (f"{o1}/OrderHead/appType", "must be 1 (新增), 2 (变更) or 3 (删除)"),
            (f"{o1}/OrderHead/appTime", "is not a real date (month must be in 1..12)"),
            (
                f"{o1}/OrderHead/currency",
                "unknown customs currency code: expected an ISO code "
                "such as USD or one of the legacy codes 142 (CNY), "
                "502 (USD)",
            ),
            (
                f"{o1}/OrderList[2]/totalPrice",
                "qty x price = 198.00 does not match totalPrice "
                "200.00 (difference -2.00, allowed 0.01)",
            ),
            (
                f"{o1}/OrderHead/goodsValue",
                "does not match the lines: the sum of "
                "OrderList[*].totalPrice is 1598.00, the head says "
                "1600.00 (difference 2.00, tolerance 0.01)",
            ),
            (f"{o2}/OrderHead/orderType", "must be E (export retail) or B (B2B, 9710)"),
            (f"{o2}/OrderHead/ebcCode", "must be a 10-character customs code"),
            (f"{o2}/OrderList[1]/currency", "is USD but the order head says CNY"),
        ]

    def test_an_order_without_head_or_lines_and_a_message_without_transfer(self, received_at):
        raw = b"""<CEB303Message xmlns="http://www.chinaport.gov.cn/ceb">
            <Order><OrderList><gnum>1</gnum></OrderList></Order><Order><OrderHead/></Order>
            </CEB303Message>"""
        head = f"{ORDER}[2]/OrderHead"
        assert _problems(raw, received_at, "customs-ceb303") == [
            ("/CEB303Message/BaseTransfer", "is required but missing"),
            (f"{ORDER}[1]/OrderHead", "is required but missing"),
            (f"{head}/guid", "is required but missing"),
            (f"{head}/appType", "is required but missing"),
            (f"{head}/appTime", "is required but missing"),
            (f"{head}/appStatus", "is required but missing"),
            (f"{head}/orderNo", "is required but missing"),
            (f"{head}/orderType", "is required but missing"),
            (f"{head}/ebpCode", "is required but missing"),
            (f"{head}/ebpName", "is required but missing"),
            (f"{head}/ebcCode", "is required but missing"),
            (f"{head}/ebcName", "is required but missing"),
            (f"{head}/goodsValue", "is required but missing"),
            (f"{head}/currency", "is required but missing"),
            (f"{ORDER}[2]/OrderList", "is required: an order has at least one goods line"),
        ]

    def test_the_problems_of_every_receipt_are_reported_together(self, received_at):
        raw = _edit(
            RECEIPTS,
            ("<ceb:charge>1641.00</ceb:charge>", "<ceb:charge>-1641.00</ceb:charge>"),
            (
                "<ceb:accountingDate>20250924235959</ceb:accountingDate>",
                "<ceb:accountingDate>20250924256000</ceb:accountingDate>",
            ),
            ("<ceb:payNo>PAY2025092500017789</ceb:payNo>", "<ceb:payNo> </ceb:payNo>"),
            (
                "<ceb:appStatus>2</ceb:appStatus>\n    <ceb:ebpCode>3120960A1B</ceb:ebpCode>\n"
                "    <ceb:ebpName>上海跨境优选电子商务平台有限公司</ceb:ebpName>\n"
                "    <ceb:ebcCode>3120940123</ceb:ebcCode>\n"
                "    <ceb:ebcName>上海锦程电子科技有限公司</ceb:ebcName>\n"
                "    <ceb:orderNo>SO202509180002",
                "<ceb:appStatus>9</ceb:appStatus>\n    <ceb:ebpCode>3120960A1B</ceb:ebpCode>\n"
                "    <ceb:ebpName>上海跨境优选电子商务平台有限公司</ceb:ebpName>\n"
                "    <ceb:ebcCode>3120940123</ceb:ebcCode>\n"
                "    <ceb:ebcName>上海锦程电子科技有限公司</ceb:ebcName>\n"
                "    <ceb:orderNo>SO202509180002",
            ),
            ("<ceb:currency>CNY</ceb:currency>", "<ceb:currency>RMB</ceb:currency>"),
        )
        r1, r2 = f"{RECEIPT}[1]", f"{RECEIPT}[2]"
        assert _problems(raw, received_at, "customs-ceb403") == [
            (f"{r1}/charge", "must be positive"),
            (f"{r1}/accountingDate", "is not a real date (hour must be in 0..23)"),
            (f"{r2}/appStatus", "must be 1 (暂存) or 2 (申报)"),
            (f"{r2}/payNo", "must not be empty"),
            (
                f"{r2}/currency",
                "unknown customs currency code: expected an ISO code such as "
                "USD or one of the legacy codes 142 (CNY), 502 (USD)",
            ),
        ]

    def test_a_message_without_business_elements_or_in_another_namespace(self, received_at):
        assert _problems(b"<CEB403Message/>", received_at, "customs-ceb403") == [
            ("/CEB403Message/Receipts", "is required: the message carries no business element"),
            ("/CEB403Message/BaseTransfer", "is required but missing"),
        ]
        wrong = RECEIPTS.replace("http://www.chinaport.gov.cn/ceb", "urn:ceb")
        assert _problems(wrong, received_at, "customs-ceb403") == [
            ("/CEB403Message", "namespace 'urn:ceb' is not 'http://www.chinaport.gov.cn/ceb'")
        ]

    def test_a_receipt_message_is_not_an_order_message(self, received_at):
        with pytest.raises(MappingError) as caught:
            ceb303_to_canonical(RECEIPTS.encode(), received_at=received_at)
        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("/CEB403Message", "not a CEB303 message: expected a CEB303Message root")
        ]


class TestRecognise:
    def test_each_recogniser_accepts_only_its_own_fixtures(self, fixture_bytes):
        for name in ("ceb303_orders.xml", "ceb303_b2b_bom.xml"):
            raw = (CUSTOMS / name).read_bytes()
            assert recognise_ceb303(raw)
            assert not recognise_ceb403(raw)
        for name in ("ceb403_receipts.xml", "ceb403_gbk.xml"):
            raw = (CUSTOMS / name).read_bytes()
            assert recognise_ceb403(raw)
            assert not recognise_ceb303(raw)

    @pytest.mark.parametrize(
        "name",
        [
            "kingdee_iv_salesic.json",
            "kingdee_messy.json",
            "yonyou_sale_invoice.json",
            "pain002_acsc.xml",
            "pain002_group_rjct.xml",
            "xxe.xml",
            "customs/decmessage_export.xml",
            "customs/decmessage_import_dxp.xml",
        ],
    )
    def test_other_families_are_not_recognised(self, fixture_bytes, name):
        raw = fixture_bytes(name)
        assert not recognise_ceb303(raw)
        assert not recognise_ceb403(raw)
