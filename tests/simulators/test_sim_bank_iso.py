"""The bank's ISO 20022 channel beyond pain.001/pain.002: camt.054 bookings, pushed pain.002
status callbacks (retried, late, duplicated, out of order), scenarios and the shared admin API."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from lxml import etree

from simulators import bank, runner
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client
from tests.simulators.sim_pain001 import FACTOR_ACCOUNT, NS002, Block, Message, Tx, build, one

SCHEMAS = Path(__file__).resolve().parents[2] / "simulators" / "bank" / "schemas"
NS054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
C = {"c": NS054}
P = {"p": NS002}
XML = {"Content-Type": "application/xml"}


@pytest.fixture(scope="module")
def camt054_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "camt.054.001.08.xsd")))


@pytest.fixture(scope="module")
def pain002_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "pain.002.001.10.xsd")))


async def _send(client, xml: bytes):
    return await client.post("/iso20022/pain.001", content=xml, headers=XML)


def test_the_bundled_camt_054_schema_is_the_unmodified_iso_file():
    digest = hashlib.sha256((SCHEMAS / "camt.054.001.08.xsd").read_bytes()).hexdigest()
    assert digest == "13d220337d47e22cf25788807c136794a76955791df612c6947277272d440da6"


async def test_camt_054_books_each_executed_payment_once_as_a_debit(bank_client, camt054_schema):
    await _send(bank_client, one("MSG-1", "E2E-1", "1500.00"))
    await _send(bank_client, one("MSG-1", "E2E-1", "1500.00"))  # resend
    await _send(bank_client, one("MSG-2", "E2E-2", "10.005"))  # rejected CH20: never booked
    other = Block([Tx("E2E-3", "20.00")], debtor_account="6225880137009999")
    await _send(bank_client, build(Message("MSG-3", [other])))

    answer = await bank_client.get("/iso20022/camt.054", params={"account": FACTOR_ACCOUNT})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    document = etree.fromstring(answer.content)
    camt054_schema.assertValid(document)
    notification = document.find("c:BkToCstmrDbtCdtNtfctn/c:Ntfctn", C)
    assert notification.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=C) == FACTOR_ACCOUNT
    entries = notification.findall("c:Ntry", C)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext("c:Amt", namespaces=C) == "1500.00"
    assert entry.find("c:Amt", C).get("Ccy") == "CNY"
    assert entry.findtext("c:CdtDbtInd", namespaces=C) == "DBIT"
    assert entry.findtext("c:Sts/c:Cd", namespaces=C) == "BOOK"
    refs = entry.find("c:NtryDtls/c:TxDtls/c:Refs", C)
    assert refs.findtext("c:EndToEndId", namespaces=C) == "E2E-1"
    assert refs.findtext("c:InstrId", namespaces=C) == "DISB-E2E-1"
    assert refs.findtext("c:MsgId", namespaces=C) == "MSG-1"
    ledger = (await bank_client.get("/admin/ledger")).json()
    assert entry.findtext("c:AcctSvcrRef", namespaces=C) == ledger[0]["acct_svcr_ref"]
    creditor = entry.find("c:NtryDtls/c:TxDtls/c:RltdPties", C)
    assert creditor.findtext("c:Cdtr/c:Pty/c:Nm", namespaces=C) == "苏州华盛精密机械有限公司"


async def test_camt_054_after_returns_only_later_entries(bank_client, camt054_schema):
    for n in (1, 2, 3):
        await _send(bank_client, one(f"MSG-{n}", f"E2E-{n}", f"{n}.00"))
    params = {"account": FACTOR_ACCOUNT, "after": "2"}
    document = etree.fromstring(
        (await bank_client.get("/iso20022/camt.054", params=params)).content
    )
    camt054_schema.assertValid(document)
    refs = document.xpath("//c:Ntry/c:NtryRef/text()", namespaces=C)
    e2e = document.xpath("//c:EndToEndId/text()", namespaces=C)
    assert (refs, e2e) == (["3"], ["E2E-3"])
    empty = await bank_client.get("/iso20022/camt.054", params={"account": "NOBODY"})
    camt054_schema.assertValid(etree.fromstring(empty.content))
    assert etree.fromstring(empty.content).find(".//c:Ntry", C) is None


@pytest.mark.parametrize("params", [{}, {"account": FACTOR_ACCOUNT, "after": "-1"}])
async def test_a_camt_054_request_without_an_account_is_400_ff01(bank_client, params):
    answer = await bank_client.get("/iso20022/camt.054", params=params)
    assert answer.status_code == 400
    assert answer.json()["reason"] == "FF01"


@dataclass
class _Receiver:
    """The hub's callback endpoint in miniature: fails the first `failures` attempts."""

    failures: int = 0
    bodies: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/status")
        async def status(request: Request) -> Response:
            if self.failures > 0:
                self.failures -= 1
                return Response(status_code=500)
            self.bodies.append(await request.body())
            self.times.append(asyncio.get_running_loop().time())
            return Response(status_code=204)

        return app


