"""The hub's mappers read what the simulators (written separately, from the same reference)
answer: a contract test between both sides of every format they share."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from canonical.verification import TaxStatus, VerificationResult
from mappings.formats import recognise
from mappings.vat_einvoice import einvoice_to_canonical
from mappings.vat_verification import verification_answer_to_canonical
from simulators import vat
from tests.simulators.conftest import asgi_client

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=CST)


async def _invoices(client: Any) -> list[dict[str, Any]]:
    listed = (await client.get("/admin/invoices")).json()
    return listed if isinstance(listed, list) else listed["invoices"]


def _query(invoice: dict[str, Any]) -> dict[str, str]:
    return {
        "invoiceNo": invoice["invoiceNo"],
        "invoiceDate": invoice["invoiceDate"],
        "invoiceAmount": invoice["totalAmount"],
    }


@pytest.mark.parametrize(
    ("mark", "result", "status"),
    [
        (None, VerificationResult.CONSISTENT, TaxStatus.NORMAL),
        ("void", VerificationResult.CONSISTENT, TaxStatus.VOID),
        ("red_full", VerificationResult.CONSISTENT, TaxStatus.RED_FLUSHED),
        ("out_of_control", VerificationResult.CONSISTENT, TaxStatus.OUT_OF_CONTROL),
        ("not_synced", VerificationResult.NOT_YET_CHECKABLE, None),
    ],
)
async def test_the_vat_platforms_answers_map_to_the_outcome_it_meant(mark, result, status):
    app = vat.create_app(seed=0, clock=lambda: NOW)
    async with asgi_client(app) as client:
        invoice = (await _invoices(client))[2]
        if mark:
            section = {"invoices": [{"index": 2, "status": mark}]}
            assert (await client.post("/admin/scenario", json=section)).status_code == 200
        raw = (await client.post("/api/v1/invoice/verify", json=_query(invoice))).content
    assert recognise(raw).name == "vat-verification-answer"
    answer = verification_answer_to_canonical(raw, received_at=NOW)
    assert answer.result is result
    assert answer.status is status
    if result is VerificationResult.CONSISTENT:
        assert answer.invoice is not None
        assert answer.invoice.total.amount == Decimal(invoice["totalAmount"])


async def test_a_wrong_amount_and_an_unknown_invoice_map_to_inconsistent_and_not_found():
    app = vat.create_app(seed=0, clock=lambda: NOW)
    async with asgi_client(app) as client:
        invoice = (await _invoices(client))[0]
        wrong = {**_query(invoice), "invoiceAmount": "1.00"}
        unknown = {**_query(invoice), "invoiceNo": "26441478101400000000"}
        answers = [
            (await client.post("/api/v1/invoice/verify", json=q)).content for q in (wrong, unknown)
        ]
    results = [verification_answer_to_canonical(a, received_at=NOW).result for a in answers]
    assert results == [VerificationResult.INCONSISTENT, VerificationResult.NOT_FOUND]


async def test_the_platforms_einvoice_xml_maps_to_the_invoice_it_verifies():
    app = vat.create_app(seed=0, clock=lambda: NOW)
    async with asgi_client(app) as client:
        invoice = (await _invoices(client))[1]
        raw = (await client.get(f"/api/v1/einvoice/{invoice['invoiceNo']}/xml")).content
    assert recognise(raw).name == "vat-einvoice-xml"
    mapped = einvoice_to_canonical(raw, received_at=NOW)
    assert mapped.number == invoice["invoiceNo"]
    assert mapped.total.amount == Decimal(invoice["totalAmount"])
