"""YonBIP sales-invoice pushes -> InvoicePush, checked field by field."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest

from canonical import (
    DocumentLine,
    InvoiceKind,
    InvoiceStatus,
    MappingError,
    Money,
    Party,
    PartyRole,
)
from mappings import yonyou_invoice_to_canonical

INVOICE = "yonyou_sale_invoice.json"
FLOAT_REFUSED = "must be a decimal string: a JSON float may have lost precision"
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER,
               erp_code="SZ01")
BUYER = Party(name="上海示例汽车零部件有限公司", uscc="91310118134829068J",
              role=PartyRole.BUYER, erp_code="1234567890123")


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        yonyou_invoice_to_canonical(raw, received_at=received_at)
    assert caught.value.source == "yonyou"
    return [(p.path, p.reason) for p in caught.value.problems]


class TestSaveBody:
    def test_sales_invoice_maps_header_parties_and_amounts(self, fixture_bytes, received_at):
        raw = fixture_bytes(INVOICE)
        invoice = yonyou_invoice_to_canonical(raw, received_at=received_at).invoice

        assert invoice.number == "26322000000987654321"
        assert invoice.code == ""
        assert invoice.kind is InvoiceKind.SPECIAL
        assert invoice.status is InvoiceStatus.NORMAL
        assert invoice.issue_date == date(2026, 11, 20)
        assert invoice.due_date == date(2027, 2, 18)
        assert invoice.seller == SELLER
        assert invoice.buyer == BUYER
        assert invoice.amount == Money(amount=Decimal("105000.00"), currency="CNY")
        assert invoice.tax == Money(amount=Decimal("13650.00"), currency="CNY")
        assert invoice.total == Money(amount=Decimal("118650.00"), currency="CNY")
        assert invoice.order_numbers == ("SO2611000001",)
        assert invoice.provenance.source_system == "yonyou"
        assert invoice.provenance.source_document_id == "TI4816211120000003"
        assert invoice.provenance.fingerprint == hashlib.new("sm3", raw).hexdigest()
        assert invoice.provenance.received_at == received_at

    def test_sales_invoice_maps_every_line(self, fixture_bytes, received_at):
        invoice = yonyou_invoice_to_canonical(
            fixture_bytes(INVOICE), received_at=received_at).invoice

        assert invoice.lines == (
            DocumentLine(line_no=10, item_code="M0001", description="改性聚丙烯颗粒 PP-T20",
                         quantity=Decimal(100), unit_price=Decimal("1000.00"),
                         tax_rate=Decimal("0.13"), amount=Decimal("100000.00"),
                         tax=Decimal("13000.00"), order_number="SO2611000001"),
            DocumentLine(line_no=20, item_code="M0007", description="色母粒 黑色",
                         quantity=Decimal(2), unit_price=Decimal("2500.00"),
                         tax_rate=Decimal("0.13"), amount=Decimal("5000.00"),
                         tax=Decimal("650.00"), order_number="SO2611000001"),
        )

    def test_related_sale_order_becomes_a_purchase_order(self, fixture_bytes, received_at):
        (order,) = yonyou_invoice_to_canonical(
            fixture_bytes(INVOICE), received_at=received_at).orders

        assert order.number == "SO2611000001"
        assert order.order_date == date(2026, 11, 1)
        assert order.buyer == BUYER
        assert order.buyer_code == "1234567890123"
        assert order.total == Money(amount=Decimal("118650.00"), currency="CNY")
        assert [(line.line_no, line.amount, line.tax) for line in order.lines] == [
            (10, Decimal("100000.00"), Decimal("13000.00")),
            (20, Decimal("5000.00"), Decimal("650.00")),
        ]
        assert order.provenance.source_document_id == "SO2611000001"

    def test_lines_may_come_as_voucher_saleinvoicedetails(self, fixture_json, encode,
                                                          received_at):
        document = fixture_json(INVOICE)
        document["data"]["voucher_saleinvoicedetails"] = document["data"].pop(
            "saleInvoiceDetails")
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert [line.line_no for line in invoice.lines] == [10, 20]

    def test_a_bare_data_object_with_its_org_block_is_accepted(self, fixture_json, encode,
                                                               received_at):
        document = fixture_json(INVOICE)
        bare = {**document["data"], "org": document["org"]}
        push = yonyou_invoice_to_canonical(encode(bare), received_at=received_at)

        assert push.invoice.seller == SELLER
        assert push.invoice.total.amount == Decimal("118650.00")
        assert push.orders == ()

    def test_a_bare_data_object_without_the_seller_tax_number_is_refused(
        self, fixture_json, encode, received_at
    ):
        bare = fixture_json(INVOICE)["data"]

        assert [path for path, _ in _problems(encode(bare), received_at)] == ["/org"]

    def test_money_as_json_integers_is_fine(self, fixture_json, encode, received_at):
        document = fixture_json(INVOICE)
        data = document["data"]
        data.update(oriMoney=105000, oriTax=13650, oriSum=118650)
        data["saleInvoiceDetails"][0].update(oriMoney=100000, oriTax=13000, oriSum=113000)
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.total.amount == Decimal("118650.00")

    def test_a_legacy_invoice_keeps_its_code(self, fixture_json, encode, received_at):
        document = fixture_json(INVOICE)
        document["data"].update(einvoiceNo="3200261130", einvoiceHm="01234567", invoiceType="1")
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert (invoice.code, invoice.number, invoice.key) == (
            "3200261130", "01234567", "320026113001234567")


class TestFloatMoney:
    def test_a_json_float_for_money_is_refused_where_it_stands(self, fixture_json, encode,
                                                               received_at):
        document = fixture_json(INVOICE)
        document["data"]["oriSum"] = Decimal("118650.5")
        document["data"]["saleInvoiceDetails"][1]["oriUnitPrice"] = Decimal("2500.25")

        assert _problems(encode(document), received_at) == [
            ("/data/oriSum", FLOAT_REFUSED),
            ("/data/saleInvoiceDetails/1/oriUnitPrice", FLOAT_REFUSED),
        ]

    def test_a_json_float_in_a_related_order_is_refused_too(self, fixture_json, encode,
                                                            received_at):
        document = fixture_json(INVOICE)
        document["related"]["saleOrders"][0]["orderDetails"][0]["oriTax"] = Decimal("13000.1")

        assert _problems(encode(document), received_at) == [
            ("/related/saleOrders/0/orderDetails/0/oriTax", FLOAT_REFUSED)]

    def test_a_whole_number_written_as_a_float_loses_nothing_and_is_accepted(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(INVOICE)
        document["data"]["oriSum"] = Decimal("118650.0")
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.total.amount == Decimal("118650.00")


class TestKindAndStatus:
    @pytest.mark.parametrize(("code", "kind"), [
        ("1", InvoiceKind.SPECIAL), ("9", InvoiceKind.SPECIAL), (10, InvoiceKind.SPECIAL),
        ("12", InvoiceKind.SPECIAL), ("2", InvoiceKind.ORDINARY), ("3", InvoiceKind.ORDINARY),
        ("11", InvoiceKind.ORDINARY), (13, InvoiceKind.ORDINARY),
    ])
    def test_invoice_types_map_to_special_or_ordinary(self, fixture_json, encode, received_at,
                                                      code, kind):
        document = fixture_json(INVOICE)
        document["data"]["invoiceType"] = code
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.kind is kind

    @pytest.mark.parametrize("code", ["0", "4", "8", "99"])
    def test_other_invoice_types_are_problems(self, fixture_json, encode, received_at, code):
        document = fixture_json(INVOICE)
        document["data"]["invoiceType"] = code

        assert [p for p, _ in _problems(encode(document), received_at)] == ["/data/invoiceType"]

    @pytest.mark.parametrize(("state", "status"), [
        (2, InvoiceStatus.NORMAL), (3, InvoiceStatus.VOID), ("4", InvoiceStatus.RED_FLUSHED),
    ])
    def test_business_state_gives_the_status(self, fixture_json, encode, received_at, state,
                                             status):
        document = fixture_json(INVOICE)
        document["data"]["businessState"] = state
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.status is status

    @pytest.mark.parametrize("state", [0, 1, 5, 6, 7])
    def test_an_invoice_not_issued_by_the_tax_system_is_refused(self, fixture_json, encode,
                                                                received_at, state):
        document = fixture_json(INVOICE)
        document["data"]["businessState"] = state

        ((path, reason),) = _problems(encode(document), received_at)
        assert path == "/data/businessState"
        assert reason.startswith(f"not an issued tax invoice: businessState {state} (")

    def test_a_red_direction_invoice_is_red_flushed(self, fixture_json, encode, received_at):
        document = fixture_json(INVOICE)
        data = document["data"]
        data["invDirection"] = "1"
        for holder in (data, *data["saleInvoiceDetails"]):
            for key in ("oriMoney", "oriTax", "oriSum"):
                holder[key] = "-" + holder[key]
        invoice = yonyou_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.status is InvoiceStatus.RED_FLUSHED
        assert invoice.total.amount == Decimal("-118650.00")


class TestReconciliation:
    def test_totals_that_do_not_add_up_are_refused(self, fixture_json, encode, received_at):
        document = fixture_json(INVOICE)
        document["data"]["oriTax"] = "13650.50"

        assert _problems(encode(document), received_at) == [
            ("/data/oriSum", "amount + tax = 118650.50 does not equal the total 118650.00 "
                             "(difference 0.50, tolerance 0.01)"),
            ("/data/oriTax", "does not match the lines: the sum of saleInvoiceDetails[*].oriTax "
                             "is 13650.00, the header says 13650.50 (difference 0.50, tolerance "
                             "0.01)"),
        ]

    def test_an_order_whose_lines_disagree_with_its_header_is_refused(self, fixture_json,
                                                                      encode, received_at):
        document = fixture_json(INVOICE)
        document["related"]["saleOrders"][0]["oriMoney"] = "105100.00"
        document["related"]["saleOrders"][0]["oriSum"] = "118750.00"

        assert [p for p, _ in _problems(encode(document), received_at)] == [
            "/related/saleOrders/0/oriMoney", "/related/saleOrders/0/oriSum"]

    def test_bad_buyer_tax_number_and_missing_fields_are_listed_together(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(INVOICE)
        data = document["data"]
        data["invAgentTaxNo"] = "91310118134829068"
        del data["vouchdate"]
        data["saleInvoiceDetails"][0]["taxRate"] = "thirteen"
        document["org"]["taxNo"] = "91320594794160355G"

        assert _problems(encode(document), received_at) == [
            ("/data/invAgentTaxNo", "invalid 统一社会信用代码: must be 18 characters, got 17"),
            ("/data/vouchdate", "is required but missing"),
            ("/data/saleInvoiceDetails/0/taxRate", "is not a decimal number"),
        ]

    def test_a_field_read_for_two_purposes_is_reported_once(self, fixture_json, encode,
                                                            received_at):
        document = fixture_json(INVOICE)
        document["data"]["invAgentId"] = {"id": 1}

        assert _problems(encode(document), received_at) == [
            ("/data/invAgentId", "must be a string, got an object")]
