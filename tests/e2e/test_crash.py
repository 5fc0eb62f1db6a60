"""SIGKILL the hub mid-batch, again and again: nothing is lost and nothing is paid twice."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from hub.app import utc_now
from hub.demo import facility_terms
from hub.operations import open_facilities
from hub.persistence import Database, UnitOfWorkFactory
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.processes import HubProcess, SimulatorProcess

pytestmark = pytest.mark.slow

SEED = 23
KILL_AFTER_S = (0.7, 1.3, 0.4, 2.0, 1.0)


async def _open_facilities(database_url: str, companies) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        await open_facilities(
            UnitOfWorkFactory(database, utc_now), facility_terms(companies.sellers, one_small=False)
        )
    finally:
        await database.aclose()


async def test_a_hub_killed_at_random_instants_loses_nothing_and_pays_nothing_twice(tmp_path):
    companies = generate_companies(SEED, sellers=4, buyers=8)
    cases = generate_invoices(SEED, 300, companies)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await _open_facilities(database_url, companies)
    sims = SimulatorProcess(tmp_path, SEED)
    hub = HubProcess(
        {
            "FACTORHUB_DATABASE_URL": database_url,
            "FACTORHUB_REGISTRY_URL": sims.urls["registry"]["base_url"],
            "FACTORHUB_BANK_URL": sims.urls["bank"]["base_url"],
        },
        tmp_path / "hub.log",
    )
    try:
        await asyncio.to_thread(hub.start)
        pushing = asyncio.create_task(
            push_cases(hub.url, cases, concurrency=4, rate=150, retries=60, backoff_s=0.25)
        )
        for delay in KILL_AFTER_S:
            await asyncio.sleep(delay)
            await asyncio.to_thread(hub.kill)
            await asyncio.to_thread(hub.start)
        results = await pushing
        assert all(r.status_code == 202 for r in results), [r for r in results if not r.ok][:3]
        ids = sorted({r.body["request_id"] for r in results})  # type: ignore[index]
        assert len(ids) == len(cases)

        states = await _wait_terminal(hub.url, ids)
        async with httpx.AsyncClient(base_url=sims.urls["bank"]["admin_url"]) as bank:
            ledger = (await bank.get("/ledger")).json()
            stats = (await bank.get("/stats")).json()
    finally:
        hub.stop()
        sims.stop()

    assert stats["max_executions_per_end_to_end_id"] <= 1
    executed = Counter(e["end_to_end_id"] for e in ledger)
    disbursed = {
        s["disbursement"]["instruction_id"]: s for s in states if s["state"] == "DISBURSED"
    }
    assert set(executed) == set(disbursed), "the bank paid exactly what the hub recorded"
    for entry in ledger:
        assert entry["amount"] == disbursed[entry["end_to_end_id"]]["disbursement"]["amount"]
    assert Counter(s["state"] for s in states)["DISBURSED"] >= len(cases) * 0.8


async def _wait_terminal(url: str, ids: list[str], timeout_s: float = 120.0) -> list[dict]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while True:
            states = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
            pending = [s for s in states if not (s["terminal"] or s["awaiting_operator"])]
            if not pending:
                return states
            if loop.time() > deadline:
                raise AssertionError(f"{len(pending)} request(s) not terminal: {pending[:2]}")
            await asyncio.sleep(0.5)
