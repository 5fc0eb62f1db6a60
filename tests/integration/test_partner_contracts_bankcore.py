"""The hub's bank-core SOAP mapper (mappings.bank_soap) and the bank-core simulator, written
separately from the same reference (formats-outbound §1.7): the envelopes the hub writes are
accepted by the simulator's WSDL, and its answers and faults read back as what happened."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from lxml import etree

from canonical import BankAccount, DisbursementInstruction, Money, Party, PartyRole, PaymentStatus
from mappings.bank_soap import (
    BANK_CORE_NAMESPACE,
    BankCoreFault,
    BankCoreReply,
    BankCoreResponse,
    BankSoapDisbursement,
    BankSoapStatusQuery,
    bank_soap_response_to_canonical,
    canonical_to_bank_soap,
    canonical_to_bank_soap_status_query,
)
from mappings.formats import recognise
from simulators import bankcore
from tests.simulators.conftest import asgi_client

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=CST)
FACTOR = Party(name="深圳示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR)
SELLER = Party(name="苏州示例新材料有限公司", uscc="91320594794160355G", role=PartyRole.SELLER)
FACTOR_ACCOUNT = BankAccount(number="755912345610801", name=FACTOR.name, cnaps_code="308584000013")
SELLER_ACCOUNT = BankAccount(
    number="1102020309000123456", name=SELLER.name, cnaps_code="102305002018"
)
SOAP = {"content-type": "text/xml; charset=utf-8"}


@pytest.fixture
async def core() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(bankcore.create_app(seed=1, clock=lambda: NOW)) as c:
        yield c


def _instruction(number: int = 1, amount: str = "361600.00") -> DisbursementInstruction:
    return DisbursementInstruction(
        id=f"DSB-2026-{number:06d}",
        request_id=f"FR-2026-{number:04d}",
        message_id="FH20261128-0001",
        amount=Money.of(amount),
        debtor=FACTOR,
        debtor_account=FACTOR_ACCOUNT,
        creditor=SELLER,
        creditor_account=SELLER_ACCOUNT,
        execution_date=date(2026, 11, 28),
        remittance=f"保理融资放款 FR-2026-{number:04d}",
        created_at=NOW,
    )


async def _submit(
    core: httpx.AsyncClient, instruction: DisbursementInstruction, line: str = ""
) -> tuple[int, BankCoreReply]:
    request = BankSoapDisbursement(
        instruction=instruction, consumer_id="FHUB01", sent_at=NOW, credit_line_id=line
    )
    answer = await core.post("/bankcore", content=canonical_to_bank_soap(request), headers=SOAP)
    assert recognise(answer.content).name == "bank-soap-response"
    return answer.status_code, bank_soap_response_to_canonical(answer.content, received_at=NOW)


async def _query(core: httpx.AsyncClient, instruction_id: str) -> BankCoreReply:
    query = BankSoapStatusQuery(instruction_id=instruction_id, consumer_id="FHUB01", sent_at=NOW)
    body = canonical_to_bank_soap_status_query(query)
    answer = await core.post("/bankcore", content=body, headers=SOAP)
    return bank_soap_response_to_canonical(answer.content, received_at=NOW)


async def _lines(core: httpx.AsyncClient) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = (await core.get("/admin/credit-lines")).json()
    return lines


async def test_the_mapper_speaks_the_namespace_and_operations_the_wsdl_publishes(core):
    wsdl = etree.fromstring((await core.get("/bankcore?wsdl")).content)
    assert wsdl.get("targetNamespace") == BANK_CORE_NAMESPACE
    operations = {
        op.get("name")
        for op in wsdl.iterfind("{http://schemas.xmlsoap.org/wsdl/}portType/{*}operation")
    }
    assert {"SubmitPayment", "QueryPaymentStatus"} <= operations


async def test_a_payment_the_hub_writes_is_accepted_and_settled(core):
    status, reply = await _submit(core, _instruction())
    assert status == 200
    answer, result = reply.answer, reply.result
    assert isinstance(answer, BankCoreResponse)
    assert (answer.operation, answer.duplicate) == ("SubmitPayment", False)
    assert answer.amount == Money.of("361600.00")
    assert answer.accepted_at == NOW
    assert result is not None
    assert (result.instruction_id, result.status, result.bank_code) == (
        "DSB-2026-000001",
        PaymentStatus.SETTLED,
        "ACSC",
    )
    assert result.bank_reference
    assert reply.provenance.source_document_id == result.bank_reference


async def test_a_resend_answers_the_first_result_as_a_duplicate_and_pays_once(core):
    _, first = await _submit(core, _instruction())
    _, again = await _submit(core, _instruction())
    assert isinstance(again.answer, BankCoreResponse)
    assert again.answer.duplicate is True
    assert again.result is not None
    assert first.result is not None
    assert again.result.bank_reference == first.result.bank_reference
    assert len((await core.get("/admin/ledger")).json()) == 1


async def test_a_status_query_before_and_after_paying(core):
    before = await _query(core, "DSB-2026-000001")
    assert isinstance(before.answer, BankCoreFault)
    assert before.result is None
    assert (before.answer.code, before.answer.detail_code) == ("Client", "PAYMENT_NOT_FOUND")
    assert before.answer.detail_field == "InstructionId"
    assert before.answer.never_received
    assert not before.answer.transient

    await _submit(core, _instruction())
    after = await _query(core, "DSB-2026-000001")
    assert isinstance(after.answer, BankCoreResponse)
    assert (after.answer.operation, after.answer.duplicate) == ("QueryPaymentStatus", None)
    assert after.result is not None
    assert after.result.status is PaymentStatus.SETTLED


async def test_a_payment_on_a_credit_line_uses_it_once(core):
    line = (await _lines(core))[0]
    used = Decimal(line["used"])
    await _submit(core, _instruction(), line["credit_line_id"])
    await _submit(core, _instruction(), line["credit_line_id"])  # a resend uses nothing more
    after = next(x for x in await _lines(core) if x["credit_line_id"] == line["credit_line_id"])
    assert Decimal(after["used"]) == used + Decimal("361600.00")


async def test_insufficient_funds_is_a_rejection_with_its_iso_reason(core):
    balances = {"balances": {FACTOR_ACCOUNT.number: "1000.00"}}
    assert (await core.post("/admin/scenario", json=balances)).status_code == 200
    _, reply = await _submit(core, _instruction(2, "1000.01"))
    assert reply.result is not None
    assert (reply.result.status, reply.result.bank_code) == (PaymentStatus.REJECTED, "RJCT")
    assert reply.result.reason.startswith("AM04")


async def test_an_unknown_credit_line_is_a_permanent_client_fault(core):
    status, reply = await _submit(core, _instruction(), "CL-NOPE")
    assert status == 500
    assert isinstance(reply.answer, BankCoreFault)
    assert (reply.answer.detail_code, reply.answer.transient) == ("CREDIT_LINE_NOT_FOUND", False)
    assert not reply.answer.never_received


async def test_an_unavailable_core_is_a_transient_server_fault(core):
    await core.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
    status, reply = await _submit(core, _instruction())
    assert status == 503
    assert isinstance(reply.answer, BankCoreFault)
    assert (reply.answer.code, reply.answer.detail_code) == ("Server", "SERVICE_UNAVAILABLE")
    assert reply.answer.transient
    await core.put("/admin/faults", json={})
    assert (await core.get("/admin/ledger")).json() == []
