"""The first end-to-end flow on every transport and database: ERP push -> bank payment."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import httpx
import pytest
from sqlalchemy import func, select

from canonical import Envelope
from hub.persistence.tables import OutboxRow, RequestEventRow
from simulators.erp.dataset import generate_invoices
from simulators.erp.payloads import hub_path, render
from simulators.erp.pusher import push_cases
from tests.databases import fresh_postgres
from tests.e2e.stack import SEED, Stack, running_stack

LEGS = [
    pytest.param(("embedded", "sqlite"), id="embedded-sqlite"),
    pytest.param(("embedded", "postgres"), id="embedded-postgres", marks=pytest.mark.postgres),
    pytest.param(("kafka", "sqlite"), id="kafka-sqlite", marks=pytest.mark.kafka),
    pytest.param(
        ("kafka", "postgres"), id="kafka-postgres", marks=[pytest.mark.kafka, pytest.mark.postgres]
    ),
    pytest.param(("rabbitmq", "sqlite"), id="rabbitmq-sqlite", marks=pytest.mark.rabbitmq),
    pytest.param(
        ("rabbitmq", "postgres"),
        id="rabbitmq-postgres",
        marks=[pytest.mark.rabbitmq, pytest.mark.postgres],
    ),
]

EXPECTED_REASON = {"order_amount_mismatch": "MATCH_AMOUNT", "quantity_over_delivery": "MATCH_QTY"}


@pytest.fixture(scope="module", params=LEGS)
async def stack(request, tmp_path_factory, rabbit_url, kafka_bootstrap):
    transport, database = request.param
    broker_url = {"embedded": None, "kafka": f"kafka://{kafka_bootstrap}", "rabbitmq": rabbit_url}[
        transport
    ]
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
        async with running_stack(url, broker_url) as running:
            yield running
    else:
        async with fresh_postgres() as url, running_stack(url, broker_url) as running:
            yield running


async def test_pushed_invoices_are_matched_registered_and_paid_exactly_once(stack: Stack):
    cases = generate_invoices(
        SEED, 40, stack.companies, {"order_amount_mismatch": 0.1, "quantity_over_delivery": 0.1}
    )
    results = await push_cases(stack.ingress_url, cases, concurrency=8)
    assert all(r.status_code == 202 for r in results), [r for r in results if not r.ok][:2]
    ids = {r.case_id: r.body["request_id"] for r in results}  # type: ignore[index]
    await stack.settle(len(ids))

    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        states = {
            case.case_id: (await client.get(f"/v1/requests/{ids[case.case_id]}")).json()
            for case in cases
        }
    for case in cases:
        state = states[case.case_id]
        if case.expected_outcome == "disbursable":
            assert state["state"] == "DISBURSED", (state["reason"], state["detail"])
            expected = (case.invoice.total * Decimal("0.80")).quantize(Decimal("0.01"), ROUND_DOWN)
            fee = (case.invoice.total * Decimal("0.005")).quantize(Decimal("0.01"), ROUND_HALF_UP)
            paid = state["disbursement"]
            assert Decimal(paid["principal"]) == expected
            assert Decimal(paid["fee"]) == fee  # §6.0: 0.5 % of the face, deducted
            assert Decimal(paid["amount"]) == expected - fee
            assert [h["state"] for h in state["history"]] == [
                "SUBMITTED",
                "MATCHED",
                "LIMIT_RESERVED",
                "REGISTERED",
                "DISBURSING",
                "DISBURSED",
            ]
        else:  # a mismatch waits for an operator (the policy's match_exceptions: review)
            assert state["state"] == "MATCH_REVIEW"
            assert state["reason"] == EXPECTED_REASON[case.expected_outcome]

    ledger = await stack.bank_ledger()
    disbursed = [s for s in states.values() if s["state"] == "DISBURSED"]
    assert len(ledger) == len(disbursed)
    executed = Counter(entry["end_to_end_id"] for entry in ledger)
    assert max(executed.values()) == 1
    assert {s["disbursement"]["instruction_id"] for s in disbursed} == set(executed)


async def test_the_same_document_pushed_twice_gets_the_same_id_and_creates_nothing(stack: Stack):
    case = generate_invoices(SEED + 1, 1, stack.companies, {})[0]
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        first = await client.post(hub_path(case), content=render(case))
        second = await client.post(hub_path(case), content=render(case))
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["request_id"] == second.json()["request_id"]
    assert (first.json()["status"], second.json()["status"]) == ("accepted", "duplicate")


async def test_redelivered_messages_change_nothing(stack: Stack):
    await stack.settle(0)
    before = (await stack.bank_stats())["executed"], await _history_size(stack)
    async with stack.hub.units() as uow:
        rows = (
            await uow.session.execute(
                select(OutboxRow.topic, OutboxRow.payload).order_by(OutboxRow.id)
            )
        ).all()
    assert rows, "the earlier tests of this module left messages to redeliver"
    await stack.hub.transport.publish(
        [(topic, Envelope.model_validate_json(payload)) for topic, payload in rows]
    )
    await asyncio.sleep(2.0)
    await stack.settle(0)
    assert ((await stack.bank_stats())["executed"], await _history_size(stack)) == before


async def _history_size(stack: Stack) -> int:
    async with stack.hub.units() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(RequestEventRow)) or 0)
