"""Every invoice is verified with the tax platform (§3.2) before it is financed: void,
red-flushed and out-of-control invoices are refused with their reason, the rest are paid; one
the platform does not know yet, or will not check today, is asked again the next day (the hub's
clock is moved, not slept on), up to the policy's max_retry_days."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.persistence.tables import OutboxRow
from routes.later import next_business_morning
from routes.policy import FlowPolicy
from routes.verification import RETRY_REASON
from simulators.erp.dataset import generate_invoices
from simulators.erp.payloads import hub_path, render
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, running_stack

COUNT = 12
MARKS = {
    0: ("void", "INVOICE_VOID"),
    1: ("red_full", "INVOICE_RED_FLUSHED"),
    2: ("out_of_control", "INVOICE_OUT_OF_CONTROL"),
}


async def test_a_partly_red_flushed_invoice_is_paid_on_what_its_red_letters_leave(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url, verify=True) as stack:
        section = {
            "dataset": {"count": 2, **DATASET},
            "invoices": [{"index": 0, "status": "red_partial", "red_amount": "10000.00"}],
        }
        await _platform(stack, section)
        case = generate_invoices(SEED, 2, stack.companies, {})[0]
        (result,) = await push_cases(stack.ingress_url, [case])
        await stack.settle(1)
        paid = await _state(stack, result.body["request_id"])  # type: ignore[index]
        platform = stack.sims["vat"].app.state.platform  # type: ignore[attr-defined]
        red = platform.invoices[platform.markings[case.invoice.number].red_number]
    # the red letter takes 10,000.00 + its tax off the face; 80 % of what is left is financed
    left = case.invoice.total - abs(red.total)
    assert 0 < left < case.invoice.total
    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
    expected = (left * Decimal("0.80")).quantize(Decimal("0.01"), ROUND_DOWN)
    assert Decimal(paid["disbursement"]["principal"]) == expected
    matched = next(h for h in paid["history"] if h["state"] == "MATCHED")
    assert f"partly red-flushed: eligible face {left}" in matched["note"]


async def test_the_tax_platforms_verdict_decides_before_anything_is_reserved(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url, verify=True) as stack:
        # the platform knows the same invoices the ERPs push (same seed, companies, count)
        section = {
            "dataset": {"count": COUNT, "sellers": 4, "buyers": 8, "anomaly_rate": 0.03},
            "invoices": [{"index": i, "status": mark} for i, (mark, _) in MARKS.items()],
        }
        async with httpx.AsyncClient(base_url=stack.sims["vat"].admin_url) as admin:
            assert (await admin.post("/scenario", json=section)).status_code == 200
        cases = generate_invoices(SEED, COUNT, stack.companies, {})
        results = await push_cases(stack.ingress_url, cases, concurrency=4)
        ids = [r.body["request_id"] for r in results]  # type: ignore[index]
        counts = await stack.settle(len(ids))
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            states = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
        async with httpx.AsyncClient(base_url=stack.sims["vat"].admin_url) as admin:
            checked = (await admin.get("/state")).json()
        async with stack.hub.units() as uow:
            rows = await uow.session.scalars(
                select(OutboxRow.payload).where(OutboxRow.topic == "risk.early-warning")
            )
            warnings = [json.loads(r) for r in rows]
    for index, (_, reason) in MARKS.items():
        assert (states[index]["state"], states[index]["reason"]) == ("REJECTED", reason)
    assert all(s["state"] == "DISBURSED" for i, s in enumerate(states) if i not in MARKS)
    assert counts.dead_letters == 0
    assert set(checked["queries"]) == {c.invoice.number for c in cases}  # each one asked
    assert "查验" in states[0]["detail"]
    (warning,) = warnings  # the out-of-control invoice also warns on its seller (§3.6)
    assert warning["body"]["trigger"] == "INVOICE_OUT_OF_CONTROL"
    assert warning["body"]["request_id"] == ids[2]


class MovableClock:
    """The hub's clock; the test moves it to "the next day"."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def next_day(self) -> None:
        """To a minute past 09:00 China time the next day, when the retries are due."""
        self.now = next_business_morning(self.now) + timedelta(minutes=1)


async def _platform(stack: Stack, section: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=stack.sims["vat"].admin_url) as admin:
        assert (await admin.post("/scenario", json=section)).status_code == 200


async def _waiting(stack: Stack, count: int) -> None:
    """Until `count` timers wait (the applications were asked and scheduled for tomorrow)."""
    for _ in range(400):
        async with stack.hub.units() as uow:
            if await uow.timers.count_pending() >= count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} timers scheduled")


