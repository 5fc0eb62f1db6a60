"""Bank-core SOAP 1.1 disbursement: the request envelope out, the response or Fault in."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic_core import to_jsonable_python

from canonical import (
    BankAccount,
    DisbursementInstruction,
    MappingError,
    Money,
    Party,
    PartyRole,
    PaymentStatus,
)
from mappings.bank_soap import (
    BANK_CORE_NAMESPACE,
    ESB_NAMESPACE,
    INBOUND,
    OUTBOUND,
    SOAP11_NAMESPACE,
    BankCoreFault,
    BankCoreResponse,
    BankSoapDisbursement,
    bank_soap_response_to_canonical,
    canonical_to_bank_soap,
    read_bank_soap_response,
    recognise_bank_soap_response,
    write_bank_soap_response,
)

CHINA = timezone(timedelta(hours=8))
RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA)
FIXTURES = Path(__file__).parent / "fixtures"
PAYMENTS = FIXTURES / "payments"
RESPONSES = [
    "bank_soap_response_accepted",
    "bank_soap_response_refused_gbk",
    "bank_soap_fault_server",
    "bank_soap_fault_client_bom",
]
NS = {"s": SOAP11_NAMESPACE, "bc": BANK_CORE_NAMESPACE, "esb": ESB_NAMESPACE}

FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
INSTRUCTION = DisbursementInstruction(
    id="DSB-2026-000101",
    request_id="FR-2026-0101",
    message_id="FH20261120-0001",
    amount=Money.of("120000.5"),
    debtor=FACTOR,
    debtor_account=BankAccount(
        number="755912345610801",
        name=FACTOR.name,
        bank_name="招商银行深圳分行营业部",
        cnaps_code="308584000013",
    ),
    creditor=SELLER,
    creditor_account=BankAccount(
        number="1102020309000123456", name=SELLER.name, cnaps_code="102305002018"
    ),
    execution_date=date(2026, 11, 20),
    remittance="保理融资放款 FR-2026-0101",
    created_at=datetime(2026, 11, 20, 10, 40, 10, tzinfo=CHINA),
)
REQUEST = BankSoapDisbursement(
    instruction=INSTRUCTION,
    consumer_id="FHUB01",
    sent_at=datetime(2026, 11, 20, 2, 40, 11, 250000, tzinfo=UTC),
)


def _reply(raw: bytes):
    return bank_soap_response_to_canonical(raw, received_at=RECEIVED_AT)


def _problems(raw: bytes) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        _reply(raw)
    return [(p.path, p.reason) for p in caught.value.problems]


def _crashes(call) -> list[str]:
    """The reasons of "unexpected" problems: what guarded() caught from a bug in the mapper."""
    try:
        call()
    except MappingError as exc:
        return [p.reason for p in exc.problems if p.reason.startswith("unexpected")]
    return []


class TestRequest:
    def test_the_envelope_is_document_literal_wrapped_with_the_esb_head(self):
        root = etree.fromstring(canonical_to_bank_soap(REQUEST))

        assert root.tag == f"{{{SOAP11_NAMESPACE}}}Envelope"
        (body_child,) = root.find("s:Body", NS)
        assert body_child.tag == f"{{{BANK_CORE_NAMESPACE}}}Disburse"
        head = {etree.QName(e).localname: e.text for e in root.find("s:Header/esb:SysHead", NS)}
        assert head == {
            "ServiceCode": "DISBURSE",
            "ServiceScene": "01",
            "ConsumerId": "FHUB01",
            "ConsumerSeqNo": "DSB-2026-000101",
            "TranDate": "20261120",
            "TranTimestamp": "2026-11-20T10:40:11.250+08:00",
        }

    def test_the_wrapper_is_the_ordered_parameter_sequence(self):
        wrapper = etree.fromstring(canonical_to_bank_soap(REQUEST)).find("s:Body/bc:Disburse", NS)

        assert [(etree.QName(e).localname, e.text) for e in wrapper] == [
            ("BizRefNo", "DSB-2026-000101"),
            ("RequestId", "FR-2026-0101"),
            ("MessageId", "FH20261120-0001"),
            ("Amount", "120000.50"),
            ("Currency", "CNY"),
            ("PayerName", "深圳示例商业保理有限公司"),
            ("PayerUscc", "91330106569821743D"),
            ("PayerAccount", "755912345610801"),
            ("PayerAccountName", "深圳示例商业保理有限公司"),
            ("PayerBankCode", "308584000013"),
            ("PayerBankName", "招商银行深圳分行营业部"),
            ("PayeeName", "苏州示例新材料有限公司"),
            ("PayeeUscc", "91320594794160355G"),
            ("PayeeAccount", "1102020309000123456"),
            ("PayeeAccountName", "苏州示例新材料有限公司"),
            ("PayeeBankCode", "102305002018"),
            ("ExecutionDate", "2026-11-20"),
            ("Remittance", "保理融资放款 FR-2026-0101"),
        ]

    def test_a_retry_keeps_the_serial_so_the_core_answers_once(self):
        later = REQUEST.model_copy(update={"sent_at": datetime(2026, 11, 20, 11, 0, tzinfo=CHINA)})
        serials = [
            etree.fromstring(canonical_to_bank_soap(r)).findtext(
                "s:Header/esb:SysHead/esb:ConsumerSeqNo", namespaces=NS
            )
            for r in (REQUEST, later)
        ]

        assert serials == ["DSB-2026-000101", "DSB-2026-000101"]

    def test_what_the_core_would_refuse_is_listed_together(self):
        instruction = INSTRUCTION.model_copy(
            update={"amount": Money.of("1.001"), "remittance": "放款\x07"}
        )
        request = REQUEST.model_copy(
            update={"instruction": instruction, "sent_at": datetime(2026, 11, 20)}
        )

        with pytest.raises(MappingError) as caught:
            canonical_to_bank_soap(request)
        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("sent_at", "must be a timezone-aware datetime"),
            ("instruction.amount", "has more than 2 decimals: a payment is never rounded here"),
            ("instruction.Remittance", "contains characters XML cannot carry"),
        ]

    def test_the_render_model_reads_its_own_json(self):
        (outbound,) = OUTBOUND
        assert (outbound.name, outbound.model) == ("bank-soap-disbursement", BankSoapDisbursement)
        assert outbound.model.model_validate_json(REQUEST.model_dump_json()) == REQUEST


class TestResponse:
    @pytest.mark.parametrize("name", RESPONSES)
    def test_each_response_maps_to_its_reviewed_canonical_json(self, name):
        reply = _reply((PAYMENTS / f"{name}.xml").read_bytes())

        expected = json.loads((PAYMENTS / f"{name}.expected.json").read_text(encoding="utf-8"))
        assert to_jsonable_python(reply) == expected

    def test_a_server_fault_is_transient_and_a_client_fault_permanent(self):
        server = _reply((PAYMENTS / "bank_soap_fault_server.xml").read_bytes())
        client = _reply((PAYMENTS / "bank_soap_fault_client_bom.xml").read_bytes())

        assert isinstance(server.answer, BankCoreFault)
        assert isinstance(client.answer, BankCoreFault)
        assert (server.answer.transient, client.answer.transient) == (True, False)
        assert (server.result, client.result) == (None, None)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("ACSC", PaymentStatus.SETTLED),
            ("ACSP", PaymentStatus.PENDING),
            ("RJCT", PaymentStatus.REJECTED),
        ],
    )
    def test_the_iso_transaction_status_decides_the_result(self, status, expected):
        raw = (
            (PAYMENTS / "bank_soap_response_accepted.xml")
            .read_bytes()
            .replace(b"ACSP", status.encode())
        )

        result = _reply(raw).result
        assert result is not None
        assert (result.status, result.bank_code) == (expected, status)

    def test_every_problem_of_a_response_is_listed(self):
        raw = (
            (PAYMENTS / "bank_soap_response_accepted.xml")
            .read_bytes()
            .replace(b"<bc:RetStatus>S</bc:RetStatus>", b"<bc:RetStatus>OK</bc:RetStatus>")
            .replace(b"<bc:BizRefNo>DSB-2026-000101</bc:BizRefNo>", b"")
            .replace(b"ACSP", b"AC5P")
        )

        path = "/Envelope/Body/DisburseResponse"
        assert _problems(raw) == [
            (f"{path}/RetStatus", "must be S or F"),
            (f"{path}/TxStatus", "must be a four-letter ISO status code"),
            (f"{path}/BizRefNo", "is required"),
        ]

    def test_a_soap12_envelope_or_an_empty_body_is_refused(self):
        raw = (
            (PAYMENTS / "bank_soap_fault_client_bom.xml")
            .read_bytes()
            .replace(SOAP11_NAMESPACE.encode(), b"http://www.w3.org/2003/05/soap-envelope")
        )
        empty = b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'

        assert [p for p, _ in _problems(raw)] == ["/Envelope"]
        assert _problems(empty) == [("/Envelope/Body", "must hold a DisburseResponse or a Fault")]

    @pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe.xml"])
    def test_entity_tricks_are_refused(self, name):
        assert _problems((FIXTURES / name).read_bytes()) == [
            ("", "DOCTYPE and entity declarations are refused (XXE / entity expansion)")
        ]


class TestFuzzing:
    @pytest.mark.parametrize("name", RESPONSES)
    def test_truncated_and_flipped_responses_only_raise_mapping_error(self, name):
        raw = (PAYMENTS / f"{name}.xml").read_bytes()
        rng = random.Random(name)
        variants = [raw[:cut] for cut in range(0, len(raw), 13)]
        for _ in range(150):
            mutated = bytearray(raw)
            for _ in range(rng.randint(1, 3)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            variants.append(bytes(mutated))
        variants += [None, "text", b"", raw.decode("utf-8", "replace").encode("utf-16")]
        for variant in variants:
            assert _crashes(lambda v=variant: _reply(v)) == []


class TestRecognition:
    def test_responses_are_recognised_and_nothing_else_is(self):
        others = [
            p
            for p in [*FIXTURES.glob("*.*"), *PAYMENTS.glob("*")]
            if p.is_file() and not p.name.startswith("bank_soap")
        ]

        assert all(
            recognise_bank_soap_response((PAYMENTS / f"{n}.xml").read_bytes()) for n in RESPONSES
        )
        assert not [p.name for p in others if recognise_bank_soap_response(p.read_bytes())]
        assert not recognise_bank_soap_response(canonical_to_bank_soap(REQUEST))

    def test_the_catalogue_record_describes_the_format(self):
        (inbound,) = INBOUND
        raw = (PAYMENTS / "bank_soap_fault_server.xml").read_bytes()
        assert (inbound.name, inbound.family) == ("bank-soap-response", "bank")
        assert inbound.read(raw, RECEIVED_AT) == _reply(raw)


_TEXT = (
    st.text(alphabet="ABCXYZ0123456789-_核心交易成功超时", min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
_OPTIONAL = st.one_of(st.just(""), _TEXT)


class TestRoundTrip:
    @settings(max_examples=80, deadline=None)
    @given(
        st.one_of(
            st.builds(
                BankCoreResponse,
                ret_status=st.sampled_from(["S", "F"]),
                ret_code=_OPTIONAL,
                ret_msg=_OPTIONAL,
                biz_ref_no=_TEXT,
                core_seq_no=_OPTIONAL,
                tx_status=st.sampled_from(["", "ACSP", "ACSC", "RJCT"]),
                esb_seq_no=_OPTIONAL,
            ),
            st.builds(
                BankCoreFault,
                code=st.sampled_from(["Server", "Client", "Server.Busy", "Client.Auth"]),
                message=_OPTIONAL,
                actor=_OPTIONAL,
                detail_code=_OPTIONAL,
                detail_message=_OPTIONAL,
            ),
        )
    )
    def test_a_response_written_then_read_is_the_same_response(self, answer):
        assert read_bank_soap_response(write_bank_soap_response(answer)) == answer
