"""What the bank is told to pay is what `factorhub calc` quotes: the principal less the fee and,
under the discount method, the interest to maturity (§2.3, §2.4, §6.0).

The programme is routes/policies/bank_discount.yaml: 90 % advance, 4.5 % ACT/365 discounted up
front, a 0.3 % fee deducted, a 10-day receivable grace period. For each invoice, worked here
from the case itself: principal = total x 0.90 down to the fen; fee = total x 0.003 half-up;
interest = principal x 0.045 x days(payout day, due date + 10) / 365 half-up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from routes.policy import flow_policy, load_policy
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, request_body, running_stack, until_state

POLICY = Path(__file__).parents[2] / "routes" / "policies" / "bank_discount.yaml"
FEN = Decimal("0.01")


async def test_a_discounted_programme_pays_the_principal_less_fee_and_interest_to_maturity(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    policy = flow_policy(load_policy(POLICY))
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    async with running_stack(url, policy=policy) as stack:
        cases = [
            c
            for c in generate_invoices(
                SEED, 24, stack.companies, {}, issued_from=today - timedelta(days=10)
            )
            if c.expected_outcome == "disbursable"
        ][:4]
        results = await push_cases(stack.ingress_url, cases, concurrency=1)
        await stack.settle(len(results))
        ids = [r.body["request_id"] for r in results]  # type: ignore[index]
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            bodies = [await request_body(client, i) for i in ids]
            ledger = {e["end_to_end_id"]: Decimal(e["amount"]) for e in await stack.bank_ledger()}
            paid = bodies[0]
            principal = Decimal(paid["disbursement"]["principal"])
            repay = {
                "request_id": paid["request_id"],
                "reference": "BANK-1",
                "value_date": paid["loan"]["maturity"],
                "amount": f"{principal:f}",
            }
            assert (await client.post("/v1/repayments", json=repay)).status_code == 202
            settled = await until_state(client, paid["request_id"], "SETTLED")

    assert [b["state"] for b in bodies] == ["DISBURSED"] * len(cases), [
        (b["reason"], b["detail"]) for b in bodies
    ]
    for case, body in zip(cases, bodies, strict=True):
        total = case.invoice.total
        payout = body["disbursement"]
        maturity = case.due_date + timedelta(days=10)
        days = (maturity - today).days
        principal = (total * Decimal("0.90")).quantize(FEN, ROUND_DOWN)
        fee = (total * Decimal("0.003")).quantize(FEN, ROUND_HALF_UP)
        interest = (principal * Decimal("0.045") * days / 365).quantize(FEN, ROUND_HALF_UP)
        assert date.fromisoformat(body["loan"]["maturity"]) == maturity
        assert Decimal(payout["principal"]) == principal
        assert Decimal(payout["fee"]) == fee
        assert Decimal(payout["upfront_interest"]) == interest
        assert Decimal(payout["amount"]) == principal - fee - interest
        assert ledger[payout["instruction_id"]] == principal - fee - interest  # what the bank paid
        assert Decimal(body["loan"]["principal"]) == principal  # what the seller owes
    # the interest was prepaid: the principal alone settles the loan at maturity
    assert settled["loan"]["outstanding"] == "0.00"
