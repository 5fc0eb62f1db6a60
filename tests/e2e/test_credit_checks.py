"""Sellers and buyers are checked at the credit bureau before any limit is held (§3.6, §3.8): a
seller the bureau shows 注销 and a buyer on the 失信被执行人 list are refused with their reasons,
clean pairs are financed, and each enterprise is looked up once however many invoices name it."""

from __future__ import annotations

import httpx

from hub.operations import replay
from simulators.erp.dataset import ANOMALIES, generate_companies, generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack

COUNT = 30
CASE = "(2026)沪0115执1234号"


async def test_a_deregistered_seller_and_a_dishonest_buyer_are_refused_and_clean_pairs_paid(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    companies = generate_companies(SEED)  # the companies the bureau knows (same seed)
    cases = generate_invoices(SEED, COUNT, companies, dict.fromkeys(ANOMALIES, 0))
    seller = cases[0].seller
    buyer = next(c.buyer for c in cases if c.seller != seller)
    section = {
        "companies": [
            {"uscc": seller.uscc, "status": "注销", "status_date": "2026-08-01"},
            {
                "uscc": buyer.uscc,
                "dishonest": [
                    {
                        "case_no": CASE,
                        "court": "上海市浦东新区人民法院",
                        "amount": "1250000.00",
                        "registered_on": "2026-03-02",
                    }
                ],
            },
        ]
    }
    async with running_stack(url, credit=True, companies=companies) as stack:
        async with httpx.AsyncClient(base_url=stack.sims["credit"].admin_url) as admin:
            assert (await admin.post("/scenario", json=section)).status_code == 200
        results = await push_cases(stack.ingress_url, cases, concurrency=4)
        ids = [r.body["request_id"] for r in results]  # type: ignore[index]
        counts = await stack.settle(len(ids))
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            states = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
        async with httpx.AsyncClient(base_url=stack.sims["credit"].admin_url) as admin:
            bureau = (await admin.get("/state")).json()
        async with stack.hub.units() as uow:
            facility = await uow.facilities.get(seller.uscc)
    expected = [
        ("REJECTED", "SELLER_DEREGISTERED")
        if c.seller == seller
        else ("REJECTED", "BUYER_DISHONEST")
        if c.buyer == buyer
        else ("DISBURSED", None)
        for c in cases
    ]
    assert [(s["state"], s["reason"]) for s in states] == expected
    assert {"SELLER_DEREGISTERED", "BUYER_DISHONEST", None} == {r for _, r in expected}
    assert counts.dead_letters == 0
    refusals = {s["reason"]: s["detail"] for s in states if s["state"] == "REJECTED"}
    assert seller.uscc in refusals["SELLER_DEREGISTERED"]
    assert "注销" in refusals["SELLER_DEREGISTERED"]
    assert buyer.uscc in refusals["BUYER_DISHONEST"]
    assert CASE in refusals["BUYER_DISHONEST"]
    assert facility is not None
    assert (facility.reserved.amount, facility.used.amount) == (0, 0)  # refused before holding
    named = {c.seller.uscc for c in cases} | {c.buyer.uscc for c in cases}
    assert set(bureau["queries"]) == named  # every party asked about...
    assert all(q == {"tianyancha": 2} for q in bureau["queries"].values())  # ...once (2 calls)


async def test_while_the_bureau_is_down_applications_wait_and_a_replay_finances_them(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    companies = generate_companies(SEED)
    cases = generate_invoices(SEED, 3, companies, dict.fromkeys(ANOMALIES, 0))
    async with running_stack(url, credit=True, companies=companies) as stack:
        async with httpx.AsyncClient(base_url=stack.sims["credit"].admin_url) as admin:
            busy = {"error_rate": 1, "error_status": 503}
            assert (await admin.put("/faults", json=busy)).status_code == 200
            results = await push_cases(stack.ingress_url, cases)
            waiting = await stack.settle(len(results), or_dead_lettered=True)
            async with stack.hub.units() as uow:
                letters = await uow.dead_letters.list()
            assert (await admin.put("/faults", json={})).status_code == 200
        await replay(stack.hub.units, None)
        counts = await stack.settle(len(results))
    assert waiting.by_state == {"MATCHED": len(cases)}  # not rejected: the bureau was silent
    assert len(letters) == len(cases)
    assert all("credit-bureau" in letter.error and "503" in letter.error for letter in letters)
    assert counts.by_state == {"DISBURSED": len(cases)}
