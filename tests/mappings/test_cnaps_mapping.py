"""CNAPS2 hvps.111.001.01 frames <-> canonical, from hand-written frames (formats-outbound §1.5)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic_core import to_jsonable_python

from canonical import BankAccount, DisbursementInstruction, MappingError, Money, Party, PartyRole
from canonical.payments import CnapsCreditTransfer, CnapsPriority, Counterparty
from mappings.cnaps import (
    INBOUND,
    OUTBOUND,
    CnapsTransfer,
    canonical_to_cnaps_hvps111,
    cnaps_hvps111_to_canonical,
    recognise_cnaps_hvps111,
    validate_cnaps_body,
)
from mappings.formats import INBOUND_FORMATS

CHINA = timezone(timedelta(hours=8))
RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA)
FIXTURES = Path(__file__).parent / "fixtures"
PAYMENTS = FIXTURES / "payments"
XSD = Path(__file__).parents[2] / "mappings" / "schemas" / "pacs.008.001.02.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"}
NAMES = [
    "cnaps_hvps111_disbursement.txt",
    "cnaps_hvps111_signed_gbk_prefixed.txt",
    "cnaps_hvps111_bare_bom_no_namespace.xml",
    "cnaps_hvps111_forwarded_repayment.txt",
]
SENT = "cnaps_hvps111_disbursement.txt"
SIGNED = "cnaps_hvps111_signed_gbk_prefixed.txt"
TX = "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf"

FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
FACTOR_ACCOUNT = BankAccount(
    number="755912345610801",
    name="深圳示例商业保理有限公司",
    bank_name="招商银行深圳分行营业部",
    cnaps_code="308584000013",
)
SELLER_ACCOUNT = BankAccount(
    number="1102020309000123456",
    name="苏州示例新材料有限公司",
    bank_name="中国工商银行苏州分行",
    cnaps_code="102305002018",
)


def _instruction(**changes: object) -> DisbursementInstruction:
    fields: dict[str, object] = {
        "id": "DSB-2026-000101",
        "request_id": "FR-2026-0101",
        "message_id": "2026112000000101",
        "amount": Money.of("1280000.00"),
        "debtor": FACTOR,
        "debtor_account": FACTOR_ACCOUNT,
        "creditor": SELLER,
        "creditor_account": SELLER_ACCOUNT,
        "execution_date": date(2026, 11, 20),
        "remittance": "保理融资放款 FR-2026-0101",
        "created_at": datetime(2026, 11, 20, 2, 0, 5, tzinfo=UTC),
    }
    fields.update(changes)
    return DisbursementInstruction.model_validate(fields)


def _read(raw: bytes) -> CnapsCreditTransfer:
    return cnaps_hvps111_to_canonical(raw, received_at=RECEIVED_AT)


def _fixture(name: str) -> bytes:
    return (PAYMENTS / name).read_bytes()


def _problems(raw: bytes) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        _read(raw)
    assert caught.value.source == "cnaps2"
    return [(p.path, p.reason) for p in caught.value.problems]


def _write_problems(transfer: CnapsTransfer) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        canonical_to_cnaps_hvps111(transfer)
    return [(p.path, p.reason) for p in caught.value.problems]


def _without_provenance(transfer: CnapsCreditTransfer) -> dict[str, object]:
    return transfer.model_dump(exclude={"provenance"})


def _split(frame: bytes) -> tuple[str, bytes]:
    header, _, body = frame.partition(b"\r\n")
    return header.decode("ascii"), body


class TestReading:
    @pytest.mark.parametrize("name", NAMES)
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name):
        result = _read(_fixture(name))

        expected_name = name.rsplit(".", 1)[0] + ".expected.json"
        expected = json.loads((PAYMENTS / expected_name).read_text(encoding="utf-8"))
        assert to_jsonable_python(result) == expected

    def test_the_signature_block_is_skipped_and_only_noted(self):
        raw = _fixture(SIGNED)
        header, _, rest = raw.partition(b"\n")
        unsigned = header + b"\n" + rest[rest.index(b"}") + 2 :]

        signed, plain = _read(raw), _read(unsigned)
        assert signed.header is not None
        assert plain.header is not None
        assert (signed.header.signed, plain.header.signed) == (True, False)
        assert _without_provenance(signed) == _without_provenance(plain) | {
            "header": plain.header.model_dump() | {"signed": True}
        }

    def test_lf_line_ends_read_like_crlf(self):
        crlf = _fixture(SENT)
        lf = crlf.replace(b"\r\n", b"\n")

        assert _without_provenance(_read(lf)) == _without_provenance(_read(crlf))

    def test_utf8_bytes_declared_gbk_read_like_the_gbk_original(self):
        gbk = _fixture(SIGNED)
        utf8 = gbk.decode("gbk").encode("utf-8")  # the declaration still says GBK

        assert _without_provenance(_read(utf8)) == _without_provenance(_read(gbk))

    def test_the_body_alone_reads_the_same_transfer_without_a_header(self):
        framed = _read(_fixture(SENT))
        bare = _read(_split(_fixture(SENT))[1])

        assert bare.header is None
        assert _without_provenance(bare) == _without_provenance(framed) | {"header": None}

    def test_the_note_is_the_h01_line(self):
        transfer = _read(_fixture(SIGNED))

        assert transfer.note == "应收账款保理融资 FR-2026-0117"
        assert _read(_fixture("cnaps_hvps111_forwarded_repayment.txt")).note == ""

    def test_provenance_keeps_the_sm3_of_the_original_bytes(self):
        raw = _fixture(SIGNED)

        provenance = _read(raw).provenance
        assert (provenance.source_system, provenance.source_document_id) == (
            "cnaps2",
            "2026112100003377",
        )
        assert provenance.fingerprint == hashlib.new("sm3", raw).hexdigest()
        assert provenance.received_at == RECEIVED_AT


class TestProblems:
    def test_every_problem_of_the_body_is_listed_with_its_path(self):
        raw = (
            _fixture(SENT)
            .replace(b"<NbOfTxs>1</NbOfTxs>", b"<NbOfTxs>2</NbOfTxs>")
            .replace(b"<Prtry>A100</Prtry>", b"<Prtry>100A</Prtry>")
            .replace(b'Ccy="CNY">1280000.00<', b'Ccy="USD">-1280000.00<')
            .replace(b"<SttlmPrty>HIGH</SttlmPrty>", b"<SttlmPrty>FAST</SttlmPrty>")
            .replace(b"<MmbId>102100099996</MmbId>", b"<MmbId>10210009999</MmbId>")
            .replace(
                "<Nm>苏州示例新材料有限公司</Nm>".encode(), ("<Nm>" + "长" * 61 + "</Nm>").encode()
            )
            .replace(b"<Id>755912345610801</Id>", b"<Id>7559#12345</Id>")
            .replace(b"<Prtry>02102</Prtry>", b"<Prtry>2102</Prtry>")
        )

        assert _problems(raw) == [
            ("/Document/FIToFICstmrCdtTrf/GrpHdr/NbOfTxs", "says 2 but there are 1 transactions"),
            (f"{TX}/PmtTpInf/CtgyPurp/Prtry", "must be a CNAPS 业务类型编码 such as A100"),
            (f"{TX}/IntrBkSttlmAmt", "must not be negative"),
            (f"{TX}/IntrBkSttlmAmt/@Ccy", "must be CNY: HVPS settles renminbi only"),
            (f"{TX}/SttlmPrty", "must be one of URGT, HIGH, NORM"),
            (f"{TX}/Purp/Prtry", "must be a five-digit 业务种类编码"),
            (f"{TX}/InstdAgt/FinInstnId/ClrSysMmbId/MmbId", "must be a 12-digit CNAPS 行号"),
            (f"{TX}/DbtrAcct/Id/Othr/Id", "must be at most 32 letters, digits or -"),
            (f"{TX}/Cdtr/Nm", "is longer than 60 characters"),
        ]

    def test_missing_parties_and_banks_are_all_listed(self):
        raw = (
            _fixture("cnaps_hvps111_bare_bom_no_namespace.xml")
            .replace("<Dbtr><Nm>深圳示例商业保理有限公司</Nm></Dbtr>".encode(), b"")
            .replace(b"<MmbId>313305000011</MmbId>", b"<MmbId></MmbId>")
            .replace(b"<Id>51010300000123987</Id>", b"<Id> </Id>")
            .replace(b"<ChrgBr>DEBT</ChrgBr>", b"")
            .replace(b"<TxId>2026112200000512</TxId>", b"")
        )

        assert _problems(raw) == [
            (f"{TX}/PmtId/TxId", "is required"),
            (f"{TX}/ChrgBr", "is required"),
            (f"{TX}/Dbtr", "is required"),
            (f"{TX}/CdtrAcct/Id/Othr/Id", "the account number is required"),
            (f"{TX}/CdtrAgt/FinInstnId/ClrSysMmbId/MmbId", "a 12-digit CNAPS 行号 is required"),
        ]

    def test_every_problem_of_the_header_is_listed(self):
        header, body = _split(_fixture(SENT))
        broken = (
            "{H:03" + header[5:58] + "hvps.112.001.01     " + header[78:118] + "7X" + header[120:]
        ).replace("20261120100005", "20261131100005")

        assert _problems(broken.encode() + b"\r\n" + body) == [
            ("{H:}/VersionID", "must be 02 (CNAPS2)"),
            ("{H:}/MesgType", "must be hvps.111.001.01"),
            ("{H:}/MesgPriority", "must be 1, 2 or 3"),
            ("{H:}/MesgDirection", "must be U or D"),
            ("{H:}/OrigSendDate", "is not a real date-time (day is out of range for month)"),
        ]

    def test_a_header_that_disagrees_with_its_body_is_refused(self):
        raw = _fixture(SENT).replace(b"{H:02308584000013", b"{H:02308584000099", 1)
        raw = raw.replace(
            b"HVPU2026112000000101HVPU2026112000000101" + b"2",
            b"HVPU2026112000000101HVPU2026112000000101" + b"1",
        )

        assert _problems(raw) == [
            ("{H:}/MesgPriority", "disagrees with SttlmPrty in the body"),
            ("{H:}/OrigSender", "is not the body's instructing clearing bank 308584000013"),
        ]

    def test_a_header_of_the_wrong_width_is_refused(self):
        raw = _fixture(SENT).replace(b"{H:02", b"{H:02 ", 1)

        assert _problems(raw) == [
            ("{H:}", "the header must be 130 ASCII characters up to and including }, found 131")
        ]

    def test_more_than_one_transaction_is_refused(self):
        header, body = _split(_fixture(SENT))
        start, end = body.index(b"<CdtTrfTxInf>"), body.index(b"</CdtTrfTxInf>") + 14
        doubled = body[:end] + body[start:end] + body[end:]

        assert _problems(header.encode() + b"\r\n" + doubled) == [
            ("/Document/FIToFICstmrCdtTrf/GrpHdr/NbOfTxs", "says 1 but there are 2 transactions"),
            (
                "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf",
                "an hvps.111 carries exactly one transaction",
            ),
        ]

    def test_another_pacs008_version_is_refused(self):
        raw = _fixture(SENT).replace(b"pacs.008.001.02", b"pacs.008.001.08")

        assert _problems(raw) == [
            (
                "/Document",
                "namespace 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08' is not "
                "'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02'",
            )
        ]

    def test_a_zero_amount_is_refused(self):
        raw = _fixture(SENT).replace(b">1280000.00<", b">0.00<")

        assert _problems(raw) == [(f"{TX}/IntrBkSttlmAmt", "must be positive")]

    @pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
    def test_entity_tricks_are_refused(self, name):
        assert _problems((FIXTURES / name).read_bytes()) == [
            ("", "DOCTYPE and entity declarations are refused (XXE / entity expansion)")
        ]

    def test_a_naive_receive_time_is_refused(self):
        with pytest.raises(MappingError) as caught:
            cnaps_hvps111_to_canonical(_fixture(SENT), received_at=datetime(2026, 11, 20))

        assert [p.path for p in caught.value.problems] == ["received_at"]


def _outcome(raw: object) -> str:
    try:
        _read(raw)  # type: ignore[arg-type]
    except MappingError as exc:
        crashed = [p for p in exc.problems if p.reason.startswith("unexpected ")]
        return f"crashed: {crashed}" if crashed else "refused"
    return "mapped"


class TestFuzzing:
    @pytest.mark.parametrize("name", NAMES)
    def test_truncated_frames_only_raise_mapping_error(self, name):
        raw = _fixture(name)
        for cut in range(0, len(raw), 23):
            assert _outcome(raw[:cut]) in ("refused", "mapped"), cut

    @pytest.mark.parametrize("name", [SENT, SIGNED])
    def test_random_byte_flips_only_raise_mapping_error(self, name):
        rng = random.Random(111)
        raw = _fixture(name)
        for _ in range(250):
            mutated = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            assert _outcome(bytes(mutated)) in ("refused", "mapped")

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "1e999",
            "9" * 40,
            "NaN",
            "-0.00",
            "0x10",
            "1,28,0000.00",
            "<x/>",
            "true",
            "１２.３４５",
        ],
    )
    def test_odd_amounts_are_refused_or_read_never_crash(self, value):
        raw = _fixture(SENT).replace(b">1280000.00<", b">" + value.encode() + b"<")
        assert _outcome(raw) in ("refused", "mapped")

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            (b"<MsgId>2026112000000101</MsgId>", b"<MsgId><x>1</x></MsgId>"),
            (b"<CreDtTm>2026-11-20T10:00:05</CreDtTm>", b"<CreDtTm>1732068005</CreDtTm>"),
            (b"<IntrBkSttlmDt>2026-11-20</IntrBkSttlmDt>", b"<IntrBkSttlmDt>42</IntrBkSttlmDt>"),
            (b"<GrpHdr>", b"<GrpHdr><GrpHdr/>"),
            (b"<CdtrAcct>", b"<CdtrAcct><Id/>"),
            (b"{H:02", b"{S:02"),
            (b"}\r\n<?xml", b"\r\n<?xml"),
        ],
    )
    def test_type_swapped_and_misplaced_values_only_raise_mapping_error(self, old, new):
        raw = _fixture(SENT)
        assert old in raw
        assert _outcome(raw.replace(old, new, 1)) in ("refused", "mapped")

    @pytest.mark.parametrize(
        "raw",
        [None, "text", 42, b"", b"{H:", b"{H:02}", b"\xff\xfe\x00", "<a/>".encode("utf-16")],
    )
    def test_wrong_arguments_and_encodings_raise_mapping_error(self, raw):
        assert _outcome(raw) == "refused"


class TestRecognition:
    @pytest.mark.parametrize("name", NAMES)
    def test_hvps111_fixtures_are_recognised(self, name):
        assert recognise_cnaps_hvps111(_fixture(name))

    def test_other_families_are_not_recognised(self):
        others = [
            p for p in [*FIXTURES.rglob("*.*")] if p.is_file() and not p.name.startswith("cnaps_")
        ]
        assert len(others) > 50
        assert not [p.name for p in others if recognise_cnaps_hvps111(p.read_bytes())]

    def test_no_other_format_claims_an_hvps111(self):
        claimed = [
            (name, f.name)
            for name in NAMES
            for f in INBOUND_FORMATS.values()
            if f.name != "cnaps-hvps111" and f.recognise(_fixture(name))
        ]
        assert claimed == []

    def test_another_pacs008_version_and_odd_input_are_not_recognised(self):
        body = _split(_fixture(SENT))[1]
        assert recognise_cnaps_hvps111(body)
        assert not recognise_cnaps_hvps111(body.replace(b"pacs.008.001.02", b"pacs.008.001.08"))
        assert not recognise_cnaps_hvps111(_fixture(SENT).replace(b"hvps.111", b"hvps.112"))
        assert not any(recognise_cnaps_hvps111(x) for x in (None, "text", b"", b"{H:"))  # type: ignore[arg-type]

    def test_the_catalogue_records_describe_the_format(self):
        (inbound,) = INBOUND
        (outbound,) = OUTBOUND
        assert (inbound.name, inbound.family, outbound.name) == (
            "cnaps-hvps111",
            "bank",
            "cnaps-hvps111",
        )
        assert inbound.read(_fixture(SENT), RECEIVED_AT) == _read(_fixture(SENT))
        assert outbound.model is CnapsTransfer
        transfer = CnapsTransfer.model_validate_json(
            CnapsTransfer(instruction=_instruction()).model_dump_json()
        )
        assert outbound.write(transfer) == canonical_to_cnaps_hvps111(transfer)


class TestWriting:
    def test_the_body_validates_against_pacs008_with_an_independent_validator(self):
        _, body = _split(canonical_to_cnaps_hvps111(CnapsTransfer(instruction=_instruction())))

        xmlschema.XMLSchema(str(XSD)).validate(body.decode())
        validate_cnaps_body(body)

    def test_the_header_is_130_fixed_width_characters_then_crlf(self):
        frame = canonical_to_cnaps_hvps111(
            CnapsTransfer(instruction=_instruction(), priority=CnapsPriority.URGENT)
        )
        header, body = _split(frame)

        assert len(header) == 130
        assert header == (
            "{H:02308584000013  HVPS102305002018  HVPS20261120100005XMLhvps.111.001.01     "
            "2026112000000101    2026112000000101    1U         }"
        )
        assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")

    def test_the_body_has_the_structure_of_section_1_5(self):
        _, body = _split(canonical_to_cnaps_hvps111(CnapsTransfer(instruction=_instruction())))
        root = etree.fromstring(body)

        def texts(xpath: str) -> list[str]:
            return [
                str(v)
                for v in root.xpath(f"/p:Document/p:FIToFICstmrCdtTrf/{xpath}", namespaces=NS)
            ]

        assert texts("p:GrpHdr/p:MsgId/text()") == ["2026112000000101"]
        assert texts("p:GrpHdr/p:CreDtTm/text()") == ["2026-11-20T10:00:05"]  # China, no zone
        assert texts("p:GrpHdr/p:NbOfTxs/text()") == ["1"]
        assert texts("p:GrpHdr/p:SttlmInf/p:SttlmMtd/text()") == ["CLRG"]
        tx = "p:CdtTrfTxInf"
        assert texts(f"{tx}/p:PmtId/*/text()") == ["DSB-2026-000101", "2026112000000101"]
        assert texts(f"{tx}/p:PmtTpInf/p:CtgyPurp/p:Prtry/text()") == ["A100"]
        assert texts(f"{tx}/p:IntrBkSttlmAmt/text()") == ["1280000.00"]
        assert texts(f"{tx}/p:IntrBkSttlmAmt/@Ccy") == ["CNY"]
        assert texts(f"{tx}/p:IntrBkSttlmDt/text()") == ["2026-11-20"]
        assert texts(f"{tx}/p:SttlmPrty/text()") == ["NORM"]
        assert texts(f"{tx}/p:ChrgBr/text()") == ["DEBT"]
        assert texts(f"{tx}/p:InstgAgt//text()[normalize-space()]") == ["308584000013"] * 2
        assert texts(f"{tx}/p:InstdAgt//text()[normalize-space()]") == ["102305002018"] * 2
        assert texts(f"{tx}/p:Dbtr/p:Nm/text()") == ["深圳示例商业保理有限公司"]
        assert texts(f"{tx}/p:DbtrAcct/p:Id/p:Othr/*/text()") == [
            "755912345610801",
            "308584000013",
        ]
        assert texts(f"{tx}/p:DbtrAgt/p:FinInstnId/*//text()") == [
            "308584000013",
            "招商银行深圳分行营业部",
        ]
        assert texts(f"{tx}/p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId/text()") == [
            "102305002018"
        ]
        assert texts(f"{tx}/p:Cdtr/p:Nm/text()") == ["苏州示例新材料有限公司"]
        assert texts(f"{tx}/p:CdtrAcct/p:Id/p:Othr/p:Id/text()") == ["1102020309000123456"]
        assert texts(f"{tx}/p:Purp/p:Prtry/text()") == ["02102"]
        assert texts(f"{tx}/p:RmtInf/p:Ustrd/text()") == ["/H01/保理融资放款 FR-2026-0101"]
        assert not root.xpath("//p:BIC", namespaces=NS)  # Chinese addressing: 行号 only

    def test_overrides_replace_the_defaults(self):
        transfer = CnapsTransfer(
            instruction=_instruction(remittance=""),
            message_id="2026112000009999",
            created_at=datetime(2026, 11, 21, 8, 0, tzinfo=CHINA),
            communication_id="HVPU-0001",
            sender_bank="308584000001",
            receiver_bank="102100099996",
            business_type="A200",
            business_kind="",
            priority=CnapsPriority.HIGH,
        )

        read = _read(canonical_to_cnaps_hvps111(transfer))
        assert read.header is not None
        assert (read.header.sender, read.header.receiver, read.header.communication_id) == (
            "308584000001",
            "102100099996",
            "HVPU-0001",
        )
        assert (read.message_id, read.created_at, read.business_type, read.business_kind) == (
            "2026112000009999",
            datetime(2026, 11, 21, 8, 0, tzinfo=CHINA),
            "A200",
            "",
        )
        assert (read.instructing_clearing_bank, read.instructing_bank) == (
            "308584000001",
            "308584000013",
        )
        assert (read.priority, read.header.priority, read.remittance) == (
            CnapsPriority.HIGH,
            CnapsPriority.HIGH,
            (),
        )

    def test_a_message_id_too_long_for_the_header_gets_a_stable_communication_id(self):
        transfer = CnapsTransfer(instruction=_instruction(message_id="FH-20261120-0001-保理"))

        first = _read(canonical_to_cnaps_hvps111(transfer)).header
        again = _read(canonical_to_cnaps_hvps111(transfer)).header
        assert first is not None
        assert again is not None
        assert first.communication_id == again.communication_id
        assert len(first.communication_id) == 20
        assert first.communication_id.isalnum()

    def test_every_problem_of_a_transfer_is_listed_before_anything_is_written(self):
        transfer = CnapsTransfer(
            instruction=_instruction(
                amount=Money.of("100.005", "USD"),
                creditor_account=SELLER_ACCOUNT.model_copy(
                    update={"cnaps_code": "", "name": "长" * 61, "number": "1" * 33}
                ),
                remittance="附" * 136,
            ),
            message_id="M" * 36,
            created_at=datetime(2026, 11, 20, 10, 0),
            communication_id="HVPU 0001",
            sender_bank="30858400001",
            business_type="a100",
            business_kind="021",
        )

        assert _write_problems(transfer) == [
            ("message_id", "must be 1 to 35 characters"),
            ("created_at", "must be a timezone-aware datetime"),
            (
                "communication_id",
                "must be 1 to 20 printable ASCII characters without spaces or braces (the "
                "header field is fixed-width)",
            ),
            ("sender_bank", "a 12-digit CNAPS 行号 is required"),
            ("receiver_bank", "a 12-digit CNAPS 行号 is required"),
            ("business_type", "must be a CNAPS 业务类型编码 such as A100"),
            ("business_kind", "must be a five-digit 业务种类编码 (or empty)"),
            ("instruction.amount.currency", "must be CNY: HVPS settles renminbi only"),
            (
                "instruction.amount.amount",
                "has more than 2 decimals: a payment is never rounded here",
            ),
            ("instruction.creditor_account.cnaps_code", "a 12-digit CNAPS 行号 is required"),
            ("instruction.creditor_account.number", "is longer than 32 characters"),
            ("instruction.creditor_account.name", "is longer than 60 characters"),
            ("instruction.remittance", "is longer than 135 characters"),
        ]

    @pytest.mark.parametrize(
        ("amount", "reason"),
        [
            ("0", "must be positive"),
            ("-1.00", "must be positive"),
            ("1000000000000000", "must be below 10^15 yuan"),
        ],
    )
    def test_amounts_outside_cnaps_limits_are_refused(self, amount, reason):
        transfer = CnapsTransfer(instruction=_instruction(amount=Money.of(amount)))

        assert _write_problems(transfer) == [("instruction.amount.amount", reason)]

    def test_text_xml_cannot_carry_is_refused(self):
        transfer = CnapsTransfer(instruction=_instruction(remittance="放款\x01"))

        assert _write_problems(transfer) == [
            ("instruction.remittance", "contains characters XML cannot carry")
        ]


# --- round trip -------------------------------------------------------------------------------

_NAME = (
    st.text(
        alphabet="ABCXYZ abc()（）·-0123456789保理商业苏州深圳示例有限公司", min_size=1, max_size=60
    )
    .map(str.strip)
    .filter(bool)
)
_BANK = st.from_regex(r"[0-9]{12}", fullmatch=True)
_ACCOUNT = st.builds(
    BankAccount,
    number=st.from_regex(r"[0-9A-Za-z-]{1,32}", fullmatch=True),
    name=_NAME,
    bank_name=st.one_of(st.just(""), _NAME),
    cnaps_code=_BANK,
)
_MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 1, 1),
    timezones=st.sampled_from([CHINA, UTC, timezone(timedelta(hours=-5))]),
).map(lambda moment: moment.replace(microsecond=0))
_INSTRUCTION = st.builds(
    DisbursementInstruction,
    id=st.from_regex(r"[A-Za-z0-9-]{1,35}", fullmatch=True),
    request_id=st.just("FR-1"),
    message_id=st.from_regex(r"[0-9A-Za-z-]{1,35}", fullmatch=True),
    amount=st.integers(min_value=1, max_value=10**17 - 1).map(
        lambda fen: Money(amount=Decimal(fen).scaleb(-2))
    ),
    debtor=st.just(FACTOR),
    debtor_account=_ACCOUNT,
    creditor=st.just(SELLER),
    creditor_account=_ACCOUNT,
    execution_date=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    remittance=st.one_of(st.just(""), _NAME.map(lambda s: s[:135])),
    created_at=_MOMENT,
)
_TRANSFER = st.builds(
    CnapsTransfer,
    instruction=_INSTRUCTION,
    message_id=st.one_of(st.none(), st.from_regex(r"[0-9]{16}", fullmatch=True)),
    created_at=st.one_of(st.none(), _MOMENT),
    communication_id=st.one_of(st.none(), st.from_regex(r"[!-z|~]{1,20}", fullmatch=True)),
    sender_bank=st.one_of(st.none(), _BANK),
    receiver_bank=st.one_of(st.none(), _BANK),
    business_type=st.from_regex(r"[A-F][0-9]{3}", fullmatch=True),
    business_kind=st.one_of(st.just(""), st.from_regex(r"[0-9]{5}", fullmatch=True)),
    priority=st.sampled_from(CnapsPriority),
)


def _sent(transfer: CnapsTransfer) -> dict[str, object]:
    """The transfer facts an hvps.111 carries, from the writer's input."""
    i = transfer.instruction
    debtor, creditor = i.debtor_account, i.creditor_account
    return {
        "message_id": transfer.message_id or i.message_id,
        "created_at": transfer.created_at or i.created_at,
        "end_to_end_id": i.id,
        "business_type": transfer.business_type,
        "business_kind": transfer.business_kind,
        "amount": i.amount,
        "settlement_date": i.execution_date,
        "priority": transfer.priority,
        "clearing_banks": (
            transfer.sender_bank or debtor.cnaps_code,
            transfer.receiver_bank or creditor.cnaps_code,
        ),
        "debtor": Counterparty(
            name=debtor.name,
            account_number=debtor.number,
            bank_code=debtor.cnaps_code,
            bank_name=debtor.bank_name,
        ),
        "creditor": Counterparty(
            name=creditor.name,
            account_number=creditor.number,
            bank_code=creditor.cnaps_code,
            bank_name=creditor.bank_name,
        ),
        "note": i.remittance.strip(),
    }


