"""The ISO 20022 bank gateway against the bank simulator: files, lost answers, never twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from canonical import PaymentResult, PaymentStatus, PermanentError
from connectors.bank_iso import IsoBankGateway
from simulators import bank
from tests.builders import instruction


@pytest.fixture
def bank_app() -> object:
    return bank.create_app(seed=5)


@pytest.fixture
async def client(bank_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=bank_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bank.test") as client:
        yield client


async def _ledger(client: httpx.AsyncClient) -> list[dict[str, object]]:
    return list((await client.get("/admin/ledger")).json())


async def _faults(client: httpx.AsyncClient, **settings: object) -> None:
    response = await client.post("/admin/faults", json=settings)
    assert response.status_code == 200, response.text


async def test_a_batch_goes_out_as_one_payment_file_and_each_instruction_gets_its_verdict(client):
    gateway = IsoBankGateway(client)
    instructions = [instruction(n, f"{n}00.00") for n in range(1, 6)]

    answers = await gateway.submit_many(instructions)

    assert [a.instruction_id for a in answers if isinstance(a, PaymentResult)] == [
        i.id for i in instructions
    ]
    assert {a.status for a in answers if isinstance(a, PaymentResult)} == {PaymentStatus.SETTLED}
    stats = (await client.get("/admin/stats")).json()
    assert stats["received_messages"] == 1
    assert sorted(e["end_to_end_id"] for e in await _ledger(client)) == [i.id for i in instructions]


async def test_files_are_split_at_the_batch_size(client):
    gateway = IsoBankGateway(client, batch_size=2)

    await gateway.submit_many([instruction(n) for n in range(1, 6)])

    assert (await client.get("/admin/stats")).json()["received_messages"] == 3


async def test_a_lost_answer_is_resolved_by_asking_and_nothing_is_paid_twice(client):
    await _faults(client, lose_answer_rate=1.0, paths=["/iso20022/pain.001"])
    gateway = IsoBankGateway(client)
    instructions = [instruction(n) for n in range(1, 4)]

    answers = await gateway.submit_many(instructions)

    assert all(isinstance(a, PaymentResult) for a in answers)
    assert {a.status for a in answers if isinstance(a, PaymentResult)} == {PaymentStatus.SETTLED}
    assert len(await _ledger(client)) == 3
    await _faults(client)
    await gateway.submit_many(instructions)  # the whole batch again, as after a crash
    assert len(await _ledger(client)) == 3


async def test_an_unmappable_instruction_fails_alone(client):
    gateway = IsoBankGateway(client)
    bad = instruction(2, "10.005")  # a payment is never rounded: refused before sending

    good_one, refused, good_two = await gateway.submit_many([instruction(1), bad, instruction(3)])

    assert isinstance(refused, PermanentError)
    assert "amount" in str(refused)
    assert isinstance(good_one, PaymentResult)
    assert isinstance(good_two, PaymentResult)
    assert [e["end_to_end_id"] for e in await _ledger(client)] == ["D00000001", "D00000003"]


async def test_when_the_bank_cannot_be_reached_every_instruction_reports_a_transient_error():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(refuse), base_url="http://bank.test"
    ) as client:
        answers = await IsoBankGateway(client).submit_many([instruction(1), instruction(2)])

    assert [type(a).__name__ for a in answers] == ["TransientError", "TransientError"]


async def test_the_same_instruction_twice_is_sent_once_and_both_get_its_answer(client):
    gateway = IsoBankGateway(client, batch_size=2)
    first, second, again, other = await gateway.submit_many(
        [instruction(1), instruction(2), instruction(2), instruction(3)]
    )

    assert isinstance(again, PaymentResult)
    assert again == second
    assert isinstance(first, PaymentResult)
    assert isinstance(other, PaymentResult)
    ledger = [e["end_to_end_id"] for e in await _ledger(client)]
    assert sorted(ledger) == ["D00000001", "D00000002", "D00000003"]


async def test_a_refused_file_fails_only_its_own_instructions(bank_app, client):
    transport = httpx.ASGITransport(app=bank_app)  # type: ignore[arg-type]
    calls = 0

    async def refuse_second_file(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if request.url.path.endswith("pain.001"):
            calls += 1
            if calls == 2:
                return httpx.Response(400, text="file refused")
        return await transport.handle_async_request(request)

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(refuse_second_file), base_url="http://bank.test"
    ) as flaky:
        answers = await IsoBankGateway(flaky, batch_size=2).submit_many(
            [instruction(n) for n in range(1, 5)]
        )

    assert [type(a).__name__ for a in answers] == [
        "PaymentResult",
        "PaymentResult",
        "PermanentError",
        "PermanentError",
    ]
    assert sorted(e["end_to_end_id"] for e in await _ledger(client)) == ["D00000001", "D00000002"]
