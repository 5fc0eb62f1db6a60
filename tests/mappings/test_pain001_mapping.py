"""Disbursement instructions -> pain.001.001.09, validated against the ISO XSD."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from canonical import BankAccount, DisbursementInstruction, MappingError, Money, Party, PartyRole
from mappings import canonical_to_pain001, validate_pain001

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
XSD = Path(__file__).parents[2] / "mappings" / "schemas" / "pain.001.001.09.xsd"
CREATED_AT = datetime(2026, 11, 20, 2, 0, 5, tzinfo=UTC)
MESSAGE_ID = "FH20261120-0001"

FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
OTHER_SELLER = Party(name="江苏示例物流有限公司", uscc="9132050571358240X0",
                     role=PartyRole.SELLER)
FACTOR_ACCOUNT = BankAccount(number="755912345610801", name="深圳示例商业保理有限公司",
                             bank_name="招商银行深圳分行营业部", cnaps_code="308584000013")
SECOND_FACTOR_ACCOUNT = BankAccount(number="4000021109200456789", name="深圳示例商业保理有限公司",
                                    cnaps_code="102584002170")
SELLER_ACCOUNT = BankAccount(number="1102020309000123456", name="苏州示例新材料有限公司",
                             bank_name="中国工商银行苏州分行", cnaps_code="102305002018")
OTHER_ACCOUNT = BankAccount(number="32250198883600000567", name="江苏示例物流有限公司",
                            cnaps_code="105305000016")


def _instruction(number: int, amount: str, **changes: object) -> DisbursementInstruction:
    fields: dict[str, object] = {
        "id": f"DSB-2026-{number:06d}",
        "request_id": f"FR-2026-{number:04d}",
        "message_id": MESSAGE_ID,
        "amount": Money.of(amount),
        "debtor": FACTOR,
        "debtor_account": FACTOR_ACCOUNT,
        "creditor": SELLER,
        "creditor_account": SELLER_ACCOUNT,
        "execution_date": date(2026, 11, 20),
        "remittance": f"保理融资放款 FR-2026-{number:04d} 发票26322000000987654321",
        "created_at": CREATED_AT,
    }
    fields.update(changes)
    return DisbursementInstruction.model_validate(fields)


def _build(instructions: list[DisbursementInstruction]) -> bytes:
    return canonical_to_pain001(instructions, message_id=MESSAGE_ID, created_at=CREATED_AT,
                                initiating_party=FACTOR)


def _texts(root: etree._Element, xpath: str) -> list[str]:
    return [str(value) for value in root.xpath(xpath, namespaces=NS)]


class TestDocument:
    def test_the_file_validates_against_the_iso_schema_with_an_independent_validator(self):
        xml = _build([_instruction(101, "94920.00"), _instruction(102, "76580")])

        xmlschema.XMLSchema(str(XSD)).validate(xml.decode())
        validate_pain001(xml)

    def test_group_header_carries_ids_time_in_china_and_control_figures(self):
        xml = _build([_instruction(101, "94920.00"), _instruction(102, "76580")])
        root = etree.fromstring(xml)

        assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
        assert etree.QName(root).namespace == NS["p"]
        header = "/p:Document/p:CstmrCdtTrfInitn/p:GrpHdr"
        assert _texts(root, f"{header}/p:MsgId/text()") == [MESSAGE_ID]
        assert _texts(root, f"{header}/p:CreDtTm/text()") == ["2026-11-20T10:00:05+08:00"]
        assert _texts(root, f"{header}/p:NbOfTxs/text()") == ["2"]
        assert _texts(root, f"{header}/p:CtrlSum/text()") == ["171500.00"]
        assert _texts(root, f"{header}/p:InitgPty/p:Nm/text()") == ["深圳示例商业保理有限公司"]
        assert _texts(root, f"{header}/p:InitgPty/p:Id/p:OrgId/p:Othr/p:Id/text()") == [
            "91330106569821743D"]
        assert _texts(root, f"{header}/p:InitgPty/p:Id/p:OrgId/p:Othr/p:SchmeNm/p:Prtry/text()"
                      ) == ["USCC"]

    def test_each_transaction_carries_its_exact_amount_ids_and_parties(self):
        xml = _build([_instruction(101, "94920.00"), _instruction(102, "76580")])
        root = etree.fromstring(xml)
        (block,) = root.xpath("//p:PmtInf", namespaces=NS)

        assert _texts(block, "p:PmtInfId/text()") == [f"{MESSAGE_ID}-1"]
        assert _texts(block, "p:PmtMtd/text()") == ["TRF"]
        assert _texts(block, "p:BtchBookg/text()") == ["false"]
        assert _texts(block, "p:NbOfTxs/text()") == ["2"]
        assert _texts(block, "p:CtrlSum/text()") == ["171500.00"]
        assert _texts(block, "p:PmtTpInf/p:CtgyPurp/p:Cd/text()") == ["SUPP"]
        assert _texts(block, "p:ReqdExctnDt/p:Dt/text()") == ["2026-11-20"]
        assert _texts(block, "p:Dbtr/p:Nm/text()") == ["深圳示例商业保理有限公司"]
        assert _texts(block, "p:DbtrAcct/p:Id/p:Othr/p:Id/text()") == ["755912345610801"]
        assert _texts(block, "p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:ClrSysId/p:Cd/text()") == [
            "CNAPS"]
        assert _texts(block, "p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId/text()") == [
            "308584000013"]
        assert _texts(block, "p:ChrgBr/text()") == ["DEBT"]
        assert _texts(block, "p:CdtTrfTxInf/p:PmtId/p:InstrId/text()") == [
            "DSB-2026-000101", "DSB-2026-000102"]
        assert _texts(block, "p:CdtTrfTxInf/p:PmtId/p:EndToEndId/text()") == [
            "DSB-2026-000101", "DSB-2026-000102"]
        assert _texts(block, "p:CdtTrfTxInf/p:Amt/p:InstdAmt/text()") == ["94920.00", "76580.00"]
        assert _texts(block, "p:CdtTrfTxInf/p:Amt/p:InstdAmt/@Ccy") == ["CNY", "CNY"]
        assert _texts(block, "p:CdtTrfTxInf/p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId/text()"
                      ) == ["102305002018", "102305002018"]
        assert _texts(block, "p:CdtTrfTxInf/p:Cdtr/p:Nm/text()") == [
            "苏州示例新材料有限公司", "苏州示例新材料有限公司"]
        assert _texts(block, "p:CdtTrfTxInf/p:CdtrAcct/p:Id/p:Othr/p:Id/text()") == [
            "1102020309000123456", "1102020309000123456"]
        assert _texts(block, "p:CdtTrfTxInf/p:Purp/p:Cd/text()") == ["SUPP", "SUPP"]
        assert _texts(block, "p:CdtTrfTxInf/p:RmtInf/p:Ustrd/text()")[0] == (
            "保理融资放款 FR-2026-0101 发票26322000000987654321")

    def test_one_block_per_debtor_account_and_execution_date_each_with_its_own_sums(self):
        xml = _build([
            _instruction(1, "100.10"),
            _instruction(2, "200.20", debtor_account=SECOND_FACTOR_ACCOUNT),
            _instruction(3, "300.30", creditor=OTHER_SELLER, creditor_account=OTHER_ACCOUNT),
            _instruction(4, "400.40", execution_date=date(2026, 11, 23)),
        ])
        root = etree.fromstring(xml)
        validate_pain001(xml)

        assert _texts(root, "//p:GrpHdr/p:NbOfTxs/text()") == ["4"]
        assert _texts(root, "//p:GrpHdr/p:CtrlSum/text()") == ["1001.00"]
        assert _texts(root, "//p:PmtInf/p:PmtInfId/text()") == [
            f"{MESSAGE_ID}-1", f"{MESSAGE_ID}-2", f"{MESSAGE_ID}-3"]
        assert _texts(root, "//p:PmtInf/p:NbOfTxs/text()") == ["2", "1", "1"]
        assert _texts(root, "//p:PmtInf/p:CtrlSum/text()") == ["400.40", "200.20", "400.40"]
        assert _texts(root, "//p:PmtInf/p:ReqdExctnDt/p:Dt/text()") == [
            "2026-11-20", "2026-11-20", "2026-11-23"]

    def test_the_same_instructions_give_the_same_bytes_so_a_resend_is_identical(self):
        instructions = [_instruction(101, "94920.00"), _instruction(102, "76580")]

        assert _build(instructions) == _build(list(instructions))

    def test_a_long_message_id_still_gives_a_valid_block_id(self):
        long_id = "M" * 35
        instruction = _instruction(1, "1.00", message_id=long_id)
        xml = canonical_to_pain001([instruction], message_id=long_id, created_at=CREATED_AT,
                                   initiating_party=FACTOR)

        (block_id,) = _texts(etree.fromstring(xml), "//p:PmtInfId/text()")
        assert len(block_id) == 35


class TestRefusals:
    def test_every_problem_with_the_instructions_is_listed_at_once(self):
        no_cnaps = BankAccount(number="1102020309000999999", name="苏州示例新材料有限公司")
        instructions = [
            _instruction(1, "100.005"),
            _instruction(1, "5.00", creditor_account=no_cnaps),
            _instruction(3, "0"),
            _instruction(4, "7.00", message_id="FH-OTHER"),  # a file may gather many
        ]

        with pytest.raises(MappingError) as caught:
            _build(instructions)

        assert [(p.path, p.value) for p in caught.value.problems] == [
            ("instructions[0].amount", "100.005"),
            ("instructions[1].id", "DSB-2026-000001"),
            ("instructions[1].creditor_account.cnaps_code", ""),
            ("instructions[2].amount", "0"),
        ]
        assert caught.value.source == "pain.001"

    def test_no_instructions_and_a_naive_creation_time_are_refused(self):
        with pytest.raises(MappingError) as caught:
            canonical_to_pain001([], message_id=MESSAGE_ID,
                                 created_at=datetime(2026, 11, 20, 10, 0),  # naive
                                 initiating_party=FACTOR)

        assert [p.path for p in caught.value.problems] == ["created_at", "instructions"]

    def test_validation_lists_the_schema_errors_of_a_broken_document(self):
        xml = _build([_instruction(101, "94920.00")])
        broken = xml.replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>WIRE</PmtMtd>").replace(
            b"<NbOfTxs>1</NbOfTxs>", b"<NbOfTxs>one</NbOfTxs>", 1)

        with pytest.raises(MappingError) as caught:
            validate_pain001(broken)

        reasons = " | ".join(p.reason for p in caught.value.problems)
        assert "WIRE" in reasons
        assert "one" in reasons
        assert all(p.path.startswith("/") for p in caught.value.problems)

    @pytest.mark.parametrize("raw", [b"", b"<Document", b"not xml", b"\xff\xfe\x00"])
    def test_validation_of_garbage_raises_only_mapping_error(self, raw):
        with pytest.raises(MappingError):
            validate_pain001(raw)

    def test_amounts_keep_the_fen_exactly(self):
        xml = _build([_instruction(1, "0.01"), _instruction(2, "99999999.99")])

        assert _texts(etree.fromstring(xml), "//p:InstdAmt/text()") == ["0.01", "99999999.99"]
        assert _texts(etree.fromstring(xml), "//p:GrpHdr/p:CtrlSum/text()") == ["100000000.00"]
        assert Decimal("0.01") + Decimal("99999999.99") == Decimal("100000000.00")
