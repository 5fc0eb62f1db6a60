"""Settled financings give their receivables back: the daily job cancels our 中登网 registration
(注销登记, §1.7 step 5), once, and keeps trying a cancellation the registry cannot take, listing
it as late past T + 10 working days; an application rejected after its registration was filed
has it cancelled the same way (compensation)."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from hub.daily import run_daily
from hub.deregistration import working_days_after
from hub.persistence.tables import RegistrationRow
from routes.policy import DEFAULT_FACTOR_ACCOUNT
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, request_body, running_stack

TODAY = date.today()


async def _settled(stack: Stack, client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """`count` financings paid out, then repaid in full by the debtor at maturity."""
    cases = [
        c
        for c in generate_invoices(
            SEED, 30, stack.companies, {}, issued_from=TODAY - timedelta(days=10)
        )
        if c.expected_outcome == "disbursable"
    ][:count]
    results = await push_cases(stack.ingress_url, cases, concurrency=1)
    await stack.settle(len(results))
    bodies = []
    for result in results:
        body = await request_body(client, result.body["request_id"])  # type: ignore[index]
        repay = {
            "request_id": body["request_id"],
            "reference": f"BANK-{body['request_id']}",
            "value_date": TODAY.isoformat(),
            "amount": body["total"],  # the debtor pays the face: everything owed, and more
        }
        assert (await client.post("/v1/repayments", json=repay)).status_code == 202
        bodies.append(body)
    deadline = time.monotonic() + 20
    for body in bodies:
        while (await request_body(client, body["request_id"]))["state"] != "SETTLED":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    return bodies


async def _registration(stack: Stack, request_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.sims["registry"].base_url) as registry:
        number = await _number(stack, request_id)
        answer = await registry.get(f"/registrations/{number}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _number(stack: Stack, request_id: str) -> str:
    async with stack.hub.units() as uow:
        number = await uow.session.scalar(
            select(RegistrationRow.registration_no).where(RegistrationRow.request_id == request_id)
        )
    assert number is not None
    return str(number)


async def test_the_daily_job_cancels_a_settled_financings_registration_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        (paid, other) = await _settled(stack, client, 2)
        before = await _registration(stack, paid["request_id"])
        registry = stack.hub.services.registry
        first = await run_daily(stack.hub.units, TODAY, registry=registry)
        after = await _registration(stack, paid["request_id"])
        again = await run_daily(stack.hub.units, TODAY, registry=registry)
        history = (await request_body(client, paid["request_id"]))["history"]

    assert before["cancelled_at"] is None
    assert after["cancelled_at"] is not None  # the registry cancelled it
    assert sorted(first.deregistration.cancelled) == sorted(
        [paid["request_id"], other["request_id"]]
    )
    assert first.deregistration.failed == []
    assert again.deregistration.cancelled == []  # once
    notes = [h["note"] or "" for h in history if h["state"] == "SETTLED"]
    assert any(n.startswith("中登网 注销登记 of 登记证明编号") for n in notes)


async def test_a_cancellation_the_registry_cannot_take_is_retried_and_flagged_late(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        (paid,) = await _settled(stack, client, 1)
        registry = stack.hub.services.registry
        admin = httpx.AsyncClient(base_url=stack.sims["registry"].admin_url)
        async with admin:
            faults = {"error_rate": 1.0, "error_status": 503, "paths": ["/registrations/"]}
            assert (await admin.put("/faults", json=faults)).status_code == 200
            down = await run_daily(stack.hub.units, TODAY, registry=registry)
            deadline = working_days_after(TODAY, 10)
            late = await run_daily(stack.hub.units, deadline + timedelta(days=1), registry=registry)
            assert (await admin.put("/faults", json={})).status_code == 200
        back = await run_daily(stack.hub.units, deadline + timedelta(days=1), registry=registry)
        cancelled = await _registration(stack, paid["request_id"])

    assert [r for r, _ in down.deregistration.failed] == [paid["request_id"]]
    assert down.deregistration.late == []  # not late yet on the day it settled
    assert late.deregistration.late == [paid["request_id"]]
    assert back.deregistration.cancelled == [paid["request_id"]]
    assert cancelled["cancelled_at"] is not None


def test_the_deadline_counts_weekdays_only():
    friday = date(2026, 11, 27)
    assert working_days_after(friday, 1) == date(2026, 11, 30)  # the Monday after
    assert working_days_after(friday, 10) == date(2026, 12, 11)


async def test_a_payout_the_bank_refuses_ends_rejected_and_its_registration_is_cancelled(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        async with httpx.AsyncClient(base_url=stack.sims["bank"].admin_url) as admin:
            empty = {"account": DEFAULT_FACTOR_ACCOUNT.number, "balance": "0.00"}
            assert (await admin.post("/balances", json=empty)).status_code == 200
        case = next(
            c
            for c in generate_invoices(SEED, 10, stack.companies, {})
            if c.expected_outcome == "disbursable"
        )
        (result,) = await push_cases(stack.ingress_url, [case])
        await stack.settle(1)
        refused = await request_body(client, result.body["request_id"])  # type: ignore[index]
        before = await _registration(stack, refused["request_id"])
        report = await run_daily(stack.hub.units, TODAY, registry=stack.hub.services.registry)
        after = await _registration(stack, refused["request_id"])
        history = (await request_body(client, refused["request_id"]))["history"]

    assert (refused["state"], refused["reason"]) == ("REJECTED", "BANK_AM04")
    assert before["cancelled_at"] is None  # registered before the bank refused to pay
    assert report.deregistration.cancelled == [refused["request_id"]]
    assert after["cancelled_at"] is not None
    assert history[-1]["note"].endswith("the application ended REJECTED")
