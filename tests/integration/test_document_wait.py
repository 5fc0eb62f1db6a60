"""Late documents on real databases: ingested orders are found by their keys in one query, an
order arriving through ingest hands its waiting application back in the transaction that
stores it, and a wait survives a hub restart (its timeout is a durable timer)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from canonical import DeliveryNote, Envelope, FinancingRequest, FinancingState, FinancingSubmitted
from connectors.bank_iso import IsoBankGateway
from connectors.registry import HttpRegistryGateway
from hub.app import Hub
from hub.config import Settings
from hub.ingest import ingest
from hub.intake import Intake
from hub.late_documents import index_and_hand_back
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.documents import StoredDocument
from hub.persistence.tables import AwaitedDocumentRow, OutboxRow
from hub.runtime.consumer import RouteConsumer
from mappings.formats import INBOUND_FORMATS
from routes.flow import ROUTES
from routes.policy import FlowPolicy
from routes.registry import Services
from tests.builders import BUYER, NOW, financing_request
from tests.integration.test_timers import Clock
from tests.routes.test_matching_late_documents import delivery, order

MATCH = next(r for r in ROUTES if r.group == "match-documents")
ORDER_NO = "XSDD2611000001"


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


def sale_order_body(number: str = ORDER_NO, *, buyer_uscc: str = BUYER.uscc) -> bytes:
    """A Kingdee SAL_SaleOrder Save body for the builders' invoice: M0001, 100 x 1,000.00."""
    entry = {
        "FSeq": 1,
        "FMaterialId": {"FNumber": "M0001"},
        "FQty": 100,
        "FPrice": 1000.0,
        "FTaxPrice": 1130.0,
        "FEntryTaxRate": 13,
        "FAmount": 100000.00,
        "FTaxAmount": 13000.00,
        "FAllAmount": 113000.00,
    }
    model = {
        "FBillNo": number,
        "FDate": "2026-11-01",
        "FDocumentStatus": "C",
        "FCustId": {"FNumber": "CUST-1"},
        "FSaleOrgId": {"FNumber": "100"},
        "FSaleOrderEntry": [entry],
    }
    customer = {"FNumber": "CUST-1", "FName": BUYER.name, "FSOCIALCRECODE": buyer_uscc}
    body = {"formid": "SAL_SaleOrder", "data": {"Model": model, "Customer": customer}}
    return json.dumps(body, ensure_ascii=False).encode()


def without_order(request_id: str) -> FinancingRequest:
    return financing_request(request_id, with_order=False)  # the invoice names ORDER_NO


def submitted(request: FinancingRequest) -> Envelope:
    message = FinancingSubmitted(request_id=request.id, request=request)
    return Envelope(
        correlation_id=request.id,
        tenant=request.tenant,
        source_system="test",
        type="FinancingSubmitted",
        key=request.seller.uscc,
        body=message.model_dump(mode="json"),
    )


async def _store(units: UnitOfWorkFactory, tenant: str, document: Any, at: datetime) -> None:
    number = getattr(document, "number", "x")
    async with units() as uow:
        stored = StoredDocument(
            id=f"DOC-{tenant}-{type(document).__name__}-{number}",
            tenant=tenant,
            format="test",
            family="test",
            source_document_id=number,
            fingerprint="f",
            document=document.model_dump_json(),
            received_at=at,
        )
        assert await uow.documents.add(stored)
        await index_and_hand_back(uow, stored.id, tenant, document, source="test")
        await uow.commit()


async def test_a_tenants_orders_and_their_delivery_notes_are_found_latest_first_in_one_query(
    units, database_url
):
    await _store(units, "t1", order(qty="50"), NOW)
    await _store(units, "t1", order("XSDD-OTHER"), NOW)
    await _store(units, "t2", order(), NOW)  # another tenant's order of the same number
    await _store(units, "t1", delivery("40"), NOW + timedelta(minutes=1))
    statements: list[str] = []
    engine = units.database.engine.sync_engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        async with units() as uow:
            found = await uow.document_index.find("t1", [ORDER_NO, "XSDD-NOPE"])
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert [(o.number, str(o.lines[0].quantity)) for o in found.orders] == [(ORDER_NO, "50")]
    assert [d.order_number for d in found.deliveries] == [ORDER_NO]
    assert isinstance(found.deliveries[0], DeliveryNote)
    assert len([s for s in statements if "document_keys" in s]) == 1


async def _consume_match(
    units: UnitOfWorkFactory, envelopes: list[Envelope], **policy: Any
) -> None:
    """Run the match-documents consumer on `envelopes` (no partner is called)."""
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as unused:
        services = Services(
            policy=FlowPolicy(**policy),
            clock=lambda: NOW,
            registry=HttpRegistryGateway(unused),
            bank=IsoBankGateway(unused),
        )
        await RouteConsumer(MATCH, units, services)(envelopes)


