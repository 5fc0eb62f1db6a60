"""Bank-core SOAP 1.1 payments (the simulator's WSDL): the request envelopes out, the response
or Fault in."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
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
    INBOUND,
    OUTBOUND,
    SOAP11_NAMESPACE,
    BankCoreFault,
    BankCoreResponse,
    BankSoapDisbursement,
    BankSoapStatusQuery,
    bank_soap_response_to_canonical,
    canonical_to_bank_soap,
    canonical_to_bank_soap_status_query,
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
NS = {"s": SOAP11_NAMESPACE, "bc": BANK_CORE_NAMESPACE}

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
    credit_line_id="CL2026000007",
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
    def test_the_envelope_is_document_literal_wrapped_with_the_sys_head(self):
        root = etree.fromstring(canonical_to_bank_soap(REQUEST))

        assert root.tag == f"{{{SOAP11_NAMESPACE}}}Envelope"
        (body_child,) = root.find("s:Body", NS)
        assert body_child.tag == f"{{{BANK_CORE_NAMESPACE}}}SubmitPayment"
        head = {etree.QName(e).localname: e.text for e in root.find("s:Header/bc:SysHead", NS)}
        assert head == {
            "ConsumerId": "FHUB01",
            "ConsumerSeqNo": "DSB-2026-000101",
            "TranTimestamp": "2026-11-20T10:40:11.250+08:00",
        }

    def test_the_wrapper_is_the_wsdls_ordered_parameter_sequence(self):
        wrapper = etree.fromstring(canonical_to_bank_soap(REQUEST)).find(
            "s:Body/bc:SubmitPayment", NS
        )

        assert [(etree.QName(e).localname, e.text) for e in wrapper] == [
            ("InstructionId", "DSB-2026-000101"),
            ("DebtorAccount", "755912345610801"),
            ("CreditorAccount", "1102020309000123456"),
            ("CreditorName", "苏州示例新材料有限公司"),
            ("CreditorAgent", "102305002018"),
            ("Amount", "120000.50"),
            ("Currency", "CNY"),
            ("CreditLineId", "CL2026000007"),
            ("Remittance", "保理融资放款 FR-2026-0101"),
        ]

    def test_the_status_query_asks_for_one_instruction_id(self):
        query = BankSoapStatusQuery(
            instruction_id="DSB-2026-000101", consumer_id="FHUB01", sent_at=REQUEST.sent_at
        )
        root = etree.fromstring(canonical_to_bank_soap_status_query(query))

        (wrapper,) = root.find("s:Body", NS)
        assert wrapper.tag == f"{{{BANK_CORE_NAMESPACE}}}QueryPaymentStatus"
        assert [(etree.QName(e).localname, e.text) for e in wrapper] == [
            ("InstructionId", "DSB-2026-000101")
        ]
        assert root.findtext("s:Header/bc:SysHead/bc:ConsumerSeqNo", namespaces=NS) == (
            "DSB-2026-000101"
        )

    def test_a_retry_keeps_the_serial_so_the_core_answers_once(self):
        later = REQUEST.model_copy(update={"sent_at": datetime(2026, 11, 20, 11, 0, tzinfo=CHINA)})
        serials = [
            etree.fromstring(canonical_to_bank_soap(r)).findtext(
                "s:Header/bc:SysHead/bc:ConsumerSeqNo", namespaces=NS
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
            ("instruction.amount", "has more than 2 decimals: a payment is never rounded here"),
            ("instruction.Remittance", "contains characters XML cannot carry"),
            ("sent_at", "must be a timezone-aware datetime"),
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

    def test_a_server_fault_is_transient_and_a_client_fault_permanent_but_not_found(self):
        server = _reply((PAYMENTS / "bank_soap_fault_server.xml").read_bytes())
        client = _reply((PAYMENTS / "bank_soap_fault_client_bom.xml").read_bytes())

        assert isinstance(server.answer, BankCoreFault)
        assert isinstance(client.answer, BankCoreFault)
        assert (server.answer.transient, client.answer.transient) == (True, False)
        assert (server.result, client.result) == (None, None)
        assert (server.answer.never_received, client.answer.never_received) == (False, True)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            ("ACSC", PaymentStatus.SETTLED),
            ("ACSP", PaymentStatus.PENDING),  # not in the WSDL, read as ISO all the same
            ("RJCT", PaymentStatus.REJECTED),
        ],
    )
    def test_the_iso_transaction_status_decides_the_result(self, status, expected):
        raw = (
            (PAYMENTS / "bank_soap_response_accepted.xml")
            .read_bytes()
            .replace(b"ACSC", status.encode())
        )

        result = _reply(raw).result
        assert result is not None
        assert (result.status, result.bank_code) == (expected, status)

    def test_every_problem_of_a_response_is_listed(self):
        raw = (
            (PAYMENTS / "bank_soap_response_accepted.xml")
            .read_bytes()
            .replace(b"<tns:InstructionId>DSB-2026-000101</tns:InstructionId>", b"")
            .replace(b"ACSC", b"AC5C")
            .replace(b"120000.50", b"12O000.50")
            .replace(b">false<", b">maybe<")
        )

        path = "/Envelope/Body/SubmitPaymentResponse/Payment"
        assert [p for p, _ in _problems(raw)] == [
            f"{path}/Status",
            f"{path}/Amount",
            f"{path}/Duplicate",
            f"{path}/InstructionId",
        ]

    def test_a_soap12_envelope_or_an_empty_body_is_refused(self):
        raw = (
            (PAYMENTS / "bank_soap_fault_client_bom.xml")
            .read_bytes()
            .replace(SOAP11_NAMESPACE.encode(), b"http://www.w3.org/2003/05/soap-envelope")
        )
        empty = b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'

        assert [p for p, _ in _problems(raw)] == ["/Envelope"]
        assert _problems(empty) == [
            (
                "/Envelope/Body",
                "must hold a SubmitPaymentResponse, a QueryPaymentStatusResponse or a Fault",
            )
        ]

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


_MONEY = st.builds(
    Money.of,
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999.99"), places=2).map(str),
)


class TestRoundTrip:
    @settings(max_examples=80, deadline=None)
    @given(
        st.one_of(
            st.builds(
                BankCoreResponse,
                operation=st.sampled_from(["SubmitPayment", "QueryPaymentStatus"]),
                instruction_id=_TEXT,
                status=st.sampled_from(["ACSC", "RJCT", "ACSP"]),
                reason_code=_OPTIONAL,
                reason_text=_OPTIONAL,
                bank_reference=_TEXT,
                amount=_MONEY,
                accepted_at=st.one_of(st.none(), st.just(RECEIVED_AT)),
                duplicate=st.sampled_from([None, True, False]),
            ),
            st.builds(
                BankCoreFault,
                code=st.sampled_from(["Server", "Client", "Server.Busy", "VersionMismatch"]),
                message=_OPTIONAL,
                actor=_OPTIONAL,
                detail_code=_OPTIONAL,
                detail_message=_OPTIONAL,
                detail_field=_OPTIONAL,
            ),
        )
    )
    def test_a_response_written_then_read_is_the_same_response(self, answer):
        assert read_bank_soap_response(write_bank_soap_response(answer)) == answer