def _received(message: CnapsCreditTransfer) -> dict[str, object]:
    assert message.header is not None
    assert (message.header.sender, message.header.receiver) == (
        message.instructing_clearing_bank,
        message.instructed_clearing_bank,
    )
    assert message.header.priority == message.priority
    return {
        "message_id": message.message_id,
        "created_at": message.created_at,
        "end_to_end_id": message.end_to_end_id,
        "business_type": message.business_type,
        "business_kind": message.business_kind,
        "amount": message.amount,
        "settlement_date": message.settlement_date,
        "priority": message.priority,
        "clearing_banks": (message.instructing_clearing_bank, message.instructed_clearing_bank),
        "debtor": message.debtor,
        "creditor": message.creditor,
        "note": message.note,
    }


class TestRoundTrip:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_TRANSFER)
    def test_writing_then_reading_gives_back_the_same_transfer_facts(self, transfer):
        frame = canonical_to_cnaps_hvps111(transfer)  # body XSD-checked inside

        assert _received(_read(frame)) == _sent(transfer)

    def test_a_fixture_survives_reading_writing_and_reading(self):
        first = _read(_fixture(SENT))
        transfer = CnapsTransfer(
            instruction=_instruction(
                id=first.end_to_end_id,
                message_id=first.message_id,
                amount=first.amount,
                creditor_account=SELLER_ACCOUNT,
                remittance=first.note,
            ),
            created_at=first.created_at,
            receiver_bank=first.instructed_clearing_bank,
            priority=CnapsPriority.HIGH,
            communication_id="HVPU2026112000000101",
        )

        again = _read(canonical_to_cnaps_hvps111(transfer))
        assert _without_provenance(again) == _without_provenance(first)
