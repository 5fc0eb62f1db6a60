"""The bank core SOAP gateway against the bank-core simulator: one call per payment, lost answers
resolved by asking, never paying twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import httpx
import pytest

from canonical import PaymentResult, PaymentStatus, PermanentError, TransientError
from connectors.bank_soap import SoapBankGateway
from routes.policy import DEFAULT_FACTOR_ACCOUNT
from simulators import bankcore
from tests.builders import instruction

Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]


@pytest.fixture
def core_app() -> object:
    return bankcore.create_app(seed=5)


@pytest.fixture
def core(core_app: object) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=core_app)  # type: ignore[arg-type]


@pytest.fixture
async def client(core: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=core, base_url="http://core.test") as client:
        yield client


def _wrapped(handler: Handler) -> httpx.AsyncClient:
    """A client whose every call goes through `handler` (which may forward it to the core)."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://core.test")


def _operation(body: bytes | str | None) -> str:
    text = body.decode() if isinstance(body, bytes) else body or ""
    return "SubmitPayment" if "SubmitPayment" in text else "QueryPaymentStatus"


async def _received(client: httpx.AsyncClient) -> list[str]:
    """The operations that reached the core, in order."""
    return [_operation(e["body"]) for e in (await client.get("/admin/received")).json()]


async def _executed(client: httpx.AsyncClient) -> dict[str, int]:
    """InstructionId -> how many times the core executed it."""
    state: dict[str, Any] = (await client.get("/admin/state")).json()
    return {a["end_to_end_id"]: a["executed"] for a in state["attempts"]}


async def _ledger(client: httpx.AsyncClient) -> list[str]:
    return sorted(e["end_to_end_id"] for e in (await client.get("/admin/ledger")).json())


async def _faults(client: httpx.AsyncClient, **settings: object) -> None:
    response = await client.put("/admin/faults", json=settings)
    assert response.status_code == 200, response.text


async def test_a_batch_is_paid_one_call_each_and_every_instruction_is_settled_with_its_reference(
    client,
):
    instructions = [instruction(n, f"{n}00.00") for n in range(1, 6)]

    answers = await SoapBankGateway(client).submit_many(instructions)

    results = [a for a in answers if isinstance(a, PaymentResult)]
    assert [r.instruction_id for r in results] == [i.id for i in instructions]
    assert {(r.status, r.bank_code) for r in results} == {(PaymentStatus.SETTLED, "ACSC")}
    assert len({r.bank_reference for r in results if r.bank_reference}) == 5
    assert await _received(client) == ["SubmitPayment"] * 5
    assert await _executed(client) == {i.id: 1 for i in instructions}


async def test_a_timeout_after_the_core_paid_is_resolved_by_asking_and_it_is_paid_once(
    core: httpx.ASGITransport, client
):
    sends = 0

    async def time_out_after_paying(request: httpx.Request) -> httpx.Response:
        nonlocal sends
        response = await core.handle_async_request(request)
        if _operation(request.content) == "SubmitPayment":
            sends += 1
            raise httpx.ReadTimeout("no answer in time", request=request)
        return response

    async with _wrapped(time_out_after_paying) as flaky:
        (answer,) = await SoapBankGateway(flaky).submit_many([instruction(1)])

    assert isinstance(answer, PaymentResult)
    assert (answer.status, answer.bank_code) == (PaymentStatus.SETTLED, "ACSC")
    assert answer.bank_reference == (await client.get("/admin/ledger")).json()[0]["acct_svcr_ref"]
    assert sends == 1
    assert await _received(client) == ["SubmitPayment", "QueryPaymentStatus"]
    assert await _executed(client) == {"D00000001": 1}


async def test_a_request_lost_before_reaching_the_core_is_sent_again_once(
    core: httpx.ASGITransport, client
):
    sends = 0

    async def drop_the_first_payment(request: httpx.Request) -> httpx.Response:
        nonlocal sends
        if _operation(request.content) == "SubmitPayment":
            sends += 1
            if sends == 1:
                raise httpx.ConnectError("connection reset", request=request)
        return await core.handle_async_request(request)

    async with _wrapped(drop_the_first_payment) as flaky:
        (answer,) = await SoapBankGateway(flaky).submit_many([instruction(1)])

    assert isinstance(answer, PaymentResult)
    assert answer.status is PaymentStatus.SETTLED
    assert sends == 2
    assert await _received(client) == ["QueryPaymentStatus", "SubmitPayment"]
    assert await _executed(client) == {"D00000001": 1}


