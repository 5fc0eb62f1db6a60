"""The bank's asynchronous status reports (pain.002 callbacks), late, duplicated and out of
order, reach the flow through `POST /v1/bank/pain002` and change nothing they should not."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack


async def test_duplicated_and_reordered_callbacks_are_acknowledged_and_pay_nothing_twice(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        bank = stack.sims["bank"]
        async with httpx.AsyncClient(base_url=bank.admin_url) as admin:
            settings = {
                "url": f"{stack.ingress_url}/v1/bank/pain002",
                "duplicate_rate": 1,
                "reorder_ms": 150,
                "retry_ms": 20,
            }
            assert (await admin.put("/callbacks", json=settings)).status_code == 200
            cases = generate_invoices(SEED, 16, stack.companies, {})
            results = await push_cases(stack.ingress_url, cases, concurrency=4)
            counts = await stack.settle(len(results))
            for _ in range(100):  # the last callbacks are still on their way
                deliveries = (await admin.get("/callbacks")).json()["deliveries"]
                if deliveries and all(d["acknowledged"] for d in deliveries):
                    break
                await asyncio.sleep(0.1)
        assert deliveries
        assert all(d["acknowledged"] for d in deliveries)
        assert all(len(d["attempts"]) >= 2 for d in deliveries)  # each delivered twice
        assert counts.dead_letters == 0
        assert counts.by_state == {"DISBURSED": len(results)}
        ledger = await stack.bank_ledger()
        assert max(Counter(e["end_to_end_id"] for e in ledger).values()) == 1
        applier = next(c for c in stack.hub.consumers if c.route.group == "apply-payment-result")
        assert applier.handled >= 3 * len(results)  # our own result, then each callback twice
        after = await stack.settle(len(results))
        assert after.by_state == counts.by_state  # the repeats moved nothing


async def test_a_status_report_that_is_not_a_pain002_is_refused_with_its_problems(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        answer = await client.post("/v1/bank/pain002", content=b"<Document><oops/></Document>")
        assert answer.status_code == 422
        assert answer.json()["source"] == "pain002"
        assert answer.json()["problems"]
