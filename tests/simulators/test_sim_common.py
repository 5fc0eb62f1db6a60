"""The fault switches, admin API and callbacks every simulator shares do what they say."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from simulators import runner
from simulators.common.admin import ScenarioError, install
from simulators.common.callbacks import CallbackFaults, CallbackSender
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client


def _toy(seed: int = 1) -> tuple[FastAPI, dict[str, Any]]:
    """A simulator in miniature: counts what it executed."""
    app = FastAPI()
    done: dict[str, Any] = {"executed": 0, "limit": None}

    def scenario(section: Any) -> None:
        if not isinstance(section.get("limit"), int):
            raise ScenarioError("limit must be an integer")
        done["limit"] = section["limit"]

    install(
        app,
        name="toy",
        seed=seed,
        state=lambda: dict(done),
        reset=lambda: done.update(executed=0, limit=None),
        scenario=scenario,
    )

    @app.post("/pay")
    async def pay(request: Request) -> JSONResponse:
        done["executed"] += 1
        return JSONResponse({"paid": (await request.json())["id"]})

    return app, done


async def _faults(client: httpx.AsyncClient, **settings: Any) -> None:
    response = await client.put("/admin/faults", json=settings)
    assert response.status_code == 200, response.text


async def test_an_injected_error_answers_at_once_and_executes_nothing():
    app, done = _toy()
    async with asgi_client(app) as client:
        await _faults(client, error_rate=1, error_status=429)
        answer = await client.post("/pay", json={"id": 1})
        assert answer.status_code == 429
        assert done["executed"] == 0
        assert (await client.get("/admin/faults")).json()["injected"] == {"error": 1}


async def test_a_lost_answer_is_a_504_after_the_work_was_done():
    app, done = _toy()
    async with asgi_client(app) as client:
        await _faults(client, lose_answer_rate=1)
        answer = await client.post("/pay", json={"id": 1})
        assert (answer.status_code, answer.content) == (504, b"")
        assert done["executed"] == 1
        assert (await client.get("/admin/state")).json()["executed"] == 1


async def test_a_malformed_answer_is_a_200_with_a_broken_body():
    app, done = _toy()
    async with asgi_client(app) as client:
        await _faults(client, malformed_rate=1)
        answer = await client.post("/pay", json={"id": 7})
        assert answer.status_code == 200
        with pytest.raises(ValueError, match=r"Expecting|Extra data|Invalid"):
            answer.json()
        assert done["executed"] == 1


async def test_latency_delays_the_answer_and_paths_limit_where_faults_apply():
    app, _ = _toy()
    async with asgi_client(app) as client:
        await _faults(client, latency_ms=150, paths=["/pay"])
        started = asyncio.get_running_loop().time()
        await client.post("/pay", json={"id": 1})
        assert asyncio.get_running_loop().time() - started >= 0.15
        await _faults(client, error_rate=1, paths=["/elsewhere"])
        assert (await client.post("/pay", json={"id": 2})).status_code == 200


@contextlib.asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[str]:
    """`app` as a real loopback server (faults that break connections need a real one)."""
    runner.SIMULATORS["under-test"] = lambda seed: app
    try:
        async with running_simulators(["under-test"], seed=1) as sims:
            yield sims["under-test"].base_url
    finally:
        del runner.SIMULATORS["under-test"]


async def test_a_reset_or_a_timeout_breaks_the_connection_and_executes_nothing():
    app, done = _toy()
    async with _served(app) as url, httpx.AsyncClient(base_url=url) as client:
        await _faults(client, reset_rate=1)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/pay", json={"id": 1})
        await _faults(client, timeout_rate=1, timeout_ms=100)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/pay", json={"id": 1})
        assert done["executed"] == 0


async def test_the_same_seed_injects_the_same_faults_in_the_same_order():
    outcomes = []
    for _ in range(2):
        app, _ = _toy(seed=42)
        async with asgi_client(app) as client:
            await _faults(client, error_rate=0.5)
            outcomes.append(
                [(await client.post("/pay", json={"id": i})).status_code for i in range(20)]
            )
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 503}


async def test_admin_reports_received_requests_loads_scenarios_and_resets():
    app, done = _toy()
    async with asgi_client(app) as client:
        await client.post("/pay", json={"id": 3})
        received = (await client.get("/admin/received")).json()
        assert [(r["path"], r["body"]) for r in received] == [("/pay", {"id": 3})]
        ok = await client.post("/admin/scenario", json={"limit": 5, "faults": {"error_rate": 0}})
        assert ok.status_code == 200
        assert done["limit"] == 5
        bad = await client.post("/admin/scenario", json={"limit": "many"})
        assert bad.json() == {
            "errors": [{"field": "scenario", "reason": "limit must be an integer"}]
        }
        bad_faults = await client.put("/admin/faults", json={"error_rate": 2})
        assert bad_faults.status_code == 422
        assert bad_faults.json()["errors"][0]["field"] == "error_rate"
        await client.post("/admin/reset")
        assert (await client.get("/admin/received")).json() == []
        assert done == {"executed": 0, "limit": None}


async def test_callbacks_are_retried_until_acknowledged_and_can_be_duplicated():
    seen: list[int] = []
    app = FastAPI()

    @app.post("/notify")
    async def notify(request: Request) -> JSONResponse:
        seen.append((await request.json())["n"])
        return JSONResponse({}, 500 if len(seen) < 3 else 200)

    sender = CallbackSender(seed=1, name="test")
    sender.configure(CallbackFaults(retry_ms=10, duplicate_rate=1))
    async with _served(app) as url:
        delivery = sender.send(f"{url}/notify", b'{"n": 1}')
        await sender.drain()
    await sender.aclose()
    assert delivery.acknowledged
    assert [a["status"] for a in delivery.attempts] == [500, 500, 200, 200]
    assert seen == [1, 1, 1, 1]