async def _state(stack: Stack, request_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        return dict((await client.get(f"/v1/requests/{request_id}")).json())


DATASET = {"sellers": 4, "buyers": 8, "anomaly_rate": 0.03}


async def test_a_not_found_invoice_is_verified_again_the_next_day_and_then_financed(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    clock = MovableClock()
    async with running_stack(url, verify=True, clock=clock) as stack:
        await _platform(stack, {"dataset": {"count": 2, **DATASET}})
        unknown = generate_invoices(SEED, 3, stack.companies, {})[2]  # beyond what it holds
        (result,) = await push_cases(stack.ingress_url, [unknown])
        request_id = result.body["request_id"]  # type: ignore[index]
        await _waiting(stack, 1)
        waiting = await _state(stack, request_id)
        async with stack.hub.units() as uow:
            (timer,) = await uow.timers.pending()
            letters = await uow.dead_letters.count()

        await _platform(stack, {"dataset": {"count": 3, **DATASET}})  # it knows it now
        clock.next_day()
        counts = await stack.settle(1)
        paid = await _state(stack, request_id)
    assert (waiting["state"], waiting["reason"]) == ("SUBMITTED", RETRY_REASON)
    assert "not_found" in waiting["detail"]
    assert "attempt 2 of 4" in waiting["detail"]
    assert timer.request_id == request_id
    assert letters == 0  # waiting for tomorrow is no failure
    assert paid["state"] == "DISBURSED"
    assert counts.dead_letters == 0


async def test_after_max_retry_days_the_application_is_rejected_and_a_new_one_is_financed(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    clock = MovableClock()
    policy = FlowPolicy(max_retry_days=1)
    async with running_stack(url, verify=True, clock=clock, policy=policy) as stack:
        await _platform(stack, {"dataset": {"count": 2, **DATASET}})
        unknown = generate_invoices(SEED, 3, stack.companies, {})[2]
        (result,) = await push_cases(stack.ingress_url, [unknown])
        first = result.body["request_id"]  # type: ignore[index]
        await _waiting(stack, 1)
        clock.next_day()  # asked again: still not found, and no retry day left
        await stack.settle(1)
        rejected = await _state(stack, first)

        await _platform(stack, {"dataset": {"count": 3, **DATASET}})
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            answer = await client.post(
                hub_path(unknown),
                content=render(unknown),
                headers={"x-factorhub-tenant": "factor-b"},
            )
        second = answer.json()["request_id"]
        await stack.settle(2)
        financed = await _state(stack, second)
        async with stack.hub.units() as uow:
            pending = await uow.timers.count_pending()
        ledger = await stack.bank_ledger()
    assert (rejected["state"], rejected["reason"]) == ("REJECTED", "INVOICE_NOT_FOUND")
    assert "attempt 2 of 2" in rejected["detail"]
    assert second != first
    assert financed["state"] == "DISBURSED"  # the rejected application's lock did not hold it
    assert pending == 0
    assert len(ledger) == 1


async def test_a_rate_limited_batch_is_retried_the_next_day(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    clock = MovableClock()
    count = 6
    async with running_stack(url, verify=True, clock=clock) as stack:
        await _platform(stack, {"dataset": {"count": count, **DATASET}, "daily_limit": 1})
        cases = generate_invoices(SEED, count, stack.companies, {})
        queries = [
            {
                "invoiceNo": c.invoice.number,
                "invoiceDate": f"{c.invoice.issue_date:%Y%m%d}",
                "invoiceAmount": f"{c.invoice.total:.2f}",
            }
            for c in cases
        ]
        async with httpx.AsyncClient(base_url=stack.sims["vat"].base_url) as vat:
            # someone else used today's only check of each invoice
            used = await vat.post("/api/v1/invoice/verify/batch", json={"invoices": queries})
        assert [a["code"] for a in used.json()["results"]] == ["0000"] * count
        results = await push_cases(stack.ingress_url, cases, concurrency=count)
        ids = [r.body["request_id"] for r in results]  # type: ignore[index]
        await _waiting(stack, count)
        waiting = [await _state(stack, i) for i in ids]

        await _platform(stack, {"daily_limit": 5})  # a new day at the platform, too
        clock.next_day()
        counts = await stack.settle(count)
        paid = [await _state(stack, i) for i in ids]
    assert {(s["state"], s["reason"]) for s in waiting} == {("SUBMITTED", RETRY_REASON)}
    assert all("limit_exceeded" in s["detail"] for s in waiting)
    assert [s["state"] for s in paid] == ["DISBURSED"] * count
    assert counts.dead_letters == 0


@pytest.mark.parametrize(
    "transport",
    [
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
        pytest.param("kafka", marks=pytest.mark.kafka),
    ],
)
async def test_a_next_day_retry_is_delivered_through_a_broker_too(
    tmp_path, transport, rabbit_url, kafka_bootstrap
):
    """A fired timer is an outbox row like any other: the relay publishes it to the broker."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    broker = {"rabbitmq": rabbit_url, "kafka": f"kafka://{kafka_bootstrap}"}[transport]
    clock = MovableClock()
    async with running_stack(url, broker, verify=True, clock=clock) as stack:
        await _platform(stack, {"dataset": {"count": 2, **DATASET}})
        unknown = generate_invoices(SEED, 3, stack.companies, {})[2]
        (result,) = await push_cases(stack.ingress_url, [unknown])
        request_id = result.body["request_id"]  # type: ignore[index]
        await _waiting(stack, 1)
        await _platform(stack, {"dataset": {"count": 3, **DATASET}})
        clock.next_day()
        counts = await stack.settle(1, timeout_s=60)
        paid = await _state(stack, request_id)
    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
    assert counts.dead_letters == 0