@contextlib.asynccontextmanager
async def _receiving(receiver: _Receiver) -> AsyncIterator[str]:
    runner.SIMULATORS["callback-receiver"] = lambda seed: receiver.app()
    try:
        async with running_simulators(["callback-receiver"]) as sims:
            yield f"{sims['callback-receiver'].base_url}/status"
    finally:
        del runner.SIMULATORS["callback-receiver"]


def _orgnl_msg_id(body: bytes, schema: etree.XMLSchema) -> str:
    document = etree.fromstring(body)
    schema.assertValid(document)
    return str(document.findtext(".//p:OrgnlMsgId", namespaces=P))


async def test_a_status_callback_is_retried_until_acknowledged(pain002_schema):
    app = bank.create_app(seed=1)
    receiver = _Receiver(failures=2)
    async with _receiving(receiver) as url, asgi_client(app) as client:
        configured = await client.put("/admin/callbacks", json={"url": url, "retry_ms": 20})
        assert configured.status_code == 200, configured.text
        answer = await _send(client, one("MSG-1", "E2E-1", "100.00"))
        await app.state.callbacks.drain()
        deliveries = (await client.get("/admin/callbacks")).json()["deliveries"]

    assert [_orgnl_msg_id(b, pain002_schema) for b in receiver.bodies] == ["MSG-1"]
    pushed = etree.fromstring(receiver.bodies[0])
    assert pushed.findtext(".//p:TxSts", namespaces=P) == "ACSC"
    assert pushed.findtext(".//p:GrpHdr/p:MsgId", namespaces=P) != etree.fromstring(
        answer.content
    ).findtext(".//p:GrpHdr/p:MsgId", namespaces=P)
    assert deliveries[0]["acknowledged"] is True
    assert [a["status"] for a in deliveries[0]["attempts"]] == [500, 500, 204]


async def test_a_lost_answer_still_pushes_the_status(pain002_schema):
    app = bank.create_app(seed=1)
    receiver = _Receiver()
    async with _receiving(receiver) as url, asgi_client(app) as client:
        await client.put("/admin/callbacks", json={"url": url})
        await client.put("/admin/faults", json={"lose_answer_rate": 1})
        assert (await _send(client, one("MSG-L", "E2E-L", "9.00"))).status_code == 504
        await app.state.callbacks.drain()
    assert [_orgnl_msg_id(b, pain002_schema) for b in receiver.bodies] == ["MSG-L"]


async def test_duplicate_callbacks_deliver_the_same_report_twice(pain002_schema):
    app = bank.create_app(seed=1)
    receiver = _Receiver()
    async with _receiving(receiver) as url, asgi_client(app) as client:
        await client.put("/admin/callbacks", json={"url": url, "duplicate_rate": 1})
        await _send(client, one("MSG-1", "E2E-1", "100.00"))
        await app.state.callbacks.drain()
    assert len(receiver.bodies) == 2
    assert receiver.bodies[0] == receiver.bodies[1]


