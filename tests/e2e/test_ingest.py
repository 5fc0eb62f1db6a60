"""`POST /v1/ingest/{format}`: every inbound format through one endpoint, stored once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hub.app import Hub
from hub.config import Settings
from hub.ingress import create_app
from hub.persistence.tables import DocumentRow, RequestRow
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

FIXTURES = Path(__file__).parents[1] / "mappings" / "fixtures"
COMPANIES = generate_companies(5, sellers=2, buyers=2)
KINGDEE = next(c for c in generate_invoices(5, 20, COMPANIES, {}) if c.vendor == "kingdee")


@pytest.fixture
async def ingress(sqlite_url):
    settings = replace(Settings.from_env({}), database_url=sqlite_url, max_body_bytes=64 * 1024)
    async with Hub(settings, consume=False) as hub:
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield hub, client


async def _count(hub: Hub, row: type) -> int:
    async with hub.units() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(row)) or 0)


async def test_an_invoice_format_becomes_the_same_request_as_on_the_erp_endpoint(ingress):
    hub, client = ingress
    by_format = await client.post("/v1/ingest/kingdee-sales-invoice", content=render(KINGDEE))
    assert by_format.status_code == 202
    body = by_format.json()
    assert (body["kind"], body["status"], body["format"]) == (
        "request",
        "accepted",
        "kingdee-sales-invoice",
    )
    by_vendor = await client.post("/v1/erp/kingdee/invoices", content=render(KINGDEE))
    assert by_vendor.json() == {
        "request_id": body["id"],
        "status": "duplicate",
        "links": {"self": f"/v1/requests/{body['id']}"},
    }
    assert await _count(hub, RequestRow) == 1


async def test_a_family_name_recognises_the_format_and_stores_the_document_once(ingress):
    hub, client = ingress
    raw = (FIXTURES / "pain002_acsc.xml").read_bytes()
    first = await client.post("/v1/ingest/bank", content=raw)
    assert first.status_code == 202
    assert first.json()["kind"] == "document"
    assert first.json()["format"] == "pain002"
    again = await client.post("/v1/ingest/pain002", content=raw)
    assert again.json()["status"] == "duplicate"
    assert again.json()["id"] == first.json()["id"]
    assert await _count(hub, DocumentRow) == 1
    stored = (await client.get(first.json()["links"]["self"])).json()
    assert stored["format"] == "pain002"
    assert stored["canonical"]["results"][0]["status"] == "SETTLED"
    assert len(stored["fingerprint"]) == 64


async def test_a_bad_document_gets_the_erp_endpoints_error_shape_and_nothing_is_stored(ingress):
    hub, client = ingress
    response = await client.post("/v1/ingest/pain002", content=b"<Document><broken></Document>")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid document"
    assert body["source"] == "pain002"
    assert body["problems"][0]["reason"].startswith("not well-formed XML")
    assert await _count(hub, DocumentRow) == 0


async def test_a_document_no_format_of_the_family_recognises_is_refused(ingress):
    _, client = ingress
    response = await client.post("/v1/ingest/bank", content=render(KINGDEE))
    assert response.status_code == 422
    assert "no format of family 'bank' recognises" in response.json()["problems"][0]["reason"]


async def test_an_unknown_format_is_404_with_the_known_names(ingress):
    _, client = ingress
    response = await client.post("/v1/ingest/sap-idoc", content=b"{}")
    assert response.status_code == 404
    assert "kingdee-sales-invoice" in response.json()["formats"]
    assert (await client.get("/v1/documents/DOCNOPE")).status_code == 404


async def test_an_oversized_document_is_413(ingress):
    _, client = ingress
    response = await client.post("/v1/ingest/pain002", content=b"<" * (64 * 1024 + 1))
    assert response.status_code == 413


async def test_post_calc_answers_the_issues_example_quote_and_lists_bad_fields(ingress):
    from tests.routes.test_quote_example import EXAMPLE_INPUT, EXAMPLE_OUTPUT

    _, client = ingress
    answer = await client.post("/v1/calc", json=EXAMPLE_INPUT)
    assert answer.status_code == 200
    assert answer.json() == EXAMPLE_OUTPUT
    bad = await client.post("/v1/calc", json={**EXAMPLE_INPUT, "as_of": "2026-02-30"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid document"
    assert [p["path"] for p in bad.json()["problems"]] == ["/as_of"]
