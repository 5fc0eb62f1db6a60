"""YonBIP pushes invoice events, encrypted and signed, until the subscriber answers `success`."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from simulators import runner, yonyou
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.runner import running_simulators
from simulators.yonyou.crypto import decrypt_event
from tests.simulators.conftest import asgi_client
from tests.simulators.test_sim_yonyou import INVOICE, MovableClock, _new_invoice, _token


class Subscriber:
    """A hub-like receiver: answers `answers[n]` to the n-th push, then `success`."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        self.answers = list(answers)
        self.holders: list[dict[str, Any]] = []
        self.app = FastAPI()

        @self.app.post("/yonyou/events")
        async def receive(request: Request) -> PlainTextResponse:
            self.holders.append(await request.json())
            status, text = self.answers.pop(0) if self.answers else (200, "success")
            return PlainTextResponse(text, status)


@contextlib.asynccontextmanager
async def _served(subscriber: Subscriber) -> AsyncIterator[str]:
    runner.SIMULATORS["yonyou-subscriber"] = lambda seed: subscriber.app
    try:
        async with running_simulators(["yonyou-subscriber"]) as sims:
            yield f"{sims['yonyou-subscriber'].base_url}/yonyou/events"
    finally:
        del runner.SIMULATORS["yonyou-subscriber"]


def _open(holder: dict[str, Any], app: dict[str, str]) -> dict[str, Any]:
    parts = "".join(sorted([str(holder["timestamp"]), holder["nonce"], holder["encrypt"]]))
    digest = hmac.new(app["app_secret"].encode(), parts.encode(), hashlib.sha256).digest()
    assert holder["signature"] == base64.b64encode(digest).decode()
    content = json.loads(
        decrypt_event(holder, app_key=app["app_key"], app_secret=app["app_secret"])
    )
    assert content["tenantId"] == app["tenant_id"]
    return content


async def test_approving_a_saved_invoice_pushes_insert_then_audit_retried_until_success():
    clock = MovableClock()
    sim = yonyou.create_app(seed=4, clock=clock)
    subscriber = Subscriber((200, '{"success":"true"}'), (500, "busy"))
    async with _served(subscriber) as url, asgi_client(sim) as client:
        scenario = {"subscriber": {"url": url}, "callbacks": {"retry_ms": 10}}
        assert (await client.post("/admin/scenario", json=scenario)).status_code == 200
        token = await _token(client, clock)
        saved = await client.post(
            f"{INVOICE}/save", params={"access_token": token}, json={"data": _new_invoice()}
        )
        invoice_id = saved.json()["data"]["id"]
        await sim.state.events.sender.drain()
        approved = await client.post(f"/admin/invoices/{invoice_id}/approve")
        assert approved.json()["businessState"] == 2
        again = await client.post(f"/admin/invoices/{invoice_id}/approve")
        assert again.status_code == 409
        await sim.state.events.sender.drain()
        state = (await client.get("/admin/state")).json()
    await sim.state.events.sender.aclose()
    app = state["apps"][0]
    contents = [_open(h, app) for h in subscriber.holders]
    # the first push is retried twice: a JSON "success" and a 500 are not acknowledgements
    assert [c["type"] for c in contents] == [
        "SD_VOUCHERSALEINVOICE_INSERT",
        "SD_VOUCHERSALEINVOICE_INSERT",
        "SD_VOUCHERSALEINVOICE_INSERT",
        "SD_VOUCHERSALEINVOICE_AUDIT",
    ]
    assert len({c["eventId"] for c in contents}) == 2
    model = json.loads(contents[-1]["content"])["model"]
    assert (str(model["id"]), model["status"], model["businessState"]) == (invoice_id, 1, 2)
    assert len(model["einvoiceHm"]) == 20
    events = state["events"]
    assert (events["pushed"], events["delivered"]) == (2, 2)
    assert [a["status"] for a in events["list"][0]["attempts"]] == [200, 500, 200]
    assert events["list"][0]["attempts"][0]["answer"] == '{"success":"true"}'


async def test_approve_on_save_pushes_both_events_and_duplicates_can_be_injected():
    clock = MovableClock()
    sim = yonyou.create_app(seed=4, clock=clock)
    subscriber = Subscriber()
    async with _served(subscriber) as url, asgi_client(sim) as client:
        await client.put("/admin/subscriber", json={"url": url})
        await client.put("/admin/callbacks", json={"duplicate_rate": 1})
        await client.post("/admin/scenario", json={"approve_on_save": True})
        token = await _token(client, clock)
        saved = await client.post(
            f"{INVOICE}/save", params={"access_token": token}, json={"data": _new_invoice()}
        )
        await sim.state.events.sender.drain()
        detail = await client.get(
            f"{INVOICE}/detail",
            params={"id": saved.json()["data"]["id"], "access_token": token},
        )
        app = (await client.get("/admin/state")).json()["apps"][0]
    await sim.state.events.sender.aclose()
    assert detail.json()["data"]["status"] == 1
    contents = [_open(h, app) for h in subscriber.holders]
    by_event = Counter((c["eventId"], c["type"][-6:]) for c in contents)
    assert sorted(by_event.values()) == [2, 2]  # each event delivered twice
    assert sorted(kind for _, kind in by_event) == ["INSERT", "_AUDIT"]


async def test_seeded_invoices_can_be_pushed_as_approval_events_to_feed_the_hub():
    sim = yonyou.create_app(seed=4)
    subscriber = Subscriber()
    async with _served(subscriber) as url, asgi_client(sim) as client:
        refused = await client.post("/admin/events/seeded")
        assert refused.status_code == 409
        bad = await client.put("/admin/subscriber", json={"url": url, "app_key": "nobody"})
        assert bad.status_code == 422
        await client.post("/admin/scenario", json={"invoices": 8, "subscriber": {"url": url}})
        cases = generate_invoices(4, 8, generate_companies(4))
        expected = sum(c.vendor == "yonyou" for c in cases)
        assert expected >= 2
        assert (await client.post("/admin/events/seeded")).json() == {"pushed": expected}
        await sim.state.events.sender.drain()
        state = (await client.get("/admin/state")).json()
    await sim.state.events.sender.aclose()
    contents = [_open(h, state["apps"][0]) for h in subscriber.holders]
    codes = [json.loads(c["content"])["model"]["code"] for c in contents]
    seeded = [i["code"] for i in state["invoices"]["list"]]
    assert codes == seeded
    assert state["events"]["delivered"] == expected
