"""The flow against misbehaving partners: lost answers, errors, latency — zero double payments."""

from __future__ import annotations

from collections import Counter

import httpx

from hub.operations import replay
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack


async def _faults(admin_url: str, **settings: object) -> None:
    async with httpx.AsyncClient(base_url=admin_url) as client:
        answer = await client.put("/faults", json=settings)
        assert answer.status_code == 200, answer.text


async def test_lost_answers_and_errors_at_the_bank_and_registry_never_pay_twice(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        bank, registry = stack.sims["bank"].admin_url, stack.sims["registry"].admin_url
        # the bank executes every payment file, then its answer is lost; the registry loses
        # some answers and fails some calls outright; everything is a little slow and jittery
        await _faults(bank, lose_answer_rate=1, paths=["/iso20022/pain.001"], seed=3)
        await _faults(registry, lose_answer_rate=0.3, error_rate=0.1, jitter_ms=30, seed=4)
        cases = generate_invoices(SEED, 40, stack.companies, {})
        results = await push_cases(stack.ingress_url, cases, concurrency=8)
        assert all(r.status_code == 202 for r in results)
        # an application whose partner kept failing waits, with its dead letter as the reason
        counts = await stack.settle(len(results), timeout_s=120, or_dead_lettered=True)
        assert counts.at_rest + counts.dead_letters == counts.total
        # ...and the operator replays it once the partner is well again
        await _faults(registry)
        await replay(stack.hub.units, None)
        counts = await stack.settle(len(results), timeout_s=60)
        assert counts.dead_letters == 0
        ledger = await stack.bank_ledger()
        executed = Counter(entry["end_to_end_id"] for entry in ledger)
        assert executed
        assert max(executed.values()) == 1  # never twice
        assert counts.by_state.get("DISBURSED", 0) == len(executed)
        async with httpx.AsyncClient(base_url=bank) as client:
            injected = (await client.get("/faults")).json()["injected"]
        assert injected.get("lose_answer", 0) > 0  # the faults really happened
