"""数电票 XML (<EInvoice>) -> Invoice: golden outputs, messy variants, red letters, problems."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pydantic_core
import pytest

from canonical import InvoiceKind, InvoiceStatus, MappingError
from mappings.vat_einvoice import einvoice_to_canonical

VAT = Path(__file__).parent / "fixtures" / "vat"
SPECIAL = "einvoice_special.xml"
GOLDEN = ["einvoice_special.xml", "einvoice_ordinary_gbk_prefixed.xml", "einvoice_red_bom.xml"]


def _raw(name: str) -> bytes:
    return (VAT / name).read_bytes()


def _text(name: str = SPECIAL) -> str:
    return _raw(name).decode("utf-8-sig")


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        einvoice_to_canonical(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize("name", GOLDEN)
def test_each_fixture_maps_to_its_reviewed_golden_invoice(name, received_at):
    invoice = einvoice_to_canonical(_raw(name), received_at=received_at)
    expected = json.loads((VAT / name.replace(".xml", ".expected.json")).read_text())

    assert pydantic_core.to_jsonable_python(invoice) == expected


class TestBlueSpecialInvoice:
    def test_header_parties_amounts_and_provenance_are_mapped(self, received_at):
        raw = _raw(SPECIAL)
        invoice = einvoice_to_canonical(raw, received_at=received_at)

        assert invoice.key == "26337904450900255091"
        assert invoice.kind is InvoiceKind.SPECIAL
        assert invoice.status is InvoiceStatus.NORMAL
        assert invoice.issue_date == date(2026, 11, 18)
        assert invoice.seller.uscc == "91330106569821743D"
        assert invoice.buyer.name == "上海示例制造股份有限公司（集团）"
        assert (invoice.amount.amount, invoice.tax.amount, invoice.total.amount) == (
            Decimal("20793.10"),
            Decimal("2493.10"),
            Decimal("23286.20"),
        )
        assert invoice.order_numbers == ("PO-2026-1107",)
        assert invoice.provenance.fingerprint == hashlib.new("sm3", raw).hexdigest()
        assert invoice.provenance.source_document_id == "26337904450900255091"

    def test_a_discount_line_follows_its_item_with_a_negative_amount_and_no_quantity(
        self, received_at
    ):
        lines = einvoice_to_canonical(_raw(SPECIAL), received_at=received_at).lines

        assert [line.amount for line in lines] == [
            Decimal("17000.00"),
            Decimal("-500.00"),
            Decimal("3000.00"),
            Decimal("1293.10"),
        ]
        assert (lines[1].quantity, lines[1].unit_price, lines[1].tax) == (0, 0, Decimal("-65.00"))
        assert lines[3].unit_price == Decimal("431.03448276")  # prices keep their 8 decimals

    def test_the_issue_time_is_the_date_when_there_is_no_request_time(self, received_at):
        raw = (
            _text()
            .replace("<RequestTime>2026-11-18 14:22:05</RequestTime>", "")
            .replace(
                "<IssueTime>2026-11-18 14:22:07</IssueTime>",
                "<IssueTime>2026年11月17日</IssueTime>",
            )
        )

        invoice = einvoice_to_canonical(raw.encode(), received_at=received_at)

        assert invoice.issue_date == date(2026, 11, 17)


class TestEncodingsAndNamespaces:
    def test_gbk_prefixed_messy_invoice_folds_full_width_separators_and_signs(self, received_at):
        invoice = einvoice_to_canonical(
            _raw("einvoice_ordinary_gbk_prefixed.xml"), received_at=received_at
        )

        assert invoice.number == "26327000001739485410"  # full-width digits folded
        assert invoice.kind is InvoiceKind.ORDINARY
        assert invoice.buyer.uscc == "91320594794160355G"  # trimmed and upper-cased
        assert invoice.amount.amount == Decimal("6300.00")  # "￥6,300.00"
        assert invoice.total.amount == Decimal("6672.00")  # "6,672.00元"
        assert invoice.lines[1].unit_price == Decimal("120.00")  # full-width "１２０．００"
        assert (invoice.lines[2].tax_rate, invoice.lines[2].tax) == (0, 0)  # 免税 / ***
        assert invoice.issue_date == date(2026, 11, 19)  # IssueTime with a T

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
    def test_the_same_document_reads_alike_in_utf8_bom_and_gb18030(self, encoding, received_at):
        text = _text()
        declared = (
            text.replace('encoding="UTF-8"', 'encoding="GB18030"')
            if (encoding == "gb18030")
            else text
        )

        invoice = einvoice_to_canonical(declared.encode(encoding), received_at=received_at)

        assert invoice.model_dump(exclude={"provenance"}) == einvoice_to_canonical(
            text.encode(), received_at=received_at
        ).model_dump(exclude={"provenance"})

    @pytest.mark.parametrize(("declared", "encoding"), [("UTF-8", "gbk"), ("GBK", "utf-8")])
    def test_a_declaration_that_disagrees_with_the_bytes_still_reads(
        self, declared, encoding, received_at
    ):
        text = _text().replace('encoding="UTF-8"', f'encoding="{declared}"')

        invoice = einvoice_to_canonical(text.encode(encoding), received_at=received_at)

        assert invoice.seller.name == "浙江示例供应链科技有限公司"

    def test_default_namespace_and_prefixes_read_like_plain_elements(self, received_at):
        text = _text()
        plain = einvoice_to_canonical(text.encode(), received_at=received_at)
        namespaced = text.replace("<EInvoice>", '<EInvoice xmlns="urn:x">')

        assert einvoice_to_canonical(namespaced.encode(), received_at=received_at).lines == (
            plain.lines
        )

    def test_undecodable_bytes_are_one_problem(self, received_at):
        raw = b'<?xml version="1.0" encoding="UTF-8"?><EInvoice>\x80\xff</EInvoice>'

        assert _problems(raw, received_at) == [
            (
                "",
                "encoding is declared utf-8, but the bytes are neither UTF-8 nor GB18030 "
                "(bad byte at 48)",
            )
        ]


class TestRedLetter:
    def test_a_red_invoice_is_negative_and_names_the_blue_one_and_its_confirmation(
        self, received_at
    ):
        invoice = einvoice_to_canonical(_raw("einvoice_red_bom.xml"), received_at=received_at)

        assert invoice.status is InvoiceStatus.RED_FLUSHED
        assert invoice.total.amount == Decimal("-9605.00")
        assert invoice.reverses == "26337904450900255091"
        assert invoice.red_notice == "33010626112500000017"
        assert invoice.lines[0].tax_rate == Decimal("0.13")  # "13%"

    def test_the_remark_names_the_blue_invoice_when_there_is_no_red_block(self, received_at):
        text = _text("einvoice_red_bom.xml")
        start, end = text.index("<SpecificInformation>"), text.index("</SpecificInformation>")
        raw = (text[:start] + text[end + len("</SpecificInformation>") :]).encode()

        invoice = einvoice_to_canonical(raw, received_at=received_at)

        assert (invoice.reverses, invoice.red_notice) == (
            "26337904450900255091",
            "33010626112500000017",
        )

    def test_a_red_invoice_without_a_blue_reference_or_with_positive_totals_is_refused(
        self, received_at
    ):
        text = _text("einvoice_red_bom.xml")
        start, end = text.index("<SpecificInformation>"), text.index("</AdditionalInformation>")
        text = text[:start] + text[end + len("</AdditionalInformation>") :]
        raw = text.replace("<TotalAmWithoutTax>-8500.00", "<TotalAmWithoutTax>8500.00").encode()

        assert _problems(raw, received_at) == [
            (
                "/EInvoice/EInvoiceData/BasicInformation/TotalAmWithoutTax",
                "must not be positive on a red-letter invoice",
            ),
            (
                "/EInvoice/EInvoiceData/SpecificInformation/RedEInvoice",
                "a red-letter invoice must name the blue invoice it reverses",
            ),
            (
                "/EInvoice/EInvoiceData/BasicInformation/TotalTax-includedAmount",
                "amount + tax = 7395.00 does not equal the total -9605.00 (difference 17000.00, "
                "tolerance 0.01)",
            ),
            (
                "/EInvoice/EInvoiceData/BasicInformation/TotalAmWithoutTax",
                "does not match the lines: the sum of IssuItemInformation[*].Amount is -8500.00, "
                "the header says 8500.00 (difference 17000.00, tolerance 0.01)",
            ),
        ]

    def test_a_negative_total_without_the_blue_flag_is_a_red_invoice(self, received_at):
        raw = (
            _text("einvoice_red_bom.xml")
            .replace(
                "<InIssuType><LabelCode>N</LabelCode><LabelName>是否蓝字发票标志</LabelName></InIssuType>",
                "",
            )
            .encode()
        )

        assert einvoice_to_canonical(raw, received_at=received_at).status is (
            InvoiceStatus.RED_FLUSHED
        )


class TestProblems:
    def test_every_problem_is_reported_at_once_with_its_path(self, received_at):
        text = (
            _text()
            .replace("<SellerIdNum>91330106569821743D", "<SellerIdNum>91330106569821743A")
            .replace("<ComTaxAm>2210.00", "<ComTaxAm>2200.00")
            .replace("<TotalTaxAm>2493.10", "<TotalTaxAm>abc")
            .replace(
                "<LabelCode>01</LabelCode><LabelName>增值税专用",
                "<LabelCode>09</LabelCode><LabelName>增值税专用",
            )
            .replace("<RequestTime>2026-11-18 14:22:05", "<RequestTime>2026-02-30")
        )

        assert _problems(text.encode(), received_at) == [
            (
                "/EInvoice/Header/InherentLabel/GeneralOrSpecialVAT/LabelCode",
                "must be 01 (增值税专用发票) or 02 (普通发票)",
            ),
            (
                "/EInvoice/EInvoiceData/BasicInformation/RequestTime",
                "is not a real date (day is out of range for month)",
            ),
            ("/EInvoice/EInvoiceData/BasicInformation/TotalTaxAm", "is not a decimal number"),
            (
                "/EInvoice/EInvoiceData/IssuItemInformation[1]/ComTaxAm",
                "tax 2200.00 is not amount × rate = 2210.00 (difference -10.00, tolerance 0.01)",
            ),
            (
                "/EInvoice/EInvoiceData/SellerInformation/SellerIdNum",
                "invalid 统一社会信用代码: check digit is 'A', expected 'D'",
            ),
            (
                "/EInvoice/EInvoiceData/IssuItemInformation[1]/TotaltaxIncludedAmount",
                "amount + tax = 19200.00 does not equal the line total 19210.00 (difference "
                "-10.00, tolerance 0.01)",
            ),
        ]

    def test_a_discount_line_must_follow_an_item_and_not_exceed_it(self, received_at):
        text = (
            _text()
            .replace("<Amount>-500.00</Amount>", "<Amount>-17500.00</Amount>")
            .replace("<ComTaxAm>-65.00</ComTaxAm>", "<ComTaxAm>-2275.00</ComTaxAm>")
            .replace("<TotaltaxIncludedAmount>-565.00", "<TotaltaxIncludedAmount>-19775.00")
            .replace("<TotalAmWithoutTax>20793.10", "<TotalAmWithoutTax>3793.10")
            .replace("<TotalTaxAm>2493.10", "<TotalTaxAm>283.10")
            .replace("<TotalTax-includedAmount>23286.20", "<TotalTax-includedAmount>4076.20")
        )

        assert _problems(text.encode(), received_at) == [
            (
                "/EInvoice/EInvoiceData/IssuItemInformation[2]/Amount",
                "discount -17500.00 is larger than the Amount 17000.00 of the line it discounts",
            )
        ]

    def test_missing_sections_and_fields_are_each_a_problem(self, received_at):
        raw = (
            b"<EInvoice><EInvoiceData><BasicInformation><TotalAmWithoutTax>1"
            b"</TotalAmWithoutTax></BasicInformation></EInvoiceData></EInvoice>"
        )

        problems = _problems(raw, received_at)

        assert ("/EInvoice/TaxSupervisionInfo/InvoiceNumber", "is required but missing") in (
            problems
        )
        assert (
            "/EInvoice/Header/InherentLabel/GeneralOrSpecialVAT/LabelCode",
            "is required: 01 专票 or 02 普票",
        ) in problems
        assert (
            "/EInvoice/EInvoiceData/BuyerInformation/BuyerIdNum",
            "is required: a party is identified by its 统一社会信用代码",
        ) in problems
        assert ("/EInvoice/EInvoiceData/IssuItemInformation", "must have at least one line") in (
            problems
        )
        assert len(problems) == 10

    def test_a_document_with_several_invoices_is_refused_not_truncated(self, received_at):
        body = _text().split("?>", 1)[1]
        raw = f"<Invoices>{body}{body}</Invoices>".encode()

        assert _problems(raw, received_at) == [
            ("/Invoices", "holds 2 invoices: send one EInvoice per document")
        ]

    def test_eiid_must_equal_the_invoice_number(self, received_at):
        raw = _text().replace("<EIid>26337904450900255091", "<EIid>26337904450900255092")

        assert _problems(raw.encode(), received_at) == [
            (
                "/EInvoice/Header/EIid",
                "differs from TaxSupervisionInfo/InvoiceNumber 26337904450900255091",
            )
        ]

    def test_entity_declarations_are_refused(self, fixture_bytes, received_at):
        assert _problems(fixture_bytes("billion_laughs.xml"), received_at) == [
            ("", "DOCTYPE and entity declarations are refused (XXE / entity expansion)")
        ]
