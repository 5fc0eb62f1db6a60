"""The hub's Kingdee answer readers (mappings.kingdee_query) read what the K/3 Cloud simulator,
written separately from the same reference (formats-inbound §2.4), answers to View and
ExecuteBillQuery: a contract test between both sides, checked against the dataset the simulator
was seeded from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from canonical import (
    InvoiceStatus,
    MappingError,
    Party,
    PartyRole,
    PurchaseOrder,
    ReceivableBill,
)
from mappings.erp import InvoicePush
from mappings.formats import recognise
from mappings.kingdee_query import (
    DEFAULT_FIELD_KEYS,
    kingdee_bill_query_to_canonical,
    kingdee_view_to_canonical,
)
from simulators import kingdee
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
STUB = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub."
LOGIN = f"{STUB}AuthService.ValidateUser.common.kdsvc"
VIEW = f"{STUB}DynamicFormService.View.common.kdsvc"
QUERY = f"{STUB}DynamicFormService.ExecuteBillQuery.common.kdsvc"
CASES = [
    c
    for c in generate_invoices(SEED, STANDARD_CASES, generate_companies(SEED))
    if c.vendor == "kingdee"
]
SPECIAL = next(c for c in CASES if c.invoice.kind == "special")
ORDINARY = next(c for c in CASES if c.invoice.kind == "normal")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(kingdee.create_app(seed=SEED, clock=lambda: NOW)) as c:
        credentials = (await c.get("/admin/state")).json()["credentials"]
        user = credentials["users"][0]
        login = {
            "acctid": credentials["acct_id"],
            "username": user["username"],
            "password": user["password"],
            "lcid": 2052,
        }
        assert (await c.post(LOGIN, json=login)).json()["LoginResultType"] == 1
        yield c


def _seller(case: GeneratedCase) -> Party:
    """K/3 answers do not carry the seller's USCC: the caller knows its own organisation."""
    return Party(
        name=case.seller.name,
        uscc=case.seller.uscc,
        role=PartyRole.SELLER,
        erp_code=case.seller.kingdee_org_number,
    )


def _invoice_form(case: GeneratedCase) -> str:
    return "IV_SALESIC" if case.invoice.kind == "special" else "IV_SALESOC"


async def _view(client: httpx.AsyncClient, form: str, number: str) -> bytes:
    return (await client.post(VIEW, json={"formid": form, "data": {"Number": number}})).content


async def _query(client: httpx.AsyncClient, form: str, number: str, keys: str = "") -> bytes:
    data = {
        "FormId": form,
        "FieldKeys": keys or DEFAULT_FIELD_KEYS[form],
        "FilterString": f"FBillNo='{number}'",
    }
    return (await client.post(QUERY, json={"data": data})).content


def _total(case: GeneratedCase) -> Decimal:
    return sum((line.total for line in case.invoice.lines), Decimal(0))


def _check_receivable(bill: Any, case: GeneratedCase) -> None:
    assert isinstance(bill, ReceivableBill)
    assert bill.number == case.receivable_no
    assert bill.due_date == case.due_date
    assert bill.buyer_code == case.buyer.kingdee_customer_number
    assert bill.seller_code == case.seller.kingdee_org_number
    assert bill.total.amount == _total(case)
    assert bill.total.currency == "CNY"
    assert bill.order_numbers == (case.order.number,)
    assert len(bill.lines) == len(case.invoice.lines)


def _check_order(order: Any, case: GeneratedCase) -> None:
    assert isinstance(order, PurchaseOrder)
    assert order.number == case.order.number
    assert order.order_date == case.order.order_date
    assert order.buyer_code == case.buyer.kingdee_customer_number
    assert order.total.amount == sum((line.total for line in case.order.lines), Decimal(0))
    assert order.total.currency == "CNY"
    assert [line.quantity for line in order.lines] == [line.quantity for line in case.order.lines]


def _check_invoice(push: Any, case: GeneratedCase) -> None:
    assert isinstance(push, InvoicePush)
    invoice = push.invoice
    assert invoice.number == case.invoice.number
    assert invoice.issue_date == case.invoice.issue_date
    assert invoice.status is InvoiceStatus.NORMAL
    assert invoice.seller.uscc == case.seller.uscc
    assert invoice.buyer.uscc == case.buyer.uscc
    assert invoice.total.amount == _total(case)
    assert invoice.amount.amount + invoice.tax.amount == invoice.total.amount
    assert invoice.order_numbers == (case.order.number,)


