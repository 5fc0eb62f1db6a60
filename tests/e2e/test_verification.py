"""Every invoice is verified with the tax platform (§3.2) before it is financed: void,
red-flushed and out-of-control invoices are refused with their reason, the rest are paid."""

from __future__ import annotations

import httpx

from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack

COUNT = 12
MARKS = {
    0: ("void", "INVOICE_VOID"),
    1: ("red_full", "INVOICE_RED_FLUSHED"),
    2: ("out_of_control", "INVOICE_OUT_OF_CONTROL"),
}


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
    for index, (_, reason) in MARKS.items():
        assert (states[index]["state"], states[index]["reason"]) == ("REJECTED", reason)
    assert all(s["state"] == "DISBURSED" for i, s in enumerate(states) if i not in MARKS)
    assert counts.dead_letters == 0
    assert set(checked["queries"]) == {c.invoice.number for c in cases}  # each one asked
    assert "查验" in states[0]["detail"]


async def test_an_invoice_the_platform_does_not_know_yet_waits_with_its_reason(tmp_path):
    import asyncio

    from hub.operations import count_states

    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url, verify=True) as stack:
        section = {"dataset": {"count": 2, "sellers": 4, "buyers": 8, "anomaly_rate": 0.03}}
        async with httpx.AsyncClient(base_url=stack.sims["vat"].admin_url) as admin:
            assert (await admin.post("/scenario", json=section)).status_code == 200
        unknown = generate_invoices(SEED, 3, stack.companies, {})[2]  # beyond what it holds
        (result,) = await push_cases(stack.ingress_url, [unknown])
        for _ in range(200):
            counts = await count_states(stack.hub.units)
            if counts.dead_letters:
                break
            await asyncio.sleep(0.05)
        async with stack.hub.units() as uow:
            letters = await uow.dead_letters.list()
            current = await uow.requests.state_of(result.body["request_id"])  # type: ignore[index]
    assert counts.by_state == {"SUBMITTED": 1}  # not rejected: it is asked again on replay
    assert current is not None
    assert current[0] == "SUBMITTED"
    assert "not_found" in letters[0].error
