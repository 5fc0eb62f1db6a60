"""The bank core's SOAP service, consumed with zeep against the WSDL it serves: credit lines,
payments executed at most once per InstructionId, and SOAP faults for bad input and failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.transports import AsyncTransport

from simulators import bankcore, runner
from simulators.erp.dataset import generate_companies
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client

NS = "http://sim.factorhub.cn/bankcore/v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_NS = {
    "w": "http://schemas.xmlsoap.org/wsdl/",
    "s": "http://schemas.xmlsoap.org/wsdl/soap/",
    "xs": "http://www.w3.org/2001/XMLSchema",
}
HEAD = {"SysHead": {"ConsumerId": "FHUB01", "ConsumerSeqNo": "FH-20261128-000001"}}
FACTOR_ACCOUNT = "6225880137001234"


class Core:
    """A bank core app, an httpx client on it and a zeep client built from its served WSDL."""

    def __init__(self, app: Any, http: httpx.AsyncClient, soap: zeep.AsyncClient) -> None:
        self.app, self.http, self.soap = app, http, soap

    async def pay(self, instruction_id: str, amount: str, **fields: Any) -> Any:
        terms = {
            "InstructionId": instruction_id,
            "DebtorAccount": FACTOR_ACCOUNT,
            "CreditorAccount": "31050161373600001234",
            "CreditorName": "苏州华盛精密机械有限公司",
            "CreditorAgent": "105305000011",
            "Amount": Decimal(amount),
            "Currency": "CNY",
            **fields,
        }
        return await self.soap.service.SubmitPayment(**terms, _soapheaders=HEAD)

    async def admin(self, path: str) -> Any:
        return (await self.http.get(f"/admin/{path}")).json()


@contextlib.asynccontextmanager
async def _core(tmp_path: Path, seed: int = 3) -> AsyncIterator[Core]:
    app = bankcore.create_app(seed=seed)
    async with asgi_client(app) as http:
        served = await http.get("/bankcore?wsdl")
        assert served.status_code == 200
        wsdl_file = tmp_path / "bankcore.wsdl"
        wsdl_file.write_bytes(served.content)
        with httpx.Client() as unused_wsdl_client:  # the WSDL is read from the file
            transport = AsyncTransport(client=http, wsdl_client=unused_wsdl_client)
            yield Core(app, http, zeep.AsyncClient(str(wsdl_file), transport=transport))


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    async with _core(tmp_path) as value:
        yield value


def _detail(fault: Fault) -> tuple[str | None, str | None]:
    detail = fault.detail.find(f"{{{NS}}}ServiceFault")
    return detail.findtext(f"{{{NS}}}Code"), detail.findtext(f"{{{NS}}}Field")


async def test_the_wsdl_is_document_literal_wrapped_with_its_xsd(core):
    document = etree.fromstring((await core.http.get("/bankcore?WSDL")).content)
    assert document.find("s:binding", WSDL_NS) is None
    binding = document.find("w:binding/s:binding", WSDL_NS)
    assert binding.get("style") == "document"
    assert binding.get("transport") == "http://schemas.xmlsoap.org/soap/http"
    bodies = document.findall(".//w:binding/w:operation/*/s:body", WSDL_NS)
    assert len(bodies) == 6
    assert {b.get("use") for b in bodies} == {"literal"}
    operations = [o.get("name") for o in document.findall("w:portType/w:operation", WSDL_NS)]
    assert operations == ["QueryCreditLine", "SubmitPayment", "QueryPaymentStatus"]
    for op in operations:
        for message, element in ((f"{op}Request", op), (f"{op}Response", f"{op}Response")):
            parts = document.findall(f"w:message[@name='{message}']/w:part", WSDL_NS)
            assert [p.get("element") for p in parts] == [f"tns:{element}"]
    schema = document.find("w:types/xs:schema", WSDL_NS)
    etree.XMLSchema(etree.fromstring(etree.tostring(schema)))  # compiles
    address = document.find("w:service/w:port/s:address", WSDL_NS)
    assert address.get("location") == "http://sim.test/bankcore"


async def test_a_credit_line_belongs_to_a_company_of_the_erp_dataset(core):
    buyer = generate_companies(3).buyers[0]
    line = await core.soap.service.QueryCreditLine(CustomerUscc=buyer.uscc, _soapheaders=HEAD)
    assert (line.CustomerName, line.CustomerUscc, line.Status) == (buyer.name, buyer.uscc, "ACTIVE")
    assert line.AvailableAmount == line.TotalAmount - line.UsedAmount
    same = await core.soap.service.QueryCreditLine(
        CreditLineId=line.CreditLineId, _soapheaders=HEAD
    )
    assert same == line


async def test_the_same_seed_gives_the_same_credit_lines(tmp_path):
    lines = []
    for seed in (8, 8, 9):
        async with _core(tmp_path, seed=seed) as core:
            lines.append(await core.admin("credit-lines"))
    assert lines[0] == lines[1]
    assert lines[0] != lines[2]
    assert len({line["customer_uscc"] for line in lines[0]}) == len(lines[0]) == 25


async def test_a_resent_payment_is_answered_from_memory_and_paid_once(core):
    first = await core.pay("D00000001", "113000.00")
    again = await core.pay("D00000001", "113000.00")
    assert (first.Status, first.Duplicate) == ("ACSC", False)
    assert (again.Status, again.Duplicate) == ("ACSC", True)
    assert again.BankReference == first.BankReference
    ledger = await core.admin("ledger")
    assert [(e["end_to_end_id"], e["amount"]) for e in ledger] == [("D00000001", "113000.00")]
    state = await core.admin("state")
    assert state["attempts"] == [{"end_to_end_id": "D00000001", "attempted": 2, "executed": 1}]
    status = await core.soap.service.QueryPaymentStatus(
        InstructionId="D00000001", _soapheaders=HEAD
    )
    assert (status.Status, status.BankReference, status.Amount) == (
        "ACSC",
        first.BankReference,
        Decimal("113000.00"),
    )


async def test_the_same_instruction_id_with_other_terms_is_rejected_am05(core):
    await core.pay("D00000001", "500.00")
    other = await core.pay("D00000001", "600.00")
    assert (other.Status, other.ReasonCode, other.Duplicate) == ("RJCT", "AM05", False)
    assert len(await core.admin("ledger")) == 1
    status = await core.soap.service.QueryPaymentStatus(
        InstructionId="D00000001", _soapheaders=HEAD
    )
    assert (status.Status, status.Amount) == ("ACSC", Decimal("500.00"))


async def test_a_payment_occupies_its_credit_line_and_the_line_limits_it(core):
    buyer = generate_companies(3).buyers[0]
    line = await core.soap.service.QueryCreditLine(CustomerUscc=buyer.uscc, _soapheaders=HEAD)
    paid = await core.pay("D1", "1000.00", CreditLineId=line.CreditLineId)
    await core.pay("D1", "1000.00", CreditLineId=line.CreditLineId)  # a resend occupies nothing
    after = await core.soap.service.QueryCreditLine(CustomerUscc=buyer.uscc, _soapheaders=HEAD)
    assert paid.Status == "ACSC"
    assert after.UsedAmount == line.UsedAmount + Decimal("1000.00")
    too_much = after.AvailableAmount + Decimal("0.01")
    refused = await core.pay("D2", str(too_much), CreditLineId=line.CreditLineId)
    assert (refused.Status, refused.ReasonCode) == ("RJCT", "AM14")
    resent = await core.pay("D2", str(too_much), CreditLineId=line.CreditLineId)
    assert (resent.Status, resent.ReasonCode, resent.Duplicate) == ("RJCT", "AM14", True)
    assert [e["end_to_end_id"] for e in await core.admin("ledger")] == ["D1"]
    assert (await core.admin("state"))["occupied"] == {"D1": line.CreditLineId}


async def test_a_scenario_freezes_a_line_and_limits_the_balance(core):
    buyer = generate_companies(3).buyers[1]
    section = {
        "balances": {FACTOR_ACCOUNT: "800.00"},
        "credit_lines": [{"customer_uscc": buyer.uscc, "total": "5000.00", "status": "FROZEN"}],
    }
    assert (await core.http.post("/admin/scenario", json=section)).status_code == 200
    line = await core.soap.service.QueryCreditLine(CustomerUscc=buyer.uscc, _soapheaders=HEAD)
    assert (line.Status, line.TotalAmount, line.CustomerName) == (
        "FROZEN",
        Decimal("5000.00"),
        buyer.name,
    )
    frozen = await core.pay("D1", "10.00", CreditLineId=line.CreditLineId)
    assert (frozen.Status, frozen.ReasonCode) == ("RJCT", "AG01")
    poor = await core.pay("D2", "900.00")
    assert (poor.Status, poor.ReasonCode) == ("RJCT", "AM04")
    assert await core.admin("ledger") == []
    await core.http.post("/admin/reset")
    reset = await core.soap.service.QueryCreditLine(CustomerUscc=buyer.uscc, _soapheaders=HEAD)
    assert reset.Status == "ACTIVE"


@pytest.mark.parametrize(
    ("section", "field_name"),
    [
        ({"credit_lines": [{"customer_uscc": "91370212MACXFCMX3X", "total": "1"}]}, "uscc"),
        ({"credit_lines": [{"customer_uscc": "911100001000000002", "total": "-1"}]}, "total"),
        ({"balances": {"6225": 1}, "limits": {}}, "limits"),
    ],
)
async def test_a_bad_scenario_is_422_naming_the_field(core, section, field_name):
    answer = await core.http.post("/admin/scenario", json=section)
    assert answer.status_code == 422
    assert field_name in str(answer.json()["errors"])


async def test_bad_input_is_a_client_fault_with_a_service_fault_detail(core):
    with pytest.raises(Fault) as bad_uscc:
        await core.soap.service.QueryCreditLine(
            CustomerUscc="91370212MACXFCMX3X", _soapheaders=HEAD
        )
    with pytest.raises(Fault) as unknown_line:
        await core.soap.service.QueryCreditLine(CreditLineId="CL-NONE", _soapheaders=HEAD)
    with pytest.raises(Fault) as neither:
        await core.soap.service.QueryCreditLine(_soapheaders=HEAD)
    with pytest.raises(Fault) as unknown_payment:
        await core.soap.service.QueryPaymentStatus(InstructionId="NEVER", _soapheaders=HEAD)
    with pytest.raises(Fault) as payment_on_unknown_line:
        await core.pay("D1", "1.00", CreditLineId="CL-NONE")
    faults = [bad_uscc, unknown_line, neither, unknown_payment, payment_on_unknown_line]
    assert {f.value.code for f in faults} == {"soap:Client"}
    assert [_detail(f.value) for f in faults] == [
        ("INVALID_USCC", "CustomerUscc"),
        ("CREDIT_LINE_NOT_FOUND", "CreditLineId"),
        ("INVALID_REQUEST", None),
        ("PAYMENT_NOT_FOUND", "InstructionId"),
        ("CREDIT_LINE_NOT_FOUND", "CreditLineId"),
    ]
    assert await core.admin("ledger") == []


def _envelope(body: str, head: bool = True) -> bytes:
    header = (
        f'<soap:Header><SysHead xmlns="{NS}"><ConsumerId>FHUB01</ConsumerId>'
        "<ConsumerSeqNo>1</ConsumerSeqNo></SysHead></soap:Header>"
        if head
        else ""
    )
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}">{header}<soap:Body>{body}</soap:Body>'
        "</soap:Envelope>"
    ).encode()


_PAYMENT = (
    f'<SubmitPayment xmlns="{NS}"><InstructionId>D9</InstructionId>'
    "<DebtorAccount>6225880137001234</DebtorAccount><CreditorAccount>3105</CreditorAccount>"
    "<CreditorName>某公司</CreditorName><Amount>{amount}</Amount><Currency>CNY</Currency>"
    "</SubmitPayment>"
)


@pytest.mark.parametrize(
    ("request_body", "faultcode", "code"),
    [
        (_envelope(_PAYMENT.format(amount="10.005")), "soap:Client", "INVALID_REQUEST"),
        (_envelope(_PAYMENT.format(amount="10.00"), head=False), "soap:Client", "MISSING_SYSHEAD"),
        (_envelope(f'<Transfer xmlns="{NS}"/>'), "soap:Client", "UNKNOWN_OPERATION"),
        (b"<soap:Envelope", "soap:Client", "INVALID_REQUEST"),
        (
            b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
            "soap:VersionMismatch",
            "VERSION_MISMATCH",
        ),
    ],
)
async def test_malformed_requests_get_a_soap_fault_not_a_traceback(
    core, request_body, faultcode, code
):
    answer = await core.http.post(
        "/bankcore", content=request_body, headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("text/xml")
    fault = etree.fromstring(answer.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault.findtext("faultcode") == faultcode
    assert fault.findtext(f"detail/{{{NS}}}ServiceFault/{{{NS}}}Code") == code
    assert await core.admin("ledger") == []


async def test_an_injected_error_is_a_server_fault_and_pays_nothing(core):
    await core.http.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
    with pytest.raises(Fault) as failure:
        await core.pay("D1", "10.00")
    assert failure.value.code == "soap:Server"
    assert _detail(failure.value) == ("SERVICE_UNAVAILABLE", None)
    await core.http.put("/admin/faults", json={})
    assert await core.admin("ledger") == []
    assert (await core.admin("faults"))["injected"] == {"error": 1}


async def test_a_lost_answer_pays_and_the_status_query_then_tells(core):
    await core.http.put("/admin/faults", json={"lose_answer_rate": 1, "paths": ["/bankcore"]})
    with pytest.raises(zeep.exceptions.TransportError):
        await core.pay("D1", "10.00")
    await core.http.put("/admin/faults", json={})
    status = await core.soap.service.QueryPaymentStatus(InstructionId="D1", _soapheaders=HEAD)
    assert status.Status == "ACSC"
    resend = await core.pay("D1", "10.00")
    assert (resend.Status, resend.Duplicate) == ("ACSC", True)
    assert len(await core.admin("ledger")) == 1


async def test_get_without_wsdl_is_405(core):
    assert (await core.http.get("/bankcore")).status_code == 405


async def test_zeep_reads_the_wsdl_from_a_running_server_and_pays():
    runner.SIMULATORS["bankcore-under-test"] = bankcore.create_app
    try:
        async with running_simulators(["bankcore-under-test"], seed=3) as sims:
            url = f"{sims['bankcore-under-test'].base_url}/bankcore"

            def pay() -> Any:
                client = zeep.Client(f"{url}?wsdl")
                return client.service.SubmitPayment(
                    InstructionId="D1",
                    DebtorAccount=FACTOR_ACCOUNT,
                    CreditorAccount="31050161373600001234",
                    CreditorName="苏州华盛精密机械有限公司",
                    Amount=Decimal("42.00"),
                    Currency="CNY",
                    _soapheaders=HEAD,
                )

            answer = await asyncio.to_thread(pay)
            async with httpx.AsyncClient(base_url=url.removesuffix("/bankcore")) as http:
                ledger = (await http.get("/admin/ledger")).json()
    finally:
        del runner.SIMULATORS["bankcore-under-test"]
    assert answer.Status == "ACSC"
    assert [e["amount"] for e in ledger] == ["42.00"]
