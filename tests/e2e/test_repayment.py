"""After the money went out: repayments through the waterfall, the revolving limit given back,
and the daily job's overdue review with early warnings (§2.7, §3.6, §3.7, §4.1)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select

from hub.daily import run_daily
from hub.persistence.tables import OutboxRow
from routes.policy import DEFAULT_FACTOR_ACCOUNT
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, request_body, running_stack, until_state

TODAY = date.today()


async def _disbursed(stack: Stack, count: int) -> list[str]:
    seller = stack.companies.sellers[0]
    cases = [
        c
        for c in generate_invoices(
            SEED, 40, stack.companies, {}, issued_from=TODAY - timedelta(days=10)
        )
        if c.seller == seller
    ][:count]
    results = await push_cases(stack.ingress_url, cases, concurrency=1)
    await stack.settle(len(results))
    return [r.body["request_id"] for r in results]  # type: ignore[index]


async def _used(stack: Stack, seller_uscc: str) -> Decimal:
    async with stack.hub.units() as uow:
        facility = await uow.facilities.get(seller_uscc)
    assert facility is not None
    return facility.used.amount


async def _warnings(stack: Stack) -> list[str]:
    async with stack.hub.units() as uow:
        return list(
            await uow.session.scalars(
                select(OutboxRow.payload).where(OutboxRow.topic == "risk.early-warning")
            )
        )


async def test_repayments_run_the_waterfall_give_the_limit_back_and_settle_the_loan(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        (request_id,) = await _disbursed(stack, 1)
        body = await request_body(client, request_id)
        assert body["state"] == "DISBURSED"
        loan = body["loan"]
        principal = Decimal(loan["principal"])
        assert Decimal(body["disbursement"]["principal"]) == principal
        fee = (Decimal(body["total"]) * Decimal("0.005")).quantize(Decimal("0.01"))
        assert Decimal(body["disbursement"]["amount"]) == principal - fee  # deducted (§6.0)
        assert loan["outstanding"] == loan["principal"]
        assert date.fromisoformat(loan["maturity"]) > TODAY
        seller = body["seller_uscc"]
        used_before = await _used(stack, seller)

        partial = {
            "request_id": request_id,
            "reference": "BANK-0001",
            "value_date": TODAY.isoformat(),
            "amount": "50000.00",
        }
        assert (await client.post("/v1/repayments", json=partial)).status_code == 202
        body = await until_state(client, request_id, "PARTIALLY_REPAID")
        # paid on the day of disbursement: no interest yet, and the fee was deducted from
        # the payout, so all of it is principal
        repaid = Decimal("50000.00")
        assert Decimal(body["loan"]["outstanding"]) == principal - repaid
        assert await _used(stack, seller) == used_before - repaid  # revolving: given back

        assert (await client.post("/v1/repayments", json=partial)).status_code == 202
        await asyncio.sleep(0.3)
        again = await request_body(client, request_id)
        assert len(again["loan"]["repayments"]) == 1  # the same payment counts once
        assert again["loan"]["outstanding"] == body["loan"]["outstanding"]

        rest = {**partial, "reference": "BANK-0002", "amount": f"{principal:f}"}
        assert (await client.post("/v1/repayments", json=rest)).status_code == 202
        settled = await until_state(client, request_id, "SETTLED")
        assert settled["loan"]["outstanding"] == "0.00"
        assert await _used(stack, seller) == used_before - principal


async def test_a_repayment_naming_nothing_that_can_take_it_is_refused_with_the_field(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        good = {
            "request_id": "FR-NOPE",
            "reference": "B1",
            "value_date": TODAY.isoformat(),
            "amount": "1.00",
        }
        missing = await client.post("/v1/repayments", json=good)
        assert missing.status_code == 404
        assert missing.json()["problems"][0]["path"] == "/request_id"
        floated = await client.post("/v1/repayments", json={**good, "amount": 1.5})
        assert floated.status_code == 422
        assert [p["path"] for p in floated.json()["problems"]] == ["/amount"]
        negative = await client.post("/v1/repayments", json={**good, "amount": "-3.00"})
        assert negative.status_code == 422


async def test_the_daily_job_moves_late_loans_to_overdue_and_warns_once_per_level(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        late, paid = await _disbursed(stack, 2)
        maturity = date.fromisoformat((await request_body(client, late))["loan"]["maturity"])
        paid_body = await request_body(client, paid)
        settle_all = {
            "request_id": paid,
            "reference": "BANK-9",
            "value_date": TODAY.isoformat(),
            "amount": f"{Decimal(paid_body['total']):f}",
        }
        assert (await client.post("/v1/repayments", json=settle_all)).status_code == 202
        await until_state(client, paid, "SETTLED")

        within_grace = await run_daily(stack.hub.units, maturity + timedelta(days=3))
        assert within_grace.reviewed == 1  # the settled loan is not reviewed
        assert within_grace.became_overdue == []
        assert [w[1] for w in within_grace.warned] == ["WATCH"]
        assert (await request_body(client, late))["state"] == "DISBURSED"

        month = await run_daily(stack.hub.units, maturity + timedelta(days=30))
        assert month.became_overdue == [late]
        assert [(w[1], w[2]) for w in month.warned] == [("ALERT", 30)]
        assert (await request_body(client, late))["state"] == "OVERDUE"

        assert (await run_daily(stack.hub.units, maturity + timedelta(days=31))).warned == []

        npl = await run_daily(stack.hub.units, maturity + timedelta(days=91))
        assert [w[1] for w in npl.warned] == ["NON_PERFORMING"]
        body = await request_body(client, late)
        assert (body["state"], body["reason"]) == ("OVERDUE", "NON_PERFORMING")
        assert body["loan"]["early_warning"] == "NON_PERFORMING"
        assert len(await _warnings(stack)) == 3

        # an overdue loan leaves OVERDUE only when it is settled
        part = {**settle_all, "request_id": late, "reference": "BANK-10", "amount": "100.00"}
        assert (await client.post("/v1/repayments", json=part)).status_code == 202
        await asyncio.sleep(0.3)
        assert (await request_body(client, late))["state"] == "OVERDUE"


async def test_the_banks_booking_notice_confirms_payouts_and_applies_credits_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        (request_id,) = await _disbursed(stack, 1)
        body = await request_body(client, request_id)
        invoice = body["invoice"]
        account = DEFAULT_FACTOR_ACCOUNT.number
        bank = stack.sims["bank"]
        async with httpx.AsyncClient() as sim:
            booked = await sim.post(
                f"{bank.admin_url}/credits",
                json={
                    "account": account,
                    "amount": "60000.00",
                    "debtor_name": "某某汽车零部件有限公司",
                    "debtor_account": "6222020200001234567",
                    "remittance": f"货款 发票号码 {invoice}",
                    "reference": "CRDT-0001",
                },
            )
            assert booked.status_code == 201, booked.text
            notice = await sim.get(
                f"{bank.base_url}/iso20022/camt.054", params={"account": account}
            )
        answer = await client.post("/v1/bank/camt054", content=notice.content)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"settled": 1, "repayments": 1, "unmatched": []}
        repaid = await until_state(client, request_id, "PARTIALLY_REPAID")
        assert [r["reference"] for r in repaid["loan"]["repayments"]] == ["CRDT-0001"]
        assert Decimal(repaid["loan"]["outstanding"]) < Decimal(body["loan"]["principal"])

        again = await client.post("/v1/bank/camt054", content=notice.content)
        assert again.status_code == 200
        await asyncio.sleep(0.3)
        later = await request_body(client, request_id)
        assert len(later["loan"]["repayments"]) == 1  # the same booking counts once
        assert later["loan"]["outstanding"] == repaid["loan"]["outstanding"]
        assert [h["state"] for h in later["history"]].count("DISBURSED") == 1

        garbage = await client.post("/v1/bank/camt054", content=b"<Document/>")
        assert garbage.status_code == 422
