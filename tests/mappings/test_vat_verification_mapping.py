"""Verification answers -> InvoiceVerification, and the verification request writer."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonical import InvoiceStatus, MappingError
from canonical.verification import TaxStatus, VerificationResult
from mappings.vat_einvoice import einvoice_to_canonical
from mappings.vat_legacy import legacy_einvoice_to_canonical
from mappings.vat_verification import (
    OUTBOUND,
    VerificationRequest,
    request_for,
    verification_answer_to_canonical,
    verification_request_to_json,
)

VAT = Path(__file__).parent / "fixtures" / "vat"
GOLDEN = [
    "verification_consistent.json",
    "verification_void_legacy.json",
    "verification_not_found.json",
]


def _answer(name: str) -> dict:
    return json.loads((VAT / name).read_bytes())


def _read(document: dict, received_at):
    return verification_answer_to_canonical(
        json.dumps(document, ensure_ascii=False).encode(), received_at=received_at
    )


def _problems(document: dict, received_at) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        _read(document, received_at)
    return [(p.path, p.reason) for p in caught.value.problems]


@pytest.mark.parametrize("name", GOLDEN)
def test_each_answer_maps_to_its_reviewed_golden_verification(name, received_at):
    verification = verification_answer_to_canonical(
        (VAT / name).read_bytes(), received_at=received_at
    )
    expected = json.loads((VAT / name.replace(".json", ".expected.json")).read_text())

    assert pydantic_core.to_jsonable_python(verification) == expected


class TestAnswers:
    def test_a_consistent_answer_carries_the_invoice_as_the_tax_authority_knows_it(
        self, received_at
    ):
        verification = verification_answer_to_canonical(
            (VAT / "verification_consistent.json").read_bytes(), received_at=received_at
        )

        assert verification.result is VerificationResult.CONSISTENT
        assert verification.status is TaxStatus.NORMAL
        assert verification.checked_at == datetime(
            2026, 11, 20, 10, 29, 58, tzinfo=timezone(timedelta(hours=8))
        )
        invoice = verification.invoice
        assert invoice is not None
        assert invoice.key == verification.invoice_key == "26327000001739485410"
        assert invoice.amount.amount == Decimal("6300.00")  # a JSON number
        assert invoice.total.amount == Decimal("6672.00")  # "6,672.00"
        assert [line.tax for line in invoice.lines] == [Decimal("300.00"), Decimal("72.00"), 0]
        assert not verification.transient

    def test_the_face_data_matches_what_the_einvoice_xml_said(self, received_at):
        verified = verification_answer_to_canonical(
            (VAT / "verification_consistent.json").read_bytes(), received_at=received_at
        ).invoice
        xml = einvoice_to_canonical(
            (VAT / "einvoice_ordinary_gbk_prefixed.xml").read_bytes(), received_at=received_at
        )

        assert verified is not None
        fields = {"number", "kind", "issue_date", "seller", "buyer", "amount", "tax", "total"}
        assert verified.model_dump(include=fields) == xml.model_dump(include=fields)

    def test_a_void_mark_makes_both_the_tax_status_and_the_invoice_void(self, received_at):
        verification = verification_answer_to_canonical(
            (VAT / "verification_void_legacy.json").read_bytes(), received_at=received_at
        )

        assert verification.status is TaxStatus.VOID
        assert verification.invoice is not None
        assert verification.invoice.status is InvoiceStatus.VOID
        assert verification.invoice.check_code == "01731581649436515692"
        assert verification.check_count == 3

    @pytest.mark.parametrize(
        ("mark", "value", "status", "invoice_status"),
        [
            ("redFlushMark", "1", TaxStatus.RED_FLUSHED, InvoiceStatus.RED_FLUSHED),
            ("redFlushMark", "2", TaxStatus.PARTLY_RED_FLUSHED, InvoiceStatus.NORMAL),
            ("abnormalMark", "1", TaxStatus.OUT_OF_CONTROL, InvoiceStatus.NORMAL),
        ],
    )
    def test_red_flush_and_abnormal_marks_become_the_tax_status(
        self, mark, value, status, invoice_status, received_at
    ):
        document = _answer("verification_consistent.json")
        document["data"][mark] = value

        verification = _read(document, received_at)

        assert verification.status is status
        assert verification.invoice is not None
        assert verification.invoice.status is invoice_status

    @pytest.mark.parametrize(
        ("code", "result", "transient"),
        [
            ("009", VerificationResult.NOT_FOUND, False),
            ("002", VerificationResult.LIMIT_EXCEEDED, True),
            ("rqerr", VerificationResult.NOT_YET_CHECKABLE, True),
            ("006", VerificationResult.INCONSISTENT, False),
            ("CheckInvoicesOverFiveYears", VerificationResult.TOO_OLD, False),
            ("IllegalParameter.IllegalCheckCode", VerificationResult.INVALID_REQUEST, False),
        ],
    )
    def test_result_codes_map_to_results_and_name_the_invoice_from_the_echo(
        self, code, result, transient, received_at
    ):
        document = _answer("verification_not_found.json") | {"code": code}

        verification = _read(document, received_at)

        assert (verification.result, verification.transient) == (result, transient)
        assert verification.invoice is None
        assert verification.status is None
        assert verification.invoice_key == "26337904450900299999"

    def test_every_problem_is_reported_at_once(self, received_at):
        document = _answer("verification_consistent.json")
        data = document["data"]
        data["invoiceNo"] = "2632700000173948541"
        data["salerTaxNo"] = "9132050571358240X1"
        data["taxAmount"] = "37.20"
        data["cancellationMark"] = "7"
        data["detailList"][1]["taxAmount"] = True
        document["checkTime"] = "yesterday"

        assert _problems(document, received_at) == [
            ("/checkTime", "is not a time (expected YYYY-MM-DD HH:MM:SS)"),
            ("/data/invoiceNo", "a 数电 invoice number must be 20 digits"),
            ("/data/cancellationMark", "must be one of 0, 1"),
            ("/data/detailList/1/taxAmount", "is not a decimal number"),
            ("/data/salerTaxNo", "invalid 统一社会信用代码: check digit is '1', expected '0'"),
            (
                "/data/totalAmount",
                "amount + tax = 6337.20 does not equal the total 6672.00 "
                "(difference -334.80, tolerance 0.01)",
            ),
        ]

    def test_an_unknown_result_code_and_a_consistent_answer_without_data_are_problems(
        self, received_at
    ):
        assert _problems({"code": "0000", "invoiceNo": "26337904450900299999"}, received_at) == [
            ("/data", "is required but missing")
        ]
        assert _problems({"code": "X1", "invoiceNo": "26337904450900299999"}, received_at) == [
            ("/code", "is not a known verification result code")
        ]


class TestRequest:
    def test_a_shudian_request_sends_the_tax_inclusive_total_and_no_code(self, received_at):
        invoice = einvoice_to_canonical(
            (VAT / "einvoice_special.xml").read_bytes(), received_at=received_at
        )

        body = json.loads(verification_request_to_json(request_for(invoice)))

        assert body == {
            "invoiceType": "31",
            "invoiceCode": "",
            "invoiceNo": "26337904450900255091",
            "invoiceDate": "20261118",
            "invoiceAmount": "23286.20",
            "checkCode": "",
        }

    def test_a_legacy_ordinary_request_sends_the_last_six_check_code_digits(self, received_at):
        invoice = legacy_einvoice_to_canonical(
            (VAT / "legacy_ordinary.xml").read_bytes(), received_at=received_at
        )

        body = json.loads(verification_request_to_json(request_for(invoice)))

        assert body == {
            "invoiceType": "10",
            "invoiceCode": "033001900211",
            "invoiceNo": "21010038",
            "invoiceDate": "20250607",
            "invoiceAmount": "",
            "checkCode": "515692",
        }

    def test_a_special_request_sends_the_amount_excluding_tax(self):
        request = VerificationRequest(
            invoice_type="01",
            code="3300201130",
            number="00012345",
            issue_date=date(2025, 3, 1),
            amount=Decimal("1000.005"),
        )

        assert json.loads(verification_request_to_json(request))["invoiceAmount"] == "1000.01"

    def test_missing_inputs_for_the_type_are_all_reported(self):
        request = VerificationRequest(
            invoice_type="04", number="26337904450900255091", issue_date=date(2025, 3, 1)
        )

        with pytest.raises(MappingError) as caught:
            verification_request_to_json(request)

        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("code", "is required for invoice type 04"),
            ("number", "a legacy invoice number must be 8 digits"),
            ("check_code", "is required for invoice type 04: the last 6 digits of the 校验码"),
        ]

    def test_the_catalogue_model_validates_render_input_from_json(self):
        (fmt,) = OUTBOUND
        request = fmt.model.model_validate_json(
            '{"invoice_type": "32", "number": "26327000001739485410", '
            '"issue_date": "2026-11-19", "amount": "6672.00"}'
        )

        assert json.loads(fmt.write(request))["invoiceAmount"] == "6672.00"

    @settings(max_examples=60, deadline=None)
    @given(
        number=st.text("0123456789", min_size=20, max_size=20),
        day=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
        cents=st.integers(1, 10**12),
        special=st.booleans(),
    )
    def test_a_written_request_reads_back_to_its_inputs(self, number, day, cents, special):
        amount = Decimal(cents) / 100
        request = VerificationRequest(
            invoice_type="31" if special else "32", number=number, issue_date=day, amount=amount
        )

        body = json.loads(verification_request_to_json(request))

        assert (
            VerificationRequest(
                invoice_type=body["invoiceType"],
                number=body["invoiceNo"],
                issue_date=datetime.strptime(body["invoiceDate"], "%Y%m%d").date(),
                amount=Decimal(body["invoiceAmount"]),
            )
            == request
        )


def test_the_verdict_alone_can_be_read_without_the_invoices_face_data():
    from datetime import datetime

    from mappings.vat_verification import verification_answer_to_canonical

    raw = (Path(__file__).parent / "fixtures" / "vat" / "verification_consistent.json").read_bytes()
    at = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
    full = verification_answer_to_canonical(raw, received_at=at)
    verdict = verification_answer_to_canonical(raw, received_at=at, face=False)
    assert full.invoice is not None
    assert verdict.invoice is None
    assert (verdict.result, verdict.status, verdict.invoice_key) == (
        full.result,
        full.status,
        full.invoice_key,
    )


class TestPartlyRedFlushed:
    """部分红冲 (invoiceStatus 7): the red-letter invoices listed take their totals off."""

    def _partly_red(self, *totals: object) -> dict:
        document = _answer("verification_consistent.json")
        document["data"]["invoiceStatus"] = "7"
        document["data"]["redInvoices"] = [
            {"invoiceNo": f"2632000000000000000{i}", "totalAmount": t} for i, t in enumerate(totals)
        ]
        return document

    def test_the_red_invoices_totals_are_summed_as_what_the_flush_takes_off(self, received_at):
        # -1,130.00 and -226.00 as issued (negative): 1,356.00 taken off
        verification = _read(self._partly_red("-1130.00", "-226.00"), received_at)
        assert verification.status is TaxStatus.PARTLY_RED_FLUSHED
        assert verification.red_total is not None
        assert verification.red_total.amount == Decimal("1356.00")

    def test_a_partly_red_flushed_answer_without_the_red_invoices_leaves_the_amount_unknown(
        self, received_at
    ):
        document = self._partly_red()
        del document["data"]["redInvoices"]
        assert _read(document, received_at).red_total is None

    def test_a_red_total_that_is_not_an_amount_is_a_problem_naming_its_path(self, received_at):
        problems = _problems(self._partly_red("-1130.00", "lots"), received_at)
        assert [path for path, _ in problems] == ["/data/redInvoices/1/totalAmount"]

    def test_the_parties_tax_numbers_are_read_as_the_platform_knows_them(self, received_at):
        verification = _read(_answer("verification_consistent.json"), received_at)
        assert verification.seller_tax_no == "9132050571358240X0"
        assert verification.buyer_tax_no == "91320594794160355G"
