"""The hub's YonBIP detail reader (mappings.yonyou_detail) reads what the YonBIP simulator,
written separately from the same reference (formats-inbound §1.5), answers to
`vouchersaleinvoice/detail`: a contract test between both sides, checked against the dataset the
simulator was seeded from."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from canonical import InvoiceKind, InvoiceStatus, MappingError, Party, PartyRole
from mappings.erp import InvoicePush
from mappings.formats import recognise
from mappings.yonyou_detail import yonbip_invoice_detail_to_canonical
from simulators import yonyou
from simulators.erp.dataset import (
    STANDARD_CASES,
    GeneratedCase,
    generate_companies,
    generate_invoices,
)
from tests.simulators.conftest import asgi_client

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=CST)
SEED = 7
TOKEN = "/open-auth/selfAppAuth/getAccessToken"
INVOICE = "/yonbip/sd/vouchersaleinvoice"
COMPANIES = generate_companies(SEED)
CASES = [c for c in generate_invoices(SEED, STANDARD_CASES, COMPANIES) if c.vendor == "yonyou"]


class Tenant:
    """The simulator, signed in: a token for the business calls."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client, self.token = client, token

    async def detail(self, invoice_id: object) -> bytes:
        params = {"id": str(invoice_id), "access_token": self.token}
        return (await self.client.get(f"{INVOICE}/detail", params=params)).content

    async def save(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"data": {**data, "_status": "Insert"}, "resubmitCheckKey": "contract-1"}
        params = {"access_token": self.token}
        answer: dict[str, Any] = (
            await self.client.post(f"{INVOICE}/save", params=params, json=body)
        ).json()
        assert answer["code"] == "200", answer
        return answer


@pytest.fixture
async def tenant() -> AsyncIterator[Tenant]:
    async with asgi_client(yonyou.create_app(seed=SEED, clock=lambda: NOW)) as client:
        app = (await client.get("/admin/state")).json()["apps"][0]
        timestamp = str(int(NOW.timestamp() * 1000))
        text = f"appKey{app['app_key']}timestamp{timestamp}"
        signature = base64.b64encode(
            hmac.new(app["app_secret"].encode(), text.encode(), hashlib.sha256).digest()
        ).decode()
        params = {"appKey": app["app_key"], "timestamp": timestamp, "signature": signature}
        token = (await client.get(TOKEN, params=params)).json()["data"]["access_token"]
        yield Tenant(client, token)


def _seller(case: GeneratedCase) -> Party:
    """The detail answer names the seller by orgId only: its USCC comes from the org master."""
    return Party(name=case.seller.name, uscc=case.seller.uscc, role=PartyRole.SELLER)


def _check(push: Any, case: GeneratedCase) -> None:
    assert isinstance(push, InvoicePush)
    invoice = push.invoice
    total = sum((line.total for line in case.invoice.lines), Decimal(0))
    assert invoice.number == case.invoice.number  # einvoiceHm, the 数电 number
    assert invoice.kind is (
        InvoiceKind.SPECIAL if case.invoice.kind == "special" else InvoiceKind.ORDINARY
    )
    assert invoice.issue_date == case.invoice.issue_date
    assert invoice.due_date == case.due_date  # maturityDate
    assert invoice.status is InvoiceStatus.NORMAL
    assert invoice.seller.uscc == case.seller.uscc
    assert invoice.buyer.uscc == case.buyer.uscc
    assert invoice.total.amount == total
    assert invoice.amount.amount + invoice.tax.amount == total
    assert [line.quantity for line in invoice.lines] == [
        line.quantity for line in case.invoice.lines
    ]
    assert invoice.order_numbers == (case.order.number,)
    assert invoice.provenance.source_document_id == case.document_no


async def test_a_seeded_invoices_detail_maps_to_the_dataset_invoice(tenant):
    case = CASES[0]
    raw = await tenant.detail(case.erp_id)
    _check(yonbip_invoice_detail_to_canonical(raw, received_at=NOW, seller=_seller(case)), case)
    assert recognise(raw).name == "yonbip-sales-invoice-detail"
    assert recognise(raw, family="yonyou").name == "yonbip-sales-invoice-detail"


