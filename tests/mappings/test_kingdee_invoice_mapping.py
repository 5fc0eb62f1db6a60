"""Kingdee K/3 Cloud IV_SALESIC / IV_SALESOC pushes -> InvoicePush, checked field by field."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

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
from mappings import kingdee_invoice_to_canonical

SALESIC = "kingdee_iv_salesic.json"
SELLER = Party(
    name="浙江示例供应链科技有限公司",
    uscc="91330106569821743D",
    role=PartyRole.SELLER,
    erp_code="100",
)
BUYER = Party(
    name="上海示例制造股份有限公司（集团）",
    uscc="913101156607431925",
    role=PartyRole.BUYER,
    erp_code="CUST-0086",
)


def _problems(raw: bytes, received_at, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        kingdee_invoice_to_canonical(raw, received_at=received_at, **kwargs)
    return [(p.path, p.reason) for p in caught.value.problems]


def _model(document: dict[str, Any]) -> dict[str, Any]:
    return document["data"]["Model"]


class TestObjectForm:
    def test_special_invoice_maps_header_parties_and_amounts(self, fixture_bytes, received_at):
        raw = fixture_bytes(SALESIC)
        invoice = kingdee_invoice_to_canonical(raw, received_at=received_at).invoice

        assert invoice.number == "26332000000123456789"
        assert invoice.code == ""
        assert invoice.kind is InvoiceKind.SPECIAL
        assert invoice.status is InvoiceStatus.NORMAL
        assert invoice.issue_date == date(2026, 11, 20)
        assert invoice.due_date == date(2027, 2, 18)
        assert invoice.seller == SELLER
        assert invoice.buyer == BUYER
        assert invoice.amount == Money(amount=Decimal("101293.10"), currency="CNY")
        assert invoice.tax == Money(amount=Decimal("13168.10"), currency="CNY")
        assert invoice.total == Money(amount=Decimal("114461.20"), currency="CNY")
        assert str(invoice.total.amount) == "114461.20"
        assert invoice.order_numbers == ("XSDD2611000001", "XSDD2611000002")

    def test_special_invoice_maps_every_line(self, fixture_bytes, received_at):
        invoice = kingdee_invoice_to_canonical(
            fixture_bytes(SALESIC), received_at=received_at
        ).invoice

        assert invoice.lines == (
            DocumentLine(
                line_no=1,
                item_code="M0001",
                description="冷轧钢板 DC01 1.0mm",
                quantity=Decimal(100),
                unit_price=Decimal("1000.0"),
                tax_rate=Decimal("0.13"),
                amount=Decimal("100000.00"),
                tax=Decimal("13000.00"),
                order_number="XSDD2611000001",
            ),
            DocumentLine(
                line_no=2,
                item_code="M0002",
                description="镀锌卷 DX51D",
                quantity=Decimal(3),
                unit_price=Decimal("431.034483"),
                tax_rate=Decimal("0.13"),
                amount=Decimal("1293.10"),
                tax=Decimal("168.10"),
                order_number="XSDD2611000002",
            ),
        )
        assert str(invoice.lines[1].unit_price) == "431.034483"  # prices keep their digits
        assert str(invoice.lines[0].amount) == "100000.00"  # money is at the fen

    def test_related_sales_order_becomes_a_purchase_order(self, fixture_bytes, received_at):
        push = kingdee_invoice_to_canonical(fixture_bytes(SALESIC), received_at=received_at)

        (order,) = push.orders
        assert order.number == "XSDD2611000001"
        assert order.order_date == date(2026, 11, 1)
        assert order.buyer == BUYER
        assert order.buyer_code == "CUST-0086"
        assert order.total == Money(amount=Decimal("113000.00"), currency="CNY")
        assert order.lines == (
            DocumentLine(
                line_no=1,
                item_code="M0001",
                quantity=Decimal(100),
                unit_price=Decimal("1000.0"),
                tax_rate=Decimal("0.13"),
                amount=Decimal("100000.00"),
                tax=Decimal("13000.00"),
                order_number="XSDD2611000001",
            ),
        )
        assert order.provenance.source_document_id == "XSDD2611000001"

    def test_provenance_carries_bill_number_sm3_fingerprint_and_receipt_time(
        self, fixture_bytes, received_at
    ):
        raw = fixture_bytes(SALESIC)
        provenance = kingdee_invoice_to_canonical(raw, received_at=received_at).invoice.provenance

        assert provenance.source_system == "kingdee"
        assert provenance.source_document_id == "XSZP2611000123"
        assert provenance.fingerprint == hashlib.new("sm3", raw).hexdigest()
        assert len(provenance.fingerprint) == 64
        assert provenance.received_at == received_at


class TestEnvelopeShapes:
    def test_double_encoded_data_string_maps_to_the_same_invoice(
        self, fixture_json, encode, fixture_bytes, received_at
    ):
        document = fixture_json(SALESIC)
        document["data"] = encode(document["data"]).decode()
        nested = kingdee_invoice_to_canonical(encode(document), received_at=received_at)
        plain = kingdee_invoice_to_canonical(fixture_bytes(SALESIC), received_at=received_at)

        assert nested.invoice.model_dump(exclude={"provenance"}) == plain.invoice.model_dump(
            exclude={"provenance"}
        )
        assert nested.orders[0].lines == plain.orders[0].lines

    def test_problems_inside_a_double_encoded_string_point_into_it(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(SALESIC)
        _model(document)["FDOCUMENTSTATUS"] = "A"
        document["data"] = encode(document["data"]).decode()

        assert [path for path, _ in _problems(encode(document), received_at)] == [
            "/data/Model/FDOCUMENTSTATUS"
        ]

    def test_native_parameters_form_maps_an_ordinary_invoice(self, fixture_bytes, received_at):
        push = kingdee_invoice_to_canonical(
            fixture_bytes("kingdee_native_salesoc.json"), received_at=received_at
        )
        invoice = push.invoice

        assert invoice.kind is InvoiceKind.ORDINARY
        assert invoice.number == "26312000000000000042"
        assert invoice.issue_date == date(2026, 11, 21)
        assert invoice.due_date is None
        assert invoice.seller == Party(
            name="江苏示例物流有限公司",
            uscc="9132050571358240X0",
            role=PartyRole.SELLER,
            erp_code="200",
        )
        assert invoice.buyer == Party(
            name="苏州示例新材料有限公司",
            uscc="91320594794160355G",
            role=PartyRole.BUYER,
            erp_code="CUST-0102",
        )
        assert (invoice.amount.amount, invoice.tax.amount, invoice.total.amount) == (
            Decimal("5000.00"),
            Decimal("300.00"),
            Decimal("5300.00"),
        )
        (line,) = invoice.lines
        assert (line.item_code, line.description, line.quantity, line.tax_rate) == (
            "S0009",
            "仓储服务费",
            Decimal(10),
            Decimal("0.06"),
        )
        assert invoice.order_numbers == ()
        assert push.orders == ()
        assert invoice.provenance.source_document_id == "XSPP2611000007"

    def test_native_form_problem_paths_start_at_the_payload_parameter(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json("kingdee_native_salesoc.json")
        payload = json.loads(document["parameters"][1], parse_float=Decimal)
        payload["Model"]["FTAXREGISTERCODE"] = "91320594794160355A"
        document["parameters"][1] = encode(payload).decode()

        assert _problems(encode(document), received_at) == [
            (
                "/parameters/1/Model/FTAXREGISTERCODE",
                "invalid 统一社会信用代码: check digit is 'A', expected 'G'",
            )
        ]

    def test_an_unknown_form_id_is_a_problem(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        document["formid"] = "AR_receivable"

        assert _problems(encode(document), received_at) == [
            ("/formid", "must be IV_SALESIC or IV_SALESOC")
        ]


class TestMessyValues:
    def test_separators_currency_signs_full_width_digits_and_case_are_normalised(
        self, fixture_bytes, received_at
    ):
        invoice = kingdee_invoice_to_canonical(
            fixture_bytes("kingdee_messy.json"), received_at=received_at
        ).invoice

        assert invoice.amount.amount == Decimal("100000.00")
        assert invoice.tax.amount == Decimal("13000.00")
        assert invoice.total.amount == Decimal("113000.00")
        assert invoice.number == "26332000000012345678"  # full-width digits folded
        assert invoice.buyer.uscc == "913101156607431925"  # spaces and full width removed
        assert invoice.buyer.name == "上海示例制造股份有限公司（集团）"
        assert invoice.seller.uscc == "91330106569821743D"  # upper-cased
        assert invoice.issue_date == date(2026, 11, 20)
        assert invoice.due_date == date(2027, 2, 18)  # FENDDATE_H, no plan
        assert invoice.lines[0].unit_price == Decimal("1000.000000")
        assert invoice.lines[0].tax_rate == Decimal("0.13")
        assert invoice.provenance.source_document_id == "XSZP2611000456"

    @pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "utf-16"])
    def test_bom_and_gb18030_bytes_decode_to_the_same_invoice(
        self, fixture_bytes, received_at, encoding
    ):
        text = fixture_bytes("kingdee_messy.json").decode()
        reference = kingdee_invoice_to_canonical(text.encode(), received_at=received_at)
        pushed = kingdee_invoice_to_canonical(text.encode(encoding), received_at=received_at)

        assert pushed.invoice.model_dump(exclude={"provenance"}) == (
            reference.invoice.model_dump(exclude={"provenance"})
        )
        assert pushed.invoice.buyer.name == "上海示例制造股份有限公司（集团）"

    @pytest.mark.parametrize(
        "written",
        [
            "2026-11-20",
            "2026-11-20 00:00:00",
            "2026-11-20T00:00:00",
            "2026-11-20T00:00:00.000",
            "2026/11/20",
            "20261120",
            "2026年11月20日",
            "２０２６-１１-２０",
        ],
    )
    def test_date_variants_are_accepted(self, fixture_json, encode, received_at, written):
        document = fixture_json(SALESIC)
        _model(document)["FINVOICEDATE"] = written
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.issue_date == date(2026, 11, 20)

    @pytest.mark.parametrize(
        ("written", "expected"),
        [
            (113000, "113000"),
            ("113000.00", "113000.00"),
            ("113,000.00", "113000.00"),
            ("￥113,000.00", "113000.00"),
            ("¥113000", "113000"),
            ("113000.00元", "113000.00"),
            ("１１３，０００．００", "113000.00"),
            (" 113000.00 ", "113000.00"),
        ],
    )
    def test_amount_variants_are_read_exactly(
        self, fixture_json, encode, received_at, written, expected
    ):
        document = fixture_json("kingdee_native_salesoc.json")
        payload = json.loads(document["parameters"][1], parse_float=Decimal)
        payload["Model"]["FAFTERTOTALTAXFOR"] = written
        payload["Model"]["FHEADAUXPRICEFOR"] = "100000"
        payload["Model"]["FTAXAMOUNTFOR"] = "13000"
        line = payload["Model"]["FSALESICENTRY"][0]
        line.update(
            FAMOUNTFOR=100000, FTAXRATE=13, FDETAILTAXAMOUNTFOR=13000, FALLAMOUNTFOR=113000
        )
        document["parameters"][1] = encode(payload).decode()
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.total.amount == Decimal(expected)

    @pytest.mark.parametrize("written", ["1,13,000.00", "113 000,00", "1.2.3", "12e3", "NaN", ""])
    def test_malformed_amounts_are_problems(self, fixture_json, encode, received_at, written):
        document = fixture_json(SALESIC)
        _model(document)["FAFTERTOTALTAXFOR"] = written

        assert [p for p, _ in _problems(encode(document), received_at)] == [
            "/data/Model/FAFTERTOTALTAXFOR"
        ]


class TestStatusKindAndCurrency:
    def test_an_unaudited_document_is_refused(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        _model(document)["FDOCUMENTSTATUS"] = "B"

        assert _problems(encode(document), received_at) == [
            (
                "/data/Model/FDOCUMENTSTATUS",
                "document status 'B' is not C (已审核): only audited invoices are accepted",
            )
        ]

    def test_a_red_letter_invoice_is_red_flushed(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        model = _model(document)
        model["FRedBlue"] = "1"
        for key in ("FHEADAUXPRICEFOR", "FTAXAMOUNTFOR", "FAFTERTOTALTAXFOR"):
            model[key] = -model[key]
        for line in model["FSALESICENTRY"]:
            for key in ("FPRICEQTY", "FAMOUNTFOR", "FDETAILTAXAMOUNTFOR", "FALLAMOUNTFOR"):
                line[key] = -line[key]
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.status is InvoiceStatus.RED_FLUSHED
        assert invoice.total.amount == Decimal("-114461.20")

    def test_a_cancelled_invoice_is_void(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        _model(document)["FCancelStatus"] = "B"
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.status is InvoiceStatus.VOID

    @pytest.mark.parametrize(
        ("number", "iso"),
        [
            ("PRE001", "CNY"),
            ("PRE002", "USD"),
            ("PRE003", "EUR"),
            ("PRE004", "JPY"),
            ("PRE005", "HKD"),
            ("usd", "USD"),
        ],
    )
    def test_kingdee_currency_numbers_become_iso_codes(
        self, fixture_json, encode, received_at, number, iso
    ):
        document = fixture_json(SALESIC)
        _model(document)["FCURRENCYID"] = {"FNUMBER": number}
        push = kingdee_invoice_to_canonical(encode(document), received_at=received_at)

        assert push.invoice.total.currency == iso
        assert push.orders[0].total.currency == iso

    def test_an_unknown_currency_is_a_problem(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        _model(document)["FCURRENCYID"] = {"FNumber": "PRE999"}

        assert [p for p, _ in _problems(encode(document), received_at)] == [
            "/data/Model/FCURRENCYID"
        ]


class TestDueDateAndOrders:
    def test_due_date_is_the_latest_plan_date_over_the_header_date(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(SALESIC)
        document["data"]["Related"]["AR_receivable"][0]["FENDDATE_H"] = "2027-01-01"
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.due_date == date(2027, 2, 18)

    def test_due_date_falls_back_to_the_receivable_header(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        receivable = document["data"]["Related"]["AR_receivable"][0]
        del receivable["FEntityPlan"]
        receivable["FENDDATE_H"] = "2027-03-01 00:00:00"
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.due_date == date(2027, 3, 1)

    def test_without_related_documents_there_are_no_orders_and_no_due_date(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(SALESIC)
        del document["data"]["Related"]
        push = kingdee_invoice_to_canonical(encode(document), received_at=received_at)

        assert push.orders == ()
        assert push.invoice.due_date is None
        assert push.invoice.order_numbers == ("XSDD2611000001", "XSDD2611000002")

    def test_an_order_of_another_customer_has_no_buyer_party(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(SALESIC)
        document["data"]["Related"]["SAL_SaleOrder"][0]["FCustId"] = {"FNumber": "CUST-0999"}
        (order,) = kingdee_invoice_to_canonical(encode(document), received_at=received_at).orders

        assert order.buyer is None
        assert order.buyer_code == "CUST-0999"


class TestReconciliation:
    def test_every_problem_is_reported_at_once_with_json_pointers(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(SALESIC)
        model = _model(document)
        model["FTAXREGISTERCODE"] = "913101156607431926"  # check digit should be 5
        model["FHEADAUXPRICEFOR"] = "-101293.10"  # negative on a blue invoice
        line = model["FSALESICENTRY"][1]  # the line's tax is no longer amount x rate
        line.update(FAMOUNTFOR=Decimal("1303.10"), FDETAILTAXAMOUNTFOR=Decimal("158.10"))

        with pytest.raises(MappingError) as caught:
            kingdee_invoice_to_canonical(encode(document), received_at=received_at)

        problems = caught.value.problems
        assert [(p.path, p.value) for p in problems] == [
            ("/data/Model/FTAXREGISTERCODE", "913101156607431926"),
            ("/data/Model/FHEADAUXPRICEFOR", "-101293.10"),
            ("/data/Model/FSALESICENTRY/1/FDETAILTAXAMOUNTFOR", "158.10"),
        ]
        assert problems[0].reason == "invalid 统一社会信用代码: check digit is '6', expected '5'"
        assert problems[1].reason == "amount must not be negative on a blue invoice"
        # one root cause, one problem: the header is not compared with a sum of bad taxes
        assert problems[2].reason == (
            "tax 158.10 is not amount 1303.10 x rate 0.13 = 169.40 (tolerance 0.01)"
        )
        assert caught.value.source == "kingdee"

    def test_a_header_that_does_not_add_up_is_refused(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        _model(document)["FAFTERTOTALTAXFOR"] = Decimal("114461.50")

        # one bad field, one problem: the lines are not compared with a total already refused
        assert _problems(encode(document), received_at) == [
            (
                "/data/Model/FAFTERTOTALTAXFOR",
                "amount + tax = 114461.20 does not equal the total 114461.50 (difference -0.30, "
                "tolerance 0.01)",
            ),
        ]

    def test_a_line_that_does_not_add_up_is_refused(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        _model(document)["FSALESICENTRY"][0]["FALLAMOUNTFOR"] = Decimal("113100.00")

        paths = [p for p, _ in _problems(encode(document), received_at)]
        assert "/data/Model/FSALESICENTRY/0/FALLAMOUNTFOR" in paths

    def test_a_line_sum_gap_within_a_configured_tolerance_is_accepted(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json(SALESIC)
        line = _model(document)["FSALESICENTRY"][1]
        # the lines now sum 0.05 short of the header's amount and total
        line.update(FAMOUNTFOR=Decimal("1293.05"), FALLAMOUNTFOR=Decimal("1461.15"))

        assert len(_problems(encode(document), received_at)) == 2
        invoice = kingdee_invoice_to_canonical(
            encode(document), received_at=received_at, tolerance=Decimal("0.05")
        ).invoice
        assert invoice.amount.amount == Decimal("101293.10")  # the header, never "fixed"
        assert invoice.lines[1].amount == Decimal("1293.05")

    def test_sub_fen_figures_are_rounded_half_up_only_at_the_model(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json("kingdee_native_salesoc.json")
        payload = json.loads(document["parameters"][1], parse_float=Decimal)
        model = payload["Model"]
        model.update(
            FHEADAUXPRICEFOR="5000.005", FTAXAMOUNTFOR="300.00", FAFTERTOTALTAXFOR="5300.005"
        )
        model["FSALESICENTRY"][0].update(FAMOUNTFOR="5000.005", FALLAMOUNTFOR="5300.005")
        document["parameters"][1] = encode(payload).decode()
        invoice = kingdee_invoice_to_canonical(encode(document), received_at=received_at).invoice

        assert invoice.amount.amount == Decimal("5000.01")
        assert invoice.total.amount == Decimal("5300.01")

    def test_a_one_fen_header_gap_is_refused_because_the_invoice_must_add_up(
        self, fixture_json, encode, received_at
    ):
        document = fixture_json("kingdee_native_salesoc.json")
        payload = json.loads(document["parameters"][1], parse_float=Decimal)
        payload["Model"]["FAFTERTOTALTAXFOR"] = "5300.01"
        payload["Model"]["FSALESICENTRY"][0]["FALLAMOUNTFOR"] = "5300.01"
        document["parameters"][1] = encode(payload).decode()

        problems = _problems(encode(document), received_at)
        assert [p for p, _ in problems] == ["/parameters/1/Model/FAFTERTOTALTAXFOR"]
        assert "a canonical invoice must add up exactly" in problems[0][1]

    @pytest.mark.parametrize("total", [0, -100])
    def test_a_blue_invoice_needs_a_positive_total(self, fixture_json, encode, received_at, total):
        document = fixture_json(SALESIC)
        _model(document)["FAFTERTOTALTAXFOR"] = total

        problems = _problems(encode(document), received_at)
        assert problems[0][0] == "/data/Model/FAFTERTOTALTAXFOR"
        assert problems[0][1] in (
            "total must not be zero",
            "total must be positive on a blue invoice",
        )

    def test_missing_parts_are_each_reported(self, fixture_json, encode, received_at):
        document = fixture_json(SALESIC)
        del document["data"]["SellerOrg"]
        model = _model(document)
        del model["FINVOICETITLE"]
        del model["FINVOICEDATE"], model["FDATE"]
        model["FSALESICENTRY"] = []

        assert _problems(encode(document), received_at) == [
            ("/data/SellerOrg", "is required but missing"),
            ("/data/Model/FINVOICETITLE", "is required but missing"),
            ("/data/Model/FINVOICEDATE", "is required but missing"),
            ("/data/Model/FSALESICENTRY", "must have at least one line"),
        ]
