"""The hub's e-CNY mapper (mappings.ecny) and the e-CNY operator simulator, written separately from
the same reference (formats-outbound §2.3): the order the hub writes is accepted, and the
synchronous answer, the status query's answer and the final-state notify read back as what
happened; each is signed (SM2 with SM3) over exactly the bytes the mapper reads."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

from canonical import BankAccount, DisbursementInstruction, Money, Party, PartyRole, PaymentStatus
from mappings.ecny import (
    EcnyOrderRequest,
    canonical_to_ecny_order,
    ecny_answer_to_canonical,
    ecny_notify_to_canonical,
)
from mappings.formats import recognise
from simulators import ecny, runner
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=CST)
PAYMENTS = "/ecny/v1/payments"
NOTIFY_PATH = "/hub/ecny-notify"
MSG_ID = "20261128000000000000000000000101"


@dataclass
class Hub:
    """The hub's notify endpoint in miniature: keeps what arrives, answers SUCCESS."""

    notifies: list[tuple[httpx.Headers, bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(NOTIFY_PATH)
        async def notify(request: Request) -> dict[str, str]:
            self.notifies.append((httpx.Headers(request.headers), await request.body()))
            return {"code": "SUCCESS"}

        return app


@dataclass
class Operator:
    client: httpx.AsyncClient
    app: Any
    notify_url: str
    public_key_pem: str
    wallets: list[dict[str, Any]]


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
async def operator(hub: Hub) -> AsyncIterator[Operator]:
    app = ecny.create_app(1, clock=lambda: NOW)
    runner.SIMULATORS["hub-ecny-notify"] = lambda seed: hub.app()
    try:
        async with (
            running_simulators(["hub-ecny-notify"]) as sims,
            asgi_client(app) as client,
        ):
            # the hub cannot sign yet (no SM2 key of its own): this test only
            assert (
                await client.post("/admin/scenario", json={"verify_signatures": False})
            ).status_code == 200
            keys = (await client.get("/admin/keys")).json()
            yield Operator(
                client,
                app,
                f"{sims['hub-ecny-notify'].base_url}{NOTIFY_PATH}",
                keys["operator"]["public_key_pem"],
                (await client.get("/admin/state")).json()["wallets"],
            )
    finally:
        del runner.SIMULATORS["hub-ecny-notify"]
        await app.state.ecny.aclose()


def _order(operator: Operator, amount: str = "1285.50", number: int = 1) -> bytes:
    factor = operator.wallets[0]
    seller = next(w for w in operator.wallets if w["role"] == "seller")
    factor_party = Party(name=factor["name"], uscc=factor["uscc"], role=PartyRole.FACTOR)
    seller_party = Party(name=seller["name"], uscc=seller["uscc"], role=PartyRole.SELLER)
    instruction = DisbursementInstruction(
        id=f"DSB-2026-{number:06d}",
        request_id=f"FR-2026-{number:04d}",
        message_id="FH20261128-0001",
        amount=Money.of(amount),
        debtor=factor_party,
        debtor_account=BankAccount(number="755912345610801", name=factor["name"]),
        creditor=seller_party,
        creditor_account=BankAccount(number="1102020309000123456", name=seller["name"]),
        execution_date=date(2026, 11, 28),
        remittance="保理融资放款",
        created_at=NOW,
    )
    request = EcnyOrderRequest(
        instruction=instruction,
        msg_id=MSG_ID[:-3] + f"{number:03d}",
        payer_wallet_id=factor["wallet_id"],
        payee_wallet_id=seller["wallet_id"],
        expire_time=NOW + timedelta(hours=8),
        notify_url=operator.notify_url,
    )
    return canonical_to_ecny_order(request)


def _assert_signed(
    operator: Operator, headers: httpx.Headers, method: str, path: str, body: bytes
) -> None:
    """Checked from the reference alone (not the simulator's code): SM2 with SM3 over
    METHOD, PATH, TIMESTAMP, NONCE and BODY joined by newlines."""
    key = serialization.load_pem_public_key(operator.public_key_pem.encode())
    message = (
        f"{method}\n{path}\n{headers['X-Ecny-Timestamp']}\n{headers['X-Ecny-Nonce']}\n".encode()
        + body
    )
    signature = base64.b64decode(headers["X-Ecny-Signature"])
    key.verify(signature, message, ec.ECDSA(hashes.SM3()))  # raises InvalidSignature
    assert headers["X-Ecny-AppId"] == "ecny-operator"


async def _pay(operator: Operator, body: bytes) -> httpx.Response:
    return await operator.client.post(
        PAYMENTS, content=body, headers={"content-type": "application/json"}
    )


async def test_an_order_the_hub_writes_is_accepted_and_its_answer_maps_pending(operator):
    answer = await _pay(operator, _order(operator))
    assert answer.status_code == 200, answer.text
    _assert_signed(operator, answer.headers, "POST", PAYMENTS, answer.content)
    assert recognise(answer.content).name == "ecny-payment-answer"
    mapped = ecny_answer_to_canonical(answer.content, received_at=NOW)
    assert mapped.code == "ACCEPTED"
    assert mapped.result is not None
    assert (mapped.result.instruction_id, mapped.result.status, mapped.result.bank_code) == (
        "DSB-2026-000001",
        PaymentStatus.PENDING,
        "PR02",
    )
    assert mapped.result.bank_reference
    assert mapped.amount == Money.of("1285.50")


async def test_the_signed_notify_settles_the_instruction_once_for_its_order(operator, hub):
    first = ecny_answer_to_canonical(
        (await _pay(operator, _order(operator))).content, received_at=NOW
    )
    await operator.app.state.ecny.drain()

    ((headers, body),) = hub.notifies
    _assert_signed(operator, headers, "POST", NOTIFY_PATH, body)
    assert recognise(body).name == "ecny-payment-notify"
    notice = ecny_notify_to_canonical(body, received_at=NOW)
    assert notice.original_message_id == MSG_ID[:-3] + "001"
    assert notice.message_id != notice.original_message_id
    assert notice.amount == Money.of("1285.50")
    assert notice.finished_at == NOW
    assert first.result is not None
    assert (notice.result.instruction_id, notice.result.status, notice.result.bank_reference) == (
        "DSB-2026-000001",
        PaymentStatus.SETTLED,
        first.result.bank_reference,
    )


async def test_a_resend_answers_duplicate_and_a_query_the_final_state(operator):
    body = _order(operator)
    await _pay(operator, body)
    again = ecny_answer_to_canonical((await _pay(operator, body)).content, received_at=NOW)
    assert again.code == "DUPLICATE"
    await operator.app.state.ecny.drain()

    path = f"{PAYMENTS}/DSB-2026-000001"
    answer = await operator.client.get(path)
    _assert_signed(operator, answer.headers, "GET", path, answer.content)
    queried = ecny_answer_to_canonical(answer.content, received_at=NOW)
    assert queried.code == "SUCCESS"
    assert queried.result is not None
    assert queried.result.status is PaymentStatus.SETTLED
    state = (await operator.client.get("/admin/state")).json()
    assert [o["executions"] for o in state["orders"]] == [1]


async def test_a_rejected_order_maps_rejected_with_the_operators_reason(operator):
    outcome = {
        "outcomes": [
            {"amount": "4444.44", "prc_sts": "PR01", "rjct_cd": "R999", "rjct_inf": "风控拦截"}
        ]
    }
    assert (await operator.client.post("/admin/scenario", json=outcome)).status_code == 200
    accepted = ecny_answer_to_canonical(
        (await _pay(operator, _order(operator, "4444.44", 2))).content, received_at=NOW
    )
    assert accepted.code == "ACCEPTED"  # the outcome is decided at settlement
    await operator.app.state.ecny.drain()
    query = await operator.client.get(f"{PAYMENTS}/DSB-2026-000002")
    answer = ecny_answer_to_canonical(query.content, received_at=NOW)
    assert answer.result is not None
    assert answer.result.status is PaymentStatus.REJECTED
    assert answer.result.reason == "R999: 风控拦截"


async def test_an_order_for_an_unknown_trade_is_a_refusal_without_a_result(operator):
    answer = await operator.client.get(f"{PAYMENTS}/DSB-NOPE")
    assert answer.status_code == 404
    mapped = ecny_answer_to_canonical(answer.content, received_at=NOW)
    assert (mapped.code, mapped.result) == ("REJECTED", None)
    assert mapped.provenance.source_document_id == "refused:R007"