async def _outbox(units: UnitOfWorkFactory) -> list[Envelope]:
    async with units() as uow:
        payloads = await uow.session.scalars(select(OutboxRow.payload).order_by(OutboxRow.id))
        return [Envelope.model_validate_json(p) for p in payloads]


async def test_an_ingested_order_hands_the_waiting_application_back_in_its_transaction(units):
    request = without_order("FRWAIT1")
    async with units() as uow:
        await uow.requests.add(request, source_system="test")
        await uow.commit()
    await _consume_match(units, [submitted(request)])
    async with units() as uow:
        assert await uow.requests.state_of("FRWAIT1") == (
            FinancingState.AWAITING_DOCUMENTS,
            "DOCUMENTS_AWAITED",
        )
        (timer,) = await uow.timers.pending()
    assert (timer.message_type, timer.due_at) == ("DocumentWaitExpired", NOW + timedelta(hours=72))

    fmt = INBOUND_FORMATS["kingdee-sale-order"]
    done = await ingest(Intake(units), units, fmt, sale_order_body(), tenant="t1", now=NOW)
    again = await ingest(Intake(units), units, fmt, sale_order_body(), tenant="t1", now=NOW)

    assert (done.kind, done.created, again.created) == ("document", True, False)
    (handed,) = await _outbox(units)  # once, though the order was pushed twice
    assert handed.type == "FinancingSubmitted"
    assert [o["number"] for o in handed.body["request"]["orders"]] == [ORDER_NO]
    async with units() as uow:
        assert await uow.requests.state_of("FRWAIT1") == (FinancingState.SUBMITTED, None)
        assert (await uow.session.scalars(select(AwaitedDocumentRow))).all() == []
        stored = await uow.requests.get("FRWAIT1")
    assert [o.number for o in stored.request.orders] == [ORDER_NO]  # amended

    await _consume_match(units, [handed])
    async with units() as uow:
        assert await uow.requests.state_of("FRWAIT1") == (FinancingState.MATCHED, None)
        history = [h.state for h in await uow.requests.history("FRWAIT1")]
    assert history == ["SUBMITTED", "AWAITING_DOCUMENTS", "SUBMITTED", "MATCHED"]


async def test_an_order_ingested_for_another_tenant_or_buyer_completes_no_wait(units):
    request = without_order("FRWAIT2")
    async with units() as uow:
        await uow.requests.add(request, source_system="test")
        await uow.commit()
    await _consume_match(units, [submitted(request)])
    fmt = INBOUND_FORMATS["kingdee-sale-order"]
    await ingest(Intake(units), units, fmt, sale_order_body(), tenant="t2", now=NOW)
    other = sale_order_body(buyer_uscc="9132050571358240X0")  # the seller's own USCC
    await ingest(Intake(units), units, fmt, other, tenant="t1", now=NOW)

    assert await _outbox(units) == []
    async with units() as uow:
        state = await uow.requests.state_of("FRWAIT2")
        keys = await uow.document_index.waiting_for("t1", [ORDER_NO])
    assert state == (FinancingState.AWAITING_DOCUMENTS, "DOCUMENTS_AWAITED")
    assert [(w.request_id, w.numbers) for w in keys] == [("FRWAIT2", (ORDER_NO,))]


async def _until(condition: Any, what: str) -> None:
    for _ in range(200):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_wait_survives_a_hub_restart_and_runs_out_into_match_review(database_url):
    clock = Clock(NOW)
    settings = Settings(database_url=database_url, retention_days=0)
    request = without_order("FRWAIT3")

    async with Hub(settings, clock=clock) as hub:
        async with hub.units() as uow:
            await uow.requests.add(request, source_system="test")
            await uow.outbox.add("financing.submitted", submitted(request))
            await uow.commit()

        async def waiting() -> bool:
            async with hub.units() as uow:
                state = await uow.requests.state_of("FRWAIT3")
                return state is not None and state[0] is FinancingState.AWAITING_DOCUMENTS

        await _until(waiting, "the wait")
        assert hub.timekeeper is not None
        assert await hub.timekeeper.tick() == 0  # not due yet

    clock.now = NOW + timedelta(hours=72, minutes=1)  # the hub was down over the timeout
    async with Hub(settings, clock=clock) as hub:

        async def reviewed() -> bool:
            async with hub.units() as uow:
                state = await uow.requests.state_of("FRWAIT3")
                return state is not None and state[0] is FinancingState.MATCH_REVIEW

        await _until(reviewed, "the review")
        async with hub.units() as uow:
            state = await uow.requests.state_of("FRWAIT3")
            history = await uow.requests.history("FRWAIT3")
            pending = await uow.timers.count_pending()
    assert state == (FinancingState.MATCH_REVIEW, "NO_ORDER")
    assert history[-1].message_type == "DocumentWaitExpired"
    assert history[-1].note == (
        f"order(s) {ORDER_NO} named by the invoice never came: waited 72 h from "
        "2026-11-28 17:00 Asia/Shanghai"
    )
    assert pending == 0
