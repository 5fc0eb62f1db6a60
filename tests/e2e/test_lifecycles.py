"""The receivable, limit reservation and registration of a running application (§4.2-4.4):
`GET /v1/requests/{id}` shows each one's state and every move, with the message that made it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from hub.daily import run_daily
from routes.policy import DEFAULT_FACTOR_ACCOUNT
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, request_body, running_stack, until_state

TODAY = date.today()


async def _one(stack: Stack) -> str:
    case = next(
        c
        for c in generate_invoices(
            SEED, 20, stack.companies, {}, issued_from=TODAY - timedelta(days=10)
        )
        if c.expected_outcome == "disbursable"
    )
    (result,) = await push_cases(stack.ingress_url, [case])
    await stack.settle(1)
    return str(result.body["request_id"])  # type: ignore[index]


def _moves(lifecycle: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(m["from_state"], m["to_state"], m["message_type"]) for m in lifecycle["history"]]


async def _repay(client: httpx.AsyncClient, request_id: str, reference: str, amount: str) -> None:
    repayment = {
        "request_id": request_id,
        "reference": reference,
        "value_date": TODAY.isoformat(),
        "amount": amount,
    }
    assert (await client.post("/v1/repayments", json=repayment)).status_code == 202


async def test_a_paid_out_repaid_and_deregistered_application_shows_every_lifecycle_move(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        request_id = await _one(stack)
        paid = await request_body(client, request_id)
        await _repay(client, request_id, "BANK-1", "50000.00")
        await until_state(client, request_id, "PARTIALLY_REPAID")
        await _repay(client, request_id, "BANK-2", paid["total"])  # the rest, and more
        await until_state(client, request_id, "SETTLED")
        report = await run_daily(stack.hub.units, TODAY, registry=stack.hub.services.registry)
        body = await request_body(client, request_id)

    assert report.deregistration.cancelled == [request_id]
    assert paid["receivable"]["state"] == "FINANCED"
    assert paid["reservation"]["state"] == "CONSUMED"
    assert paid["registration"]["state"] == "REGISTERED"
    receivable, reservation, registration = (
        body["receivable"],
        body["reservation"],
        body["registration"],
    )
    assert receivable["state"] == "COLLECTED"
    assert _moves(receivable) == [
        ("IMPORTED", "ELIGIBLE", "FinancingSubmitted"),
        ("ELIGIBLE", "RESERVED", "DocumentsMatched"),
        ("RESERVED", "REGISTERED", "LimitReserved"),
        ("REGISTERED", "FINANCED", "PaymentReported"),
        ("FINANCED", "PARTIALLY_COLLECTED", "RepaymentReceived"),
        ("PARTIALLY_COLLECTED", "COLLECTED", "RepaymentReceived"),
    ]
    assert [m["event"] for m in receivable["history"]][:3] == [
        "verification_passed, match_passed, eligibility_checked",
        "locked",
        "assigned, registration_confirmed",
    ]
    assert reservation["state"] == "RELEASED"  # revolving: every repaid fen given back
    assert _moves(reservation) == [
        (None, "RESERVED", "DocumentsMatched"),
        ("RESERVED", "CONSUMED", "PaymentReported"),
        ("CONSUMED", "PARTIALLY_RELEASED", "RepaymentReceived"),
        ("PARTIALLY_RELEASED", "RELEASED", "RepaymentReceived"),
    ]
    assert registration["state"] == "CANCELLED"
    assert _moves(registration) == [
        ("DRAFT", "REGISTERED", "LimitReserved"),
        ("REGISTERED", "CANCELLED", f"jobs daily --as-of {TODAY}"),
    ]
    history = [*receivable["history"], *reservation["history"], *registration["history"]]
    by_message = {h["message_id"]: h["message_type"] for h in body["history"] if h["message_id"]}
    for move in history:  # each names the very message the application's history names
        if move["message_id"] is not None:
            assert by_message[move["message_id"]] == move["message_type"]


async def test_a_payout_the_bank_refuses_gives_the_hold_back_and_frees_the_receivable(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        async with httpx.AsyncClient(base_url=stack.sims["bank"].admin_url) as admin:
            empty = {"account": DEFAULT_FACTOR_ACCOUNT.number, "balance": "0.00"}
            assert (await admin.post("/balances", json=empty)).status_code == 200
        request_id = await _one(stack)
        body = await request_body(client, request_id)

    assert (body["state"], body["reason"]) == ("REJECTED", "BANK_AM04")
    assert body["reservation"]["state"] == "CANCELLED"  # §4.3 cancel (解冻): the hold given back
    assert _moves(body["reservation"]) == [
        (None, "RESERVED", "DocumentsMatched"),
        ("RESERVED", "CANCELLED", "PaymentReported"),
    ]
    assert body["receivable"]["state"] == "ELIGIBLE"
    assert _moves(body["receivable"])[-1] == ("REGISTERED", "ELIGIBLE", "PaymentReported")
    assert body["registration"]["state"] == "REGISTERED"  # until the daily job cancels it
