"""The e-CNY gateway against the e-CNY operator simulator: signed orders, lost answers, never twice.

The simulator runs in-process (httpx.ASGITransport) with signature checks on. Its own faults
(`/admin/faults`) are matched by path prefix, so they hit the status query as well as the order;
a fault on the order alone is injected by `Wire`, between the gateway and the simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from tongsuopy.crypto import serialization
from tongsuopy.crypto.asymciphers import ec

from canonical import (
    DisbursementInstruction,
    Party,
    PartyRole,
    PaymentResult,
    PaymentStatus,
    PermanentError,
    TransientError,
)
from connectors.ecny import EcnyGateway
from routes.ports import BankGateway
from simulators import ecny
from tests.builders import instruction

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 17, 5, tzinfo=CST)
"""Five minutes after the builders' instructions were created (09:00 UTC)."""
PAYMENTS = "/ecny/v1/payments"
NOTIFY_URL = "http://127.0.0.1:9/hub/ecny-notify"  # nobody listens: notifies are not the point


class Wire(httpx.AsyncBaseTransport):
    """The simulator behind a wire that breaks orders (POSTs) only: the first `drop_before`
    never arrive, the first `drop_after` arrive and are executed but their answer times out,
    and with `refuse_orders` every order is answered 503 without arriving."""

    def __init__(
        self, app: Any, *, drop_before: int = 0, drop_after: int = 0, refuse_orders: bool = False
    ) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.drop_before, self.drop_after, self.refuse_orders = (
            drop_before,
            drop_after,
            refuse_orders,
        )
        self.orders_sent = 0
        self.in_flight = self.peak_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != PAYMENTS:
            return await self._inner.handle_async_request(request)
        self.orders_sent += 1
        if self.refuse_orders:
            return httpx.Response(503, text="gateway unavailable")
        if self.drop_before:
            self.drop_before -= 1
            raise httpx.ConnectError("dropped before it arrived", request=request)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = await self._inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
        if self.drop_after:
            self.drop_after -= 1
            await response.aclose()
            raise httpx.ReadTimeout("answer lost after the order was executed", request=request)
        return response


@dataclass
class Operator:
    """The simulator, a client on it, its keys (from /admin/keys) and its wallets."""

    app: Any
    client: httpx.AsyncClient
    keys: dict[str, Any]
    wallets: list[dict[str, Any]]

    @property
    def sellers(self) -> list[dict[str, Any]]:
        return [w for w in self.wallets if w["role"] == "seller"]

    def gateway(self, client: httpx.AsyncClient | None = None, **changes: Any) -> EcnyGateway:
        caller = self.keys["callers"][0]
        settings: dict[str, Any] = {
            "private_key_pem": caller["private_key_pem"],
            "sign_sn": caller["sign_sn"],
            "operator_public_key_pem": self.keys["operator"]["public_key_pem"],
            "payer_wallet_id": self.wallets[0]["wallet_id"],
            "payee_wallets": {w["uscc"]: w["wallet_id"] for w in self.sellers},
            "notify_url": NOTIFY_URL,
            "clock": lambda: NOW,
        }
        return EcnyGateway(client or self.client, **{**settings, **changes})

    def wired(self, wire: Wire) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=wire, base_url="http://ecny.test")

    def instruction(self, number: int, amount: str = "1000.00") -> DisbursementInstruction:
        """Instruction `number` pays seller `number` (its wallet's name and USCC)."""
        seller = self.sellers[number - 1]
        creditor = Party(name=seller["name"], uscc=seller["uscc"], role=PartyRole.SELLER)
        return instruction(number, amount, creditor=creditor)

    async def state(self) -> dict[str, Any]:
        await self.app.state.ecny.drain()  # settlements and (failing) notifies done
        return dict((await self.client.get("/admin/state")).json())

    async def orders(self) -> dict[str, dict[str, Any]]:
        return {o["out_trade_no"]: o for o in (await self.state())["orders"]}

    async def received(self, method: str) -> list[str]:
        """The paths of the business requests that reached the simulator, in order."""
        entries = (await self.client.get("/admin/received")).json()
        return [e["path"] for e in entries if e["method"] == method]

    async def faults(self, **settings: Any) -> None:
        response = await self.client.put("/admin/faults", json=settings)
        assert response.status_code == 200, response.text

    async def scenario(self, **section: Any) -> None:
        response = await self.client.post("/admin/scenario", json=section)
        assert response.status_code == 200, response.text


