"""Bank status reports (pain.002) -> payment results, from hand-written reports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import xmlschema

from canonical import MappingError, PaymentResult, PaymentStatus
from mappings import Pain002Report, pain002_to_canonical

REPORTED_AT = datetime(2026, 11, 20, 16, 0, tzinfo=timezone(timedelta(hours=8)))
XSD = Path(__file__).parents[2] / "mappings" / "schemas" / "pain.002.001.10.xsd"
REFUSED = "DOCTYPE and entity declarations are refused (XXE / entity expansion)"


def _report(fixture_bytes, name: str) -> Pain002Report:
    return pain002_to_canonical(fixture_bytes(name), reported_at=REPORTED_AT)


def _problems(raw: bytes) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        pain002_to_canonical(raw, reported_at=REPORTED_AT)
    assert caught.value.source == "pain.002"
    return [(p.path, p.reason) for p in caught.value.problems]


class TestReports:
    @pytest.mark.parametrize("name", [
        "pain002_acsc.xml", "pain002_rjct_am04.xml", "pain002_group_rjct.xml"])
    def test_the_namespaced_fixtures_are_valid_pain002(self, fixture_bytes, name):
        xmlschema.XMLSchema(str(XSD)).validate(fixture_bytes(name).decode())

    def test_settled_transactions_are_settled_with_the_bank_reference(self, fixture_bytes):
        report = _report(fixture_bytes, "pain002_acsc.xml")

        assert report.original_message_id == "FH20261120-0001"
        assert report.message_id == "CMBSTS20261120000017"
        assert report.group_status == "ACSC"
        assert report.group_reasons == ()
        assert not report.rejected_as_a_whole
        assert report.results == (
            PaymentResult(instruction_id="DSB-2026-000101", status=PaymentStatus.SETTLED,
                          bank_code="ACSC", reason="", bank_reference="CMB2026112000458812",
                          reported_at=REPORTED_AT),
            PaymentResult(instruction_id="DSB-2026-000102", status=PaymentStatus.SETTLED,
                          bank_code="ACCC", reason="", bank_reference="CMB2026112000458813",
                          reported_at=REPORTED_AT),
        )

    def test_a_rejection_carries_its_reason_code_and_text_with_a_namespace_prefix(
        self, fixture_bytes
    ):
        report = _report(fixture_bytes, "pain002_rjct_am04.xml")

        assert report.original_message_id == "FH20261120-0002"
        assert report.group_status == "PART"
        rejected, accepted = report.results
        assert rejected == PaymentResult(
            instruction_id="DSB-2026-000201", status=PaymentStatus.REJECTED, bank_code="RJCT",
            reason="AM04: 付款账户可用余额不足 insufficient funds", bank_reference="",
            reported_at=REPORTED_AT)
        assert (accepted.instruction_id, accepted.status, accepted.bank_code) == (
            "DSB-2026-000202", PaymentStatus.PENDING, "ACSP")
        assert accepted.bank_reference == "ICBC20261120A7781"

    def test_a_pending_report_without_namespace_inherits_the_block_status(self, fixture_bytes):
        report = _report(fixture_bytes, "pain002_pdng_no_namespace.xml")

        assert report.group_status == "PDNG"
        first, second = report.results
        assert (first.instruction_id, first.status, first.bank_code, first.reason) == (
            "DSB-2026-000301", PaymentStatus.PENDING, "PDNG", "大额支付人工审核中")
        # no TxSts of its own: the block's PDNG and the block's reason apply
        assert (second.instruction_id, second.status, second.bank_code, second.reason) == (
            "DSB-2026-000302", PaymentStatus.PENDING, "PDNG", "B2E-0042: 等待复核")

    def test_a_whole_message_rejection_is_exposed_at_group_level(self, fixture_bytes):
        report = _report(fixture_bytes, "pain002_group_rjct.xml")

        assert report.results == ()
        assert report.group_status == "RJCT"
        assert report.group_reasons == ("DU01: MsgId already received", "AM10")
        assert report.rejected_as_a_whole

    @pytest.mark.parametrize(("code", "status"), [
        ("ACSC", PaymentStatus.SETTLED), ("ACCC", PaymentStatus.SETTLED),
        ("RJCT", PaymentStatus.REJECTED), ("CANC", PaymentStatus.REJECTED),
        ("BLCK", PaymentStatus.REJECTED), ("RCVD", PaymentStatus.PENDING),
        ("ACTC", PaymentStatus.PENDING), ("ACCP", PaymentStatus.PENDING),
        ("ACFC", PaymentStatus.PENDING), ("ACSP", PaymentStatus.PENDING),
        ("ACWC", PaymentStatus.PENDING), ("ACWP", PaymentStatus.PENDING),
        ("PATC", PaymentStatus.PENDING), ("PDNG", PaymentStatus.PENDING),
    ])
    def test_every_transaction_status_code_maps(self, fixture_bytes, code, status):
        raw = fixture_bytes("pain002_acsc.xml").replace(b"<TxSts>ACSC</TxSts>",
                                                         f"<TxSts>{code}</TxSts>".encode())
        result = pain002_to_canonical(raw, reported_at=REPORTED_AT).results[0]

        assert (result.status, result.bank_code) == (status, code)


class TestRefusals:
    @pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
    def test_a_doctype_or_entity_document_is_refused(self, fixture_bytes, name):
        assert _problems(fixture_bytes(name)) == [("", REFUSED)]

    def test_a_doctype_hidden_by_utf16_is_refused_too(self, fixture_bytes):
        raw = fixture_bytes("xxe.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')

        assert _problems(raw.encode("utf-16")) == [("", REFUSED)]

    def test_an_oversized_document_is_refused_unread(self, fixture_bytes):
        raw = fixture_bytes("pain002_acsc.xml")
        padded = raw.replace(b"<CstmrPmtStsRpt>", b"<CstmrPmtStsRpt>" + b" " * (9 * 2**20), 1)

        ((_, reason),) = _problems(padded)
        assert "more than the" in reason

    def test_another_message_type_is_refused(self, fixture_bytes):
        raw = fixture_bytes("pain002_acsc.xml").replace(b"pain.002.001.10", b"camt.054.001.08")

        assert _problems(raw)[0] == (
            "/Document",
            "namespace 'urn:iso:std:iso:20022:tech:xsd:camt.054.001.08' is not a pain.002 "
            "namespace")

    def test_missing_ids_and_bad_codes_are_all_listed(self, fixture_bytes):
        raw = (fixture_bytes("pain002_acsc.xml")
               .replace(b"<OrgnlMsgId>FH20261120-0001</OrgnlMsgId>", b"<OrgnlMsgId/>")
               .replace(b"<TxSts>ACCC</TxSts>", b"<TxSts>done</TxSts>")
               .replace(b"<OrgnlEndToEndId>DSB-2026-000101</OrgnlEndToEndId>", b"")
               .replace(b"<OrgnlInstrId>DSB-2026-000101</OrgnlInstrId>", b""))

        tx = "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts"
        assert [path for path, _ in _problems(raw)] == [
            "/Document/CstmrPmtStsRpt/OrgnlGrpInfAndSts/OrgnlMsgId",
            f"{tx}[1]/OrgnlEndToEndId",
            f"{tx}[2]/TxSts",
        ]

    @pytest.mark.parametrize("raw", [
        b"", b"not xml at all", b"<Document>", b"<a/>", b"\x00\x01\x02", b"<?xml version='1.0'?>",
        "<Document/>",
    ])
    def test_garbage_raises_only_mapping_error(self, raw):
        with pytest.raises(MappingError):
            pain002_to_canonical(raw, reported_at=REPORTED_AT)

    def test_a_naive_report_time_is_refused(self, fixture_bytes):
        with pytest.raises(MappingError) as caught:
            pain002_to_canonical(fixture_bytes("pain002_acsc.xml"),
                                 reported_at=datetime(2026, 11, 20, 16, 0))  # naive

        assert [p.path for p in caught.value.problems] == ["reported_at"]