async def test_the_detail_maps_whether_its_code_is_a_number_or_a_string(tenant):
    case = CASES[1]
    as_number = await tenant.detail(case.erp_id)
    scenario = await tenant.client.post("/admin/scenario", json={"detail_code_as_number": False})
    assert scenario.status_code == 200
    as_string = await tenant.detail(case.erp_id)
    assert b'"code":200,' in as_number
    assert b'"code":"200",' in as_string
    for raw in (as_number, as_string):
        assert recognise(raw).name == "yonbip-sales-invoice-detail"
        _check(yonbip_invoice_detail_to_canonical(raw, received_at=NOW, seller=_seller(case)), case)


async def test_every_seeded_invoice_maps_including_the_anomalous_ones(tenant):
    """Order mismatches and over-deliveries are matching's business, not the mapper's."""
    for case in CASES:
        raw = await tenant.detail(case.erp_id)
        _check(yonbip_invoice_detail_to_canonical(raw, received_at=NOW, seller=_seller(case)), case)


async def test_an_invoice_saved_without_unit_prices_shows_them_derived_once_approved(tenant):
    """YonBIP derives the prices and money a save leaves out; the mapper needs the prices."""
    seller, buyer = COMPANIES.sellers[0], COMPANIES.buyers[0]
    saved = await tenant.save(
        {
            "orgId": seller.yonyou_org_id,
            "agentId": buyer.yonyou_agent_id,
            "invAgentName": buyer.name,
            "invAgentTaxNo": buyer.uscc,
            "vouchdate": "2026-11-27 00:00:00",
            "maturityDate": "2027-02-25 00:00:00",
            "invoiceType": "10",
            "currency_code": "CNY",
            "oriSum": "3390.00",
            "saleInvoiceDetails": [
                {"productCode": "P-1", "qty": 3, "taxRate": 13, "oriSum": "1130.00"},
                {"productCode": "P-2", "qty": 10, "taxRate": 13, "oriSum": "2260.00"},
            ],
        }
    )
    invoice_id = saved["data"]["id"]
    party = Party(name=seller.name, uscc=seller.uscc, role=PartyRole.SELLER)
    with pytest.raises(MappingError) as open_invoice:
        yonbip_invoice_detail_to_canonical(
            await tenant.detail(invoice_id), received_at=NOW, seller=party
        )
    assert "businessState 1 (未开税票)" in str(open_invoice.value)

    assert (await tenant.client.post(f"/admin/invoices/{invoice_id}/approve")).status_code == 200
    push = yonbip_invoice_detail_to_canonical(
        await tenant.detail(invoice_id), received_at=NOW, seller=party
    )
    invoice = push.invoice
    assert len(invoice.number) == 20
    assert invoice.kind is InvoiceKind.SPECIAL  # invoiceType 10: 电子发票（增值税专用发票）
    assert invoice.due_date == date(2027, 2, 25)
    # 1,130.00 / 1.13 = 1,000.00 + 130.00 tax; 2,260.00 / 1.13 = 2,000.00 + 260.00 tax
    assert (invoice.amount.amount, invoice.tax.amount, invoice.total.amount) == (
        Decimal("3000.00"),
        Decimal("390.00"),
        Decimal("3390.00"),
    )
    # 1,000.00 / 3 = 333.333333 (6 places); 2,000.00 / 10 = 200
    assert [line.unit_price for line in invoice.lines] == [
        Decimal("333.333333"),
        Decimal("200.000000"),
    ]


async def test_an_unknown_invoice_id_is_refused_with_the_platforms_message(tenant):
    raw = await tenant.detail(1)
    with pytest.raises(MappingError) as refused:
        yonbip_invoice_detail_to_canonical(raw, received_at=NOW, seller=_seller(CASES[0]))
    assert "数据不存在" in str(refused.value)
