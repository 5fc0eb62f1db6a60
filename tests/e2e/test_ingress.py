"""The ingress refuses bad input clearly and stores nothing; good input is stored once."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select

from hub.app import Hub
from hub.config import Settings
from hub.ingress import create_app
from hub.persistence.tables import OutboxRow, RequestRow
from routes.flow import ROUTES
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

COMPANIES = generate_companies(3, sellers=2, buyers=2)
KINGDEE = next(c for c in generate_invoices(3, 20, COMPANIES, {}) if c.vendor == "kingdee")
YONYOU = next(c for c in generate_invoices(3, 20, COMPANIES, {}) if c.vendor == "yonyou")
KINGDEE_PATH = "/v1/erp/kingdee/invoices"
YONYOU_PATH = "/v1/erp/yonyou/invoices"


@pytest.fixture
async def ingress(sqlite_url):
    settings = replace(Settings.from_env({}), database_url=sqlite_url, max_body_bytes=64 * 1024)
    async with Hub(settings, consume=False) as hub:
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield hub, client


async def _stored(hub: Hub) -> tuple[int, int]:
    async with hub.units() as uow:
        requests = await uow.session.scalar(select(func.count()).select_from(RequestRow))
        outbox = await uow.session.scalar(select(func.count()).select_from(OutboxRow))
    return int(requests or 0), int(outbox or 0)


def _kingdee_model() -> dict:
    body = json.loads(render(KINGDEE))
    data = body["data"] if isinstance(body["data"], dict) else json.loads(body["data"])
    body["data"] = data
    return body


async def test_a_valid_push_is_accepted_after_the_commit_with_a_link(ingress):
    hub, client = ingress
    response = await client.post(KINGDEE_PATH, content=render(KINGDEE))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "accepted"
    assert body["links"]["self"] == f"/v1/requests/{body['request_id']}"
    assert await _stored(hub) == (1, 1)
    status = (await client.get(body["links"]["self"])).json()
    assert status["state"] == "SUBMITTED"
    assert [h["state"] for h in status["history"]] == ["SUBMITTED"]


async def test_malformed_json_is_refused_with_422_and_nothing_stored(ingress):
    hub, client = ingress
    response = await client.post(KINGDEE_PATH, content=b'{"formid": "IV_SALESIC", "data": {')
    assert response.status_code == 422
    assert response.json()["problems"]
    assert await _stored(hub) == (0, 0)


async def test_every_bad_field_is_listed_with_its_path_value_and_reason(ingress):
    hub, client = ingress
    body = _kingdee_model()
    model = body["data"]["Model"]
    seller_uscc = body["data"]["SellerOrg"]["FSOCIALCRECODE"]
    body["data"]["SellerOrg"]["FSOCIALCRECODE"] = seller_uscc[:-1] + (
        "0" if seller_uscc[-1] != "0" else "1"
    )
    model["FHEADAUXPRICEFOR"] = -1
    model["FINVOICEDATE"] = ["not", "a", "date"]
    response = await client.post(KINGDEE_PATH, json=body)
    assert response.status_code == 422
    problems = response.json()["problems"]
    paths = {p["path"] for p in problems}
    assert "/data/SellerOrg/FSOCIALCRECODE" in paths
    assert "/data/Model/FHEADAUXPRICEFOR" in paths
    assert "/data/Model/FINVOICEDATE" in paths
    assert all(p["reason"] for p in problems)
    assert await _stored(hub) == (0, 0)


async def test_yonyou_money_sent_as_a_json_float_is_refused(ingress):
    hub, client = ingress
    text = render(YONYOU).decode()
    body = json.loads(text)
    assert isinstance(body["data"]["oriSum"], str)
    text = text.replace(f'"oriSum": "{body["data"]["oriSum"]}"', '"oriSum": 113000.5', 1)
    text = text.replace(f'"oriSum":"{body["data"]["oriSum"]}"', '"oriSum":113000.5', 1)
    response = await client.post(YONYOU_PATH, content=text.encode())
    assert response.status_code == 422
    assert any(p["path"] == "/data/oriSum" for p in response.json()["problems"])
    assert await _stored(hub) == (0, 0)


async def test_an_oversized_body_is_refused_with_413(ingress):
    hub, client = ingress
    response = await client.post(KINGDEE_PATH, content=b" " * (64 * 1024 + 1))
    assert response.status_code == 413
    assert await _stored(hub) == (0, 0)


async def test_an_unknown_erp_is_a_clear_404_or_422(ingress):
    _, client = ingress
    response = await client.post("/v1/erp/sap/invoices", content=render(KINGDEE))
    assert response.status_code in {404, 422}


async def test_an_unknown_request_is_404(ingress):
    _, client = ingress
    assert (await client.get("/v1/requests/FRNOPE")).status_code == 404


async def test_health_and_readiness_report_database_and_broker(ingress):
    _, client = ingress
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


async def test_the_bus_is_described_in_asyncapi_with_a_channel_per_topic(ingress):
    _, client = ingress
    document = (await client.get("/asyncapi.json")).json()
    assert document["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in document["channels"].values()}
    assert {
        "financing.submitted",
        "disbursement.requested",
        "payment.reported",
        "repayment.received",
        "risk.early-warning",
    } <= addresses
    receivers = [o for o in document["operations"].values() if o["action"] == "receive"]
    assert len(receivers) == len(ROUTES)  # one per consuming group
