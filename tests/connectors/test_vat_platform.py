"""The 查验 connector against the VAT platform simulator: batches, answers, failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from canonical import PermanentError, TransientError
from canonical.verification import InvoiceVerification, TaxStatus, VerificationResult
from connectors.vat_platform import HttpVerificationGateway
from mappings.vat_einvoice import einvoice_to_canonical
from simulators import vat

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=8)))


async def _setup(client: httpx.AsyncClient, count: int = 3) -> list:  # type: ignore[type-arg]
    listed = (await client.get("/admin/invoices")).json()[:count]
    return [
        einvoice_to_canonical(
            (await client.get(f"/api/v1/einvoice/{i['invoiceNo']}/xml")).content, received_at=NOW
        )
        for i in listed
    ]


def _client() -> httpx.AsyncClient:
    app = vat.create_app(seed=0, clock=lambda: NOW)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vat")


async def test_a_batch_is_one_request_answered_invoice_by_invoice():
    async with _client() as client:
        invoices = await _setup(client)
        await client.post("/admin/scenario", json={"invoices": [{"index": 1, "status": "void"}]})
        answers = await HttpVerificationGateway(client, clock=lambda: NOW).verify_many(invoices)
        received = [r["path"] for r in (await client.get("/admin/received")).json()]
    assert all(isinstance(a, InvoiceVerification) for a in answers)
    assert [a.result for a in answers] == [VerificationResult.CONSISTENT] * 3  # type: ignore[union-attr]
    assert [a.status for a in answers] == [TaxStatus.NORMAL, TaxStatus.VOID, TaxStatus.NORMAL]  # type: ignore[union-attr]
    assert received.count("/api/v1/invoice/verify/batch") == 1


async def test_a_busy_platform_fails_the_batch_transiently_and_a_broken_answer_for_good():
    async with _client() as client:
        invoices = await _setup(client, 2)
        gateway = HttpVerificationGateway(client, clock=lambda: NOW)
        await client.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
        busy = await gateway.verify_many(invoices)
        await client.put("/admin/faults", json={"malformed_rate": 1})
        broken = await gateway.verify_many(invoices)
    assert all(isinstance(a, TransientError) for a in busy)
    assert all(isinstance(a, PermanentError) for a in broken)


async def test_the_batch_endpoint_refuses_an_empty_or_oversized_batch_naming_the_field():
    async with _client() as client:
        for body in ({"invoices": []}, {"invoices": [{}] * 201}, {"nothing": 1}):
            answer = (await client.post("/api/v1/invoice/verify/batch", json=body)).json()
            assert answer["cyjgdm"] == "005"
            assert answer["errors"][0]["field"] == "invoices"