@pytest.fixture
async def operator() -> AsyncIterator[Operator]:
    app = ecny.create_app(seed=5, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ecny.test") as client:
            await client.put("/admin/notify", json={"max_attempts": 1})
            keys = (await client.get("/admin/keys")).json()
            wallets = (await client.get("/admin/state")).json()["wallets"]
            yield Operator(app, client, keys, wallets)
    finally:
        await app.state.ecny.aclose()


def _results(answers: list[PaymentResult | Exception]) -> list[PaymentResult]:
    assert all(isinstance(a, PaymentResult) for a in answers), answers
    return [a for a in answers if isinstance(a, PaymentResult)]


async def test_a_batch_is_paid_and_each_instruction_carries_the_channels_reference(operator):
    gateway: BankGateway = operator.gateway()  # the routes' port (checked by mypy)
    instructions = [operator.instruction(n, f"{n}00.00") for n in range(1, 4)]

    results = _results(await gateway.submit_many(instructions))

    orders = await operator.orders()
    assert [r.instruction_id for r in results] == ["D00000001", "D00000002", "D00000003"]
    assert {(r.status, r.bank_code) for r in results} == {(PaymentStatus.PENDING, "PR02")}
    assert [r.bank_reference for r in results] == [orders[i.id]["ecny_tx_id"] for i in instructions]
    assert [orders[i.id]["executions"] for i in instructions] == [1, 1, 1]
    assert [orders[i.id]["amount"] for i in instructions] == ["100.00", "200.00", "300.00"]
    assert isinstance(gateway, EcnyGateway)
    settled = await gateway.status("D00000002")
    assert settled is not None
    assert (settled.status, settled.bank_reference) == (
        PaymentStatus.SETTLED,
        results[1].bank_reference,
    )


async def test_an_answer_lost_after_the_channel_executed_is_resolved_by_asking_and_paid_once(
    operator,
):
    wire = Wire(operator.app, drop_after=3)
    instructions = [operator.instruction(n) for n in range(1, 4)]

    async with operator.wired(wire) as client:
        results = _results(await operator.gateway(client).submit_many(instructions))

    orders = await operator.orders()
    assert [r.bank_reference for r in results] == [orders[i.id]["ecny_tx_id"] for i in instructions]
    assert all(r.status is not PaymentStatus.REJECTED for r in results)
    assert [(o["submissions"], o["executions"]) for o in orders.values()] == [(1, 1)] * 3
    assert (await operator.state())["executed_total"] == 3
    assert sorted(await operator.received("GET")) == [f"{PAYMENTS}/{i.id}" for i in instructions]
    assert wire.orders_sent == 3  # asked, not sent again

    again = await operator.gateway().submit_many(instructions)  # the batch again, as after a crash
    assert [a.bank_reference for a in _results(again)] == [r.bank_reference for r in results]
    assert (await operator.state())["executed_total"] == 3


async def test_an_order_lost_before_it_arrived_is_sent_again_once(operator):
    wire = Wire(operator.app, drop_before=1)

    async with operator.wired(wire) as client:
        [result] = _results(await operator.gateway(client).submit_many([operator.instruction(1)]))

    assert (result.status, result.bank_code) == (PaymentStatus.PENDING, "PR02")
    assert wire.orders_sent == 2
    assert await operator.received("GET") == [f"{PAYMENTS}/D00000001"]
    assert await operator.received("POST") == [PAYMENTS]
    order = (await operator.orders())["D00000001"]
    assert (order["submissions"], order["executions"]) == (1, 1)
    assert result.bank_reference == order["ecny_tx_id"]


@pytest.mark.parametrize(
    ("wallets", "reason"),
    [
        (lambda op: [{"wallet_id": op.sellers[1]["wallet_id"], "frozen": True}], "收款钱包已冻结"),
        (lambda op: [{"wallet_id": op.wallets[0]["wallet_id"], "balance": "1500.00"}], "余额不足"),
    ],
    ids=["payee wallet frozen", "payer balance short"],
)
async def test_a_business_refusal_comes_back_rejected_with_the_channels_reason(
    operator, wallets, reason
):
    await operator.scenario(wallets=wallets(operator))
    paid, refused = operator.instruction(1, "1000.00"), operator.instruction(2, "2000.00")

    first, second = await operator.gateway().submit_many([paid, refused])

    assert isinstance(first, PaymentResult)
    assert first.status is PaymentStatus.PENDING
    assert isinstance(second, PaymentResult)
    assert (second.instruction_id, second.status, second.bank_code) == (
        "D00000002",
        PaymentStatus.REJECTED,
        "PR01",
    )
    assert second.reason.startswith("R999: ")
    assert reason in second.reason
    orders = await operator.orders()
    assert (orders["D00000001"]["executions"], orders["D00000002"]["executions"]) == (1, 0)


async def test_the_same_instruction_twice_in_a_batch_is_ordered_once_and_both_get_its_answer(
    operator,
):
    first, second, again, other = await operator.gateway().submit_many(
        [operator.instruction(n) for n in (1, 2, 2, 3)]
    )

    assert isinstance(again, PaymentResult)
    assert again == second
    assert isinstance(first, PaymentResult)
    assert isinstance(other, PaymentResult)
    assert len(await operator.received("POST")) == 3
    orders = await operator.orders()
    assert sorted(orders) == ["D00000001", "D00000002", "D00000003"]
    assert [(o["submissions"], o["executions"]) for o in orders.values()] == [(1, 1)] * 3


async def test_a_channel_failing_with_5xx_gives_each_instruction_a_transient_error(operator):
    await operator.faults(error_rate=1.0, error_status=503)
    instructions = [operator.instruction(n) for n in range(1, 4)]
    gateway = operator.gateway()

    answers = await gateway.submit_many(instructions)

    assert [type(a) for a in answers] == [TransientError] * 3
    assert "503" in str(answers[0])
    assert (await operator.state())["orders"] == []
    await operator.faults()
    assert len(_results(await gateway.submit_many(instructions))) == 3  # worth retrying


async def test_an_order_never_received_is_sent_at_most_resend_attempts_times(operator):
    wire = Wire(operator.app, refuse_orders=True)

    async with operator.wired(wire) as client:
        gateway = operator.gateway(client, resend_attempts=3)
        [answer] = await gateway.submit_many([operator.instruction(1)])

    assert isinstance(answer, TransientError)
    assert wire.orders_sent == 3
    assert len(await operator.received("GET")) == 3  # asked after every failed send
    assert (await operator.state())["orders"] == []


async def test_an_answer_not_signed_by_the_operator_is_not_believed(operator):
    stranger = ec.generate_private_key(ec.SM2()).public_key()
    pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()

    [answer] = await operator.gateway(operator_public_key_pem=pem).submit_many(
        [operator.instruction(1)]
    )

    assert isinstance(answer, TransientError)
    assert "not signed by the operator" in str(answer)
    assert len(await operator.received("POST")) == 1  # unknown outcome: asked, never resent


async def test_an_instruction_the_channel_cannot_take_fails_alone_before_anything_is_sent(
    operator,
):
    unknown_payee = instruction(
        4, creditor=Party(name="无钱包有限公司", uscc="91310115MA1H7XQR31", role=PartyRole.SELLER)
    )
    fen_fraction = operator.instruction(2, "10.005")  # a payment is never rounded

    paid, no_wallet, unmappable = await operator.gateway().submit_many(
        [operator.instruction(1), unknown_payee, fen_fraction]
    )

    assert isinstance(paid, PaymentResult)
    assert isinstance(no_wallet, PermanentError)
    assert "no e-CNY wallet" in str(no_wallet)
    assert isinstance(unmappable, PermanentError)
    assert "amount" in str(unmappable)
    assert len(await operator.received("POST")) == 1


async def test_orders_go_out_concurrently_but_never_more_than_max_concurrency(operator):
    await operator.faults(latency_ms=20, paths=[PAYMENTS])
    wire = Wire(operator.app)

    async with operator.wired(wire) as client:
        answers = await operator.gateway(client, max_concurrency=2).submit_many(
            [operator.instruction(n) for n in range(1, 6)]
        )

    assert len(_results(answers)) == 5
    assert wire.peak_in_flight == 2