async def test_late_callbacks_arrive_after_the_delay():
    app = bank.create_app(seed=1)
    receiver = _Receiver()
    async with _receiving(receiver) as url, asgi_client(app) as client:
        await client.put("/admin/callbacks", json={"url": url, "delay_ms": 300})
        sent_at = asyncio.get_running_loop().time()
        await _send(client, one("MSG-1", "E2E-1", "100.00"))
        await asyncio.sleep(0.1)
        assert receiver.bodies == []
        await app.state.callbacks.drain()
    assert receiver.times[0] - sent_at >= 0.3


async def test_reordered_callbacks_overtake_one_another(pain002_schema):
    app = bank.create_app(seed=10)  # seed 10: the four waits differ by 89 ms or more
    receiver = _Receiver()
    async with _receiving(receiver) as url, asgi_client(app) as client:
        await client.put("/admin/callbacks", json={"url": url, "reorder_ms": 400})
        for n in range(4):
            await _send(client, one(f"MSG-{n}", f"E2E-{n}", "1.00"))
        await app.state.callbacks.drain()
    arrived = [_orgnl_msg_id(b, pain002_schema) for b in receiver.bodies]
    assert sorted(arrived) == [f"MSG-{n}" for n in range(4)]
    assert arrived != sorted(arrived)


async def test_a_scenario_sets_balances_and_callbacks_and_reset_forgets_them():
    app = bank.create_app(seed=1)
    async with asgi_client(app) as client:
        section = {
            "balances": {FACTOR_ACCOUNT: "150.00"},
            "callbacks": {"url": "http://127.0.0.1:9/status", "delay_ms": 5},
            "faults": {"latency_ms": 1},
        }
        assert (await client.post("/admin/scenario", json=section)).status_code == 200
        report = await _send(client, one("MSG-1", "E2E-1", "200.00"))
        tx_status = etree.fromstring(report.content).findtext(
            ".//p:StsRsnInf/p:Rsn/p:Cd", namespaces=P
        )
        assert tx_status == "AM04"
        state = (await client.get("/admin/state")).json()
        assert state["balances"] == {FACTOR_ACCOUNT: "150.00"}
        assert state["stats"]["rejected"] == 1
        assert state["callbacks"][0]["url"] == "http://127.0.0.1:9/status"
        assert (await client.get("/admin/faults")).json()["latency_ms"] == 1
        await client.post("/admin/reset")
        assert (await client.get("/admin/callbacks")).json() == {
            "settings": {
                "delay_ms": 0,
                "reorder_ms": 0,
                "duplicate_rate": 0.0,
                "retry_ms": 200,
                "max_retry_ms": 5000,
                "max_attempts": 20,
                "url": None,
            },
            "deliveries": [],
        }
        assert (await client.get("/admin/state")).json()["balances"] == {}
        await app.state.callbacks.aclose()


@pytest.mark.parametrize(
    ("section", "field_name"),
    [
        ({"balances": {FACTOR_ACCOUNT: "-1"}}, f"balances.{FACTOR_ACCOUNT}"),
        ({"callbacks": {"url": "not a url"}}, "callbacks.url"),
        ({"callbacks": {"duplicate_rate": 2}}, "callbacks.duplicate_rate"),
        ({"ledger": []}, "ledger"),
    ],
)
async def test_a_bad_scenario_is_422_naming_the_field(bank_client, section, field_name):
    answer = await bank_client.post("/admin/scenario", json=section)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field_name


async def test_injected_errors_are_counted_in_the_stats_and_execute_nothing(bank_client):
    await bank_client.put("/admin/faults", json={"error_rate": 1, "error_status": 502})
    assert (await _send(bank_client, one("MSG-1", "E2E-1", "1.00"))).status_code == 502
    await bank_client.put("/admin/faults", json={})
    stats = (await bank_client.get("/admin/stats")).json()
    assert (stats["injected_errors"], stats["executed"]) == (1, 0)
    assert (await bank_client.get("/admin/faults")).json()["injected"] == {"error": 1}
