"""A whole running stack for end-to-end tests: simulators, the hub and its HTTP ingress."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import httpx

from hub.app import Hub
from hub.config import Settings
from hub.demo import facility_terms
from hub.operations import StateCounts, count_states, open_facilities
from hub.runtime.retry import RetryPolicy
from hub.serving import running_ingress
from simulators.erp.dataset import Companies, generate_companies
from simulators.runner import RunningSimulator, running_simulators

SEED = 11


@dataclass
class Stack:
    hub: Hub
    ingress_url: str
    sims: dict[str, RunningSimulator]
    companies: Companies

    async def bank_stats(self) -> dict[str, int]:
        async with httpx.AsyncClient(base_url=self.sims["bank"].admin_url) as client:
            return dict((await client.get("/stats")).json())

    async def bank_ledger(self) -> list[dict[str, str]]:
        async with httpx.AsyncClient(base_url=self.sims["bank"].admin_url) as client:
            return list((await client.get("/ledger")).json())

    async def settle(self, expected_total: int, timeout_s: float = 90.0) -> StateCounts:
        """Wait until `expected_total` requests exist and all are terminal."""
        deadline = time.monotonic() + timeout_s
        while True:
            counts = await count_states(self.hub.units)
            if counts.total >= expected_total and counts.terminal == counts.total:
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout_s}s: {counts}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def running_stack(
    database_url: str, broker_url: str | None = None, *, verify: bool = False
) -> AsyncIterator[Stack]:
    """`verify`: the VAT platform simulator runs too and the hub verifies every invoice."""
    companies = generate_companies(SEED, sellers=4, buyers=8)
    names = ["registry", "bank", *(["vat"] if verify else [])]
    async with running_simulators(names, seed=SEED) as sims:
        settings = replace(
            Settings.from_env({}),
            database_url=database_url,
            broker_url=broker_url,
            registry_url=sims["registry"].base_url,
            bank_url=sims["bank"].base_url,
            vat_url=sims["vat"].base_url if verify else None,
            retry=RetryPolicy(attempts=4, initial=0.05, maximum=0.5),
            http_timeout=5.0,
        )
        async with Hub(settings) as hub:
            await open_facilities(hub.units, facility_terms(companies.sellers, one_small=False))
            async with running_ingress(hub) as url:
                yield Stack(hub=hub, ingress_url=url, sims=sims, companies=companies)
