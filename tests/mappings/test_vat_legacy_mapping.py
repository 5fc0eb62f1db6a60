"""Legacy 增值税电子普通发票 XML (fp: namespace) -> Invoice."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pydantic_core
import pytest

from canonical import InvoiceKind, InvoiceStatus, MappingError
from mappings.vat_legacy import legacy_einvoice_to_canonical

VAT = Path(__file__).parent / "fixtures" / "vat"
ORDINARY = "legacy_ordinary.xml"


def _text(name: str = ORDINARY) -> str:
    raw = (VAT / name).read_bytes()
    return raw.decode("gbk") if b'encoding="GB' in raw[:60] else raw.decode()


def _problems(raw: bytes, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        legacy_einvoice_to_canonical(raw, received_at=received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize("name", ["legacy_ordinary.xml", "legacy_red_gb2312.xml"])
def test_each_fixture_maps_to_its_reviewed_golden_invoice(name, received_at):
    invoice = legacy_einvoice_to_canonical((VAT / name).read_bytes(), received_at=received_at)
    expected = json.loads((VAT / name.replace(".xml", ".expected.json")).read_text())

    assert pydantic_core.to_jsonable_python(invoice) == expected


def test_code_number_check_code_and_cjk_date_are_mapped(received_at):
    invoice = legacy_einvoice_to_canonical((VAT / ORDINARY).read_bytes(), received_at=received_at)

    assert (invoice.code, invoice.number, invoice.key) == (
        "033001900211",
        "21010038",
        "03300190021121010038",
    )
    assert invoice.check_code == "01731581649436515692"
    assert invoice.kind is InvoiceKind.ORDINARY
    assert invoice.issue_date == date(2025, 6, 7)
    assert invoice.total.amount == Decimal("1378.00")
    assert invoice.lines[0].tax_rate == Decimal("0.06")  # "6%"
    assert invoice.order_numbers == ("SO-8812",)


def test_a_red_invoice_reverses_the_blue_code_and_number_from_its_note(received_at):
    invoice = legacy_einvoice_to_canonical(
        (VAT / "legacy_red_gb2312.xml").read_bytes(), received_at=received_at
    )

    assert invoice.status is InvoiceStatus.RED_FLUSHED
    assert invoice.reverses == "03300190021121010038"
    assert invoice.total.amount == Decimal("-318.00")
    assert invoice.check_code == "12345678901234567890"  # full-width digits folded
    assert invoice.issue_date == date(2025, 6, 15)  # YYYYMMDD


def test_unprefixed_elements_read_like_fp_prefixed_ones(received_at):
    text = _text()
    bare = text.replace("fp:", "").replace(
        'xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019"', ""
    )

    assert legacy_einvoice_to_canonical(bare.encode(), received_at=received_at).model_dump(
        exclude={"provenance"}
    ) == legacy_einvoice_to_canonical(text.encode(), received_at=received_at).model_dump(
        exclude={"provenance"}
    )


def test_a_special_type_code_makes_a_special_invoice_without_a_check_code(received_at):
    text = (
        _text()
        .replace("<fp:TypeCode>10", "<fp:TypeCode>08")
        .replace("<fp:InvoiceCheckCode>01731581649436515692</fp:InvoiceCheckCode>", "")
    )

    invoice = legacy_einvoice_to_canonical(text.encode(), received_at=received_at)

    assert (invoice.kind, invoice.check_code) == (InvoiceKind.SPECIAL, "")


def test_every_problem_is_reported_at_once(received_at):
    text = (
        _text()
        .replace("<fp:InvoiceNo>21010038", "<fp:InvoiceNo>2101003")
        .replace("<fp:InvoiceCheckCode>01731581649436515692", "<fp:InvoiceCheckCode>123")
        .replace("<fp:TypeCode>10", "<fp:TypeCode>99")
        .replace("<fp:BuyerTaxID>913101156607431925", "<fp:BuyerTaxID>91330106569821743D")
        .replace("<fp:TaxAmount>18.00", "<fp:TaxAmount>19.00")
        .replace("<fp:IssueDate>2025年06月07日", "<fp:IssueDate>2025年13月07日")
    )

    assert _problems(text.encode(), received_at) == [
        ("/eInvoice/InvoiceNo", "a legacy invoice number must be 8 digits"),
        ("/eInvoice/TypeCode", "must be a VAT invoice type: 01/08 (专票) or 04/10/11/14 (普票)"),
        ("/eInvoice/IssueDate", "is not a real date (month must be in 1..12)"),
        ("/eInvoice/InvoiceCheckCode", "must be 20 digits"),
        (
            "/eInvoice/GoodsInfos/GoodsInfo[2]/TaxAmount",
            "tax 19.00 is not amount × rate = 18.00 (difference 1.00, tolerance 0.01)",
        ),
        ("/eInvoice/Buyer/BuyerTaxID", "the buyer has the seller's 统一社会信用代码"),
        (
            "/eInvoice/TaxTotalAmount",
            "does not match the lines: the sum of GoodsInfos/GoodsInfo[*].TaxAmount is 79.00, the "
            "header says 78.00 (difference -1.00, tolerance 0.01)",
        ),
    ]


def test_a_red_invoice_whose_note_names_no_blue_invoice_is_refused(received_at):
    text = (
        _text("legacy_red_gb2312.xml")
        .replace("对应正数发票代码:033001900211号码:21010038", "退货")
        .replace('encoding="GB2312"', "")
    )

    assert _problems(text.encode(), received_at) == [
        ("/eInvoice/Note", "a red-letter invoice must name the blue invoice it reverses")
    ]


def test_another_root_element_is_refused(received_at):
    assert _problems(b"<EInvoice/>", received_at) == [
        ("/EInvoice", "not a legacy e-invoice: the root element must be eInvoice")
    ]