async def test_an_answer_lost_with_its_status_query_is_transient_and_a_redelivery_pays_once(
    client,
):
    await _faults(client, lose_answer_rate=1.0, paths=["/bankcore"])
    gateway = SoapBankGateway(client)

    (unknown,) = await gateway.submit_many([instruction(1)])

    assert isinstance(unknown, TransientError)  # the query's answer is lost too: never guess
    assert await _received(client) == ["SubmitPayment", "QueryPaymentStatus"]  # no blind resend
    assert await _executed(client) == {"D00000001": 1}
    await _faults(client)
    (again,) = await gateway.submit_many([instruction(1)])  # the hub retries later
    assert isinstance(again, PaymentResult)
    assert again.status is PaymentStatus.SETTLED
    assert await _executed(client) == {"D00000001": 1}


async def test_insufficient_funds_comes_back_rejected_with_the_core_reason(client):
    funds = {"balances": {DEFAULT_FACTOR_ACCOUNT.number: "1000.00"}}
    assert (await client.post("/admin/scenario", json=funds)).status_code == 200
    gateway = SoapBankGateway(client)

    paid, refused = await gateway.submit_many([instruction(1, "600.00"), instruction(2, "600.00")])

    assert isinstance(paid, PaymentResult)
    assert paid.status is PaymentStatus.SETTLED
    assert isinstance(refused, PaymentResult)
    assert (refused.status, refused.bank_code) == (PaymentStatus.REJECTED, "RJCT")
    assert refused.reason.startswith("AM04")
    assert await _ledger(client) == ["D00000001"]
    (again,) = await gateway.submit_many([instruction(2, "600.00")])
    assert isinstance(again, PaymentResult)  # a redelivery gets the same refusal, pays nothing
    assert (again.status, again.reason, again.bank_reference) == (
        refused.status,
        refused.reason,
        refused.bank_reference,
    )
    assert await _ledger(client) == ["D00000001"]


async def test_the_same_instruction_twice_in_a_batch_is_sent_once_and_both_get_its_answer(client):
    first, second, again, other = await SoapBankGateway(client).submit_many(
        [instruction(1), instruction(2), instruction(2), instruction(3)]
    )

    assert isinstance(second, PaymentResult)
    assert again is second
    assert isinstance(first, PaymentResult)
    assert isinstance(other, PaymentResult)
    assert await _received(client) == ["SubmitPayment"] * 3
    assert await _executed(client) == {"D00000001": 1, "D00000002": 1, "D00000003": 1}


async def test_a_core_that_keeps_failing_gives_each_instruction_a_transient_error(client):
    await _faults(client, error_rate=1.0, error_status=503, paths=["/bankcore"])

    answers = await SoapBankGateway(client).submit_many([instruction(1), instruction(2)])

    assert [type(a) for a in answers] == [TransientError, TransientError]
    assert all("SERVICE_UNAVAILABLE" in str(a) for a in answers)
    assert await _ledger(client) == []


async def test_resends_stop_after_the_configured_attempts(core: httpx.ASGITransport, client):
    async def refuse_payments(request: httpx.Request) -> httpx.Response:
        if _operation(request.content) == "SubmitPayment":
            return httpx.Response(502, text="bad gateway", request=request)
        return await core.handle_async_request(request)

    async with _wrapped(refuse_payments) as flaky:
        (answer,) = await SoapBankGateway(flaky, resend_attempts=2).submit_many([instruction(1)])

    assert isinstance(answer, TransientError)
    assert "no answer after 2 sends" in str(answer)
    assert await _received(client) == ["QueryPaymentStatus"] * 2
    assert await _ledger(client) == []


async def test_an_unmappable_instruction_fails_alone(client):
    bad = instruction(2, "10.005")  # a payment is never rounded: refused before sending

    good_one, refused, good_two = await SoapBankGateway(client).submit_many(
        [instruction(1), bad, instruction(3)]
    )

    assert isinstance(refused, PermanentError)
    assert "amount" in str(refused)
    assert isinstance(good_one, PaymentResult)
    assert isinstance(good_two, PaymentResult)
    assert await _ledger(client) == ["D00000001", "D00000003"]


async def test_no_more_payments_are_in_flight_than_the_concurrency_allows(
    core: httpx.ASGITransport, client
):
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        try:
            return await core.handle_async_request(request)
        finally:
            in_flight -= 1

    async with _wrapped(slow) as throttled:
        answers = await SoapBankGateway(throttled, concurrency=3).submit_many(
            [instruction(n) for n in range(1, 10)]
        )

    assert all(isinstance(a, PaymentResult) for a in answers)
    assert peak == 3
    assert len(await _ledger(client)) == 9
