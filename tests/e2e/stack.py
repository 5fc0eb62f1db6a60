"""A whole running stack for end-to-end tests: simulators, the hub and its HTTP ingress."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import httpx

from hub.app import Hub, utc_now
from hub.config import Settings
from hub.demo import facility_terms
from hub.operations import StateCounts, count_states, open_facilities
from hub.runtime.retry import RetryPolicy
from hub.serving import running_ingress
from routes.policy import FlowPolicy, Policy, flow_policy
from simulators.erp.dataset import Companies, generate_companies
from simulators.runner import RunningSimulator, running_simulators

SEED = 11

__all__ = ["SEED", "Stack", "request_body", "running_stack", "until_state"]


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

    async def request_in(self, request_id: str, *states: str) -> dict[str, Any]:
        """The request's body once it is in one of `states` (asserted within 30 s)."""
        async with httpx.AsyncClient(base_url=self.ingress_url) as client:
            return await until_state(client, request_id, *states)

    async def settle(
        self, expected_total: int, timeout_s: float = 90.0, *, or_dead_lettered: bool = False
    ) -> StateCounts:
        """Wait until `expected_total` requests exist and all are at rest: terminal or waiting
        for an operator (or, with `or_dead_lettered`, held by a dead letter)."""
        deadline = time.monotonic() + timeout_s
        while True:
            counts = await count_states(self.hub.units)
            done = counts.at_rest + (counts.dead_letters if or_dead_lettered else 0)
            if counts.total >= expected_total and done >= counts.total:
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout_s}s: {counts}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def running_stack(
    database_url: str,
    broker_url: str | None = None,
    *,
    verify: bool = False,
    credit: bool = False,
    channel: Literal["iso20022", "soap", "ecny"] = "iso20022",
    companies: Companies | None = None,
    retry: RetryPolicy | None = None,
    clock: Callable[[], datetime] = utc_now,
    policy: FlowPolicy | None = None,
) -> AsyncIterator[Stack]:
    """`verify`: the VAT platform simulator runs too and the hub verifies every invoice.
    `credit`: the credit bureau simulator runs too and the hub checks every seller and buyer.
    `channel`: the payment channel the policy chooses; `soap` also runs the bank core
    simulator, `ecny` the e-CNY operator simulator (the hub reads its keys and wallets from its
    admin API, and its notifies come back to the ingress's `/v1/ecny/notify`).
    `companies`: the sellers and buyers (default: 4 sellers, 8 buyers of the seed's dataset;
    the e-CNY simulator has wallets for the seed's default dataset, `generate_companies(SEED)`).
    `retry`: the hub's retry policy (default: 4 quick attempts). `clock`: the hub's clock (a
    test moves it to "the next day"). `policy`: the flow policy (default: the channel's)."""
    companies = companies or generate_companies(SEED, sellers=4, buyers=8)
    partner = {"iso20022": [], "soap": ["bankcore"], "ecny": ["ecny"]}[channel]
    names = ["registry", "bank", *(["vat"] if verify else []), *partner]
    names += ["credit"] if credit else []
    ingress_port = _free_port() if channel == "ecny" else 0
    async with running_simulators(names, seed=SEED) as sims:
        settings = replace(
            Settings.from_env({}),
            database_url=database_url,
            broker_url=broker_url,
            registry_url=sims["registry"].base_url,
            bank_url=sims["bank"].base_url,
            vat_url=sims["vat"].base_url if verify else None,
            credit_url=sims["credit"].base_url if credit else None,
            credit_token="tyc-sim-token" if credit else None,  # the simulator's default account
            retry=retry or RetryPolicy(attempts=4, initial=0.05, maximum=0.5),
            http_timeout=5.0,
        )
        if channel == "soap":
            settings = replace(settings, bankcore_url=sims["bankcore"].base_url)
        if channel == "ecny":
            settings = replace(
                settings,
                ecny_url=sims["ecny"].base_url,
                ecny_from_simulator=True,
                ecny_notify_url=f"http://127.0.0.1:{ingress_port}/v1/ecny/notify",
            )
        if policy is None and channel != "iso20022":
            policy = flow_policy(Policy(disbursement_channel=channel))
        async with Hub(settings, policy=policy, clock=clock) as hub:
            await open_facilities(hub.units, facility_terms(companies.sellers, one_small=False))
            async with running_ingress(hub, port=ingress_port) as url:
                yield Stack(hub=hub, ingress_url=url, sims=sims, companies=companies)


async def request_body(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    """`GET /v1/requests/{request_id}`, which must answer 200."""
    answer = await client.get(f"/v1/requests/{request_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def until_state(
    client: httpx.AsyncClient, request_id: str, *states: str, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Poll the request until it is in one of `states`; fail naming where it is stuck."""
    deadline = time.monotonic() + timeout_s
    while (body := await request_body(client, request_id))["state"] not in states:
        assert time.monotonic() < deadline, f"{request_id} stuck in {body['state']}"
        await asyncio.sleep(0.05)
    return body


def _free_port() -> int:
    """A loopback port free now (the e-CNY notify URL must be known before the ingress runs)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