class TestView:
    async def test_a_receivables_view_maps_by_its_form_id_and_by_auto_detection(self, client):
        raw = await _view(client, "AR_receivable", SPECIAL.receivable_no or "")
        _check_receivable(kingdee_view_to_canonical(raw, received_at=NOW), SPECIAL)
        found = recognise(raw)
        assert found.name == "kingdee-view-response"
        _check_receivable(found.read(raw, NOW), SPECIAL)

    async def test_a_sale_orders_view_maps_to_the_purchase_order(self, client):
        raw = await _view(client, "SAL_SaleOrder", SPECIAL.order.number)
        _check_order(kingdee_view_to_canonical(raw, received_at=NOW), SPECIAL)
        _check_order(recognise(raw).read(raw, NOW), SPECIAL)

    @pytest.mark.parametrize("case", [SPECIAL, ORDINARY], ids=["special", "ordinary"])
    async def test_an_invoices_view_maps_with_the_callers_seller(self, client, case):
        raw = await _view(client, _invoice_form(case), case.document_no)
        assert recognise(raw).name == "kingdee-view-response"
        push = kingdee_view_to_canonical(raw, received_at=NOW, seller=_seller(case))
        _check_invoice(push, case)

    async def test_a_view_of_an_unknown_bill_is_a_refusal_naming_the_no_data_code(self, client):
        raw = await _view(client, "AR_receivable", "AR-NOPE")
        with pytest.raises(MappingError) as refused:
            kingdee_view_to_canonical(raw, received_at=NOW)
        assert "MsgCode 10: no data" in str(refused.value)


class TestExecuteBillQuery:
    async def test_the_default_receivable_query_maps_every_line_of_the_bill(self, client):
        raw = await _query(client, "AR_receivable", SPECIAL.receivable_no or "")
        result = kingdee_bill_query_to_canonical(raw, received_at=NOW)
        (bill,) = result.documents
        _check_receivable(bill, SPECIAL)
        found = recognise(raw)
        assert found.name == "kingdee-bill-query-response"
        assert found.read(raw, NOW) == result

    async def test_the_default_sale_order_query_is_accepted_and_maps(self, client):
        raw = await _query(client, "SAL_SaleOrder", SPECIAL.order.number)
        result = kingdee_bill_query_to_canonical(raw, received_at=NOW, form_id="SAL_SaleOrder")
        (order,) = result.documents
        _check_order(order, SPECIAL)
        assert recognise(raw).name == "kingdee-bill-query-response"

    @pytest.mark.parametrize("case", [SPECIAL, ORDINARY], ids=["special", "ordinary"])
    async def test_the_default_invoice_query_maps_with_the_callers_seller(self, client, case):
        form = _invoice_form(case)
        raw = await _query(client, form, case.document_no)
        result = kingdee_bill_query_to_canonical(
            raw, received_at=NOW, form_id=form, seller=_seller(case)
        )
        (push,) = result.documents
        _check_invoice(push, case)

    async def test_every_seeded_bill_of_every_form_maps(self, client):
        forms = ("AR_receivable", "SAL_SaleOrder", "IV_SALESIC", "IV_SALESOC")
        counts = {}
        for form in forms:
            keys = DEFAULT_FIELD_KEYS[form]
            raw = (
                await client.post(QUERY, json={"data": {"FormId": form, "FieldKeys": keys}})
            ).content
            seller = _seller(CASES[0]) if form.startswith("IV_") else None
            result = kingdee_bill_query_to_canonical(
                raw, received_at=NOW, form_id=form, seller=seller
            )
            counts[form] = len(result.documents)
        special = sum(c.invoice.kind == "special" for c in CASES)
        assert counts == {
            "AR_receivable": len(CASES),
            "SAL_SaleOrder": len(CASES),
            "IV_SALESIC": special,
            "IV_SALESOC": len(CASES) - special,
        }

    async def test_a_query_refused_for_an_unknown_key_names_the_field(self, client):
        answer = await client.post(
            QUERY, json={"data": {"FormId": "AR_receivable", "FieldKeys": "FBillNo,FNope"}}
        )
        assert answer.status_code == 500
        assert recognise(answer.content).name == "kingdee-bill-query-response"
        with pytest.raises(MappingError) as refused:
            kingdee_bill_query_to_canonical(answer.content, received_at=NOW)
        assert "field FNope" in str(refused.value)
        assert "MsgCode 9" in str(refused.value)

    async def test_a_query_without_a_session_is_refused_as_context_lost(self):
        async with asgi_client(kingdee.create_app(seed=SEED, clock=lambda: NOW)) as anonymous:
            raw = await _query(anonymous, "AR_receivable", SPECIAL.receivable_no or "")
        with pytest.raises(MappingError) as refused:
            kingdee_bill_query_to_canonical(raw, received_at=NOW)
        assert "MsgCode 1: context lost" in str(refused.value)
