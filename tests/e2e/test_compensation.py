"""A step that fails for good undoes the earlier ones: the limit comes back, the application
ends REJECTED with the step's reason, and the failed message waits in the dead-letter store."""

from __future__ import annotations

import httpx

from hub.operations import count_states
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack


async def test_a_registry_that_refuses_every_filing_releases_every_limit_and_rejects(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        async with httpx.AsyncClient(base_url=stack.sims["registry"].admin_url) as admin:
            answer = await admin.put("/faults", json={"error_rate": 1, "error_status": 400})
            assert answer.status_code == 200
        cases = generate_invoices(SEED, 12, stack.companies, {})
        results = await push_cases(stack.ingress_url, cases, concurrency=4)
        ids = [r.body["request_id"] for r in results]  # type: ignore[index]
        counts = await stack.settle(len(ids))
        assert counts.by_state == {"REJECTED": len(ids)}
        assert counts.dead_letters == len(ids)  # each failed filing kept for a replay
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            states = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
        assert {s["reason"] for s in states} == {"REGISTRATION_FAILED"}
        assert all("registration failed for good" in s["detail"] for s in states)
        assert [h["state"] for h in states[0]["history"]][-1] == "REJECTED"
        async with stack.hub.units() as uow:
            for seller in stack.companies.sellers:
                facility = await uow.facilities.get(seller.uscc)
                assert facility is not None
                assert facility.reserved.amount == 0  # every hold given back
        assert await stack.bank_ledger() == []
        assert (await count_states(stack.hub.units)).terminal == len(ids)
