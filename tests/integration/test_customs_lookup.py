"""Customs declarations on real databases (SQLite and PostgreSQL): a DecMessage ingested
through `/v1/ingest` is found by its contract in the query that finds the orders, only when
matching asks for it; an export invoice waiting for its declaration (`customs_matching:
required`) is handed back when it is ingested; waits recorded before revision 0011 stay waits
for orders.

The worked case (tests/routes/test_customs_match.py): 苏州华盛 exports 100 spindles x
¥1,000.00 = ¥100,000.00 under contract XSDD2611000001."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import String, column, event, insert, select, table

from canonical import FinancingState, Money
from hub.ingest import ingest
from hub.intake import Intake
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.db import alembic_config
from hub.persistence.tables import AwaitedDocumentRow, UtcDateTime
from mappings.formats import INBOUND_FORMATS
from tests.builders import NOW, SELLER
from tests.integration.test_document_wait import (
    _consume_match,
    _outbox,
    sale_order_body,
    submitted,
)
from tests.routes.test_customs_match import CONTRACT, export_request
from tests.support.customs import Goods, decmessage

DECMESSAGE = INBOUND_FORMATS["customs-decmessage"]
SPINDLES = (Goods("数控车床主轴", "8466930000", "100", "1000.00"),)


def export_declaration(*, exporter: str = SELLER.uscc) -> bytes:
    return decmessage(
        contract=CONTRACT,
        exporter_uscc=exporter,
        exporter_name="苏州华盛精密机械有限公司",
        goods=SPINDLES,
    )


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


async def _ingest(units: UnitOfWorkFactory, raw: bytes, *, tenant: str = "t1") -> None:
    fmt = DECMESSAGE if raw.startswith(b"<?xml") else INBOUND_FORMATS["kingdee-sale-order"]
    await ingest(Intake(units), units, fmt, raw, tenant=tenant, now=NOW)


async def test_a_declaration_is_found_by_its_contract_with_the_orders_in_one_query(units):
    await _ingest(units, sale_order_body())  # order XSDD2611000001
    await _ingest(units, export_declaration())  # ContrNo XSDD2611000001
    await _ingest(units, export_declaration(), tenant="t2")  # another tenant's
    statements: list[str] = []
    engine = units.database.engine.sync_engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        async with units() as uow:
            found = await uow.document_index.find("t1", [CONTRACT], customs=True)
            orders_only = await uow.document_index.find("t1", [CONTRACT])
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert [o.number for o in found.orders] == [CONTRACT]
    (declaration,) = found.declarations
    assert (declaration.entry_id, declaration.trade_uscc) == ("224820260000123456", SELLER.uscc)
    assert declaration.total == Money.of("100000.00")  # Σ DeclTotal, TradeCurr CNY
    assert orders_only.declarations == ()
    assert [o.number for o in orders_only.orders] == [CONTRACT]
    assert len([s for s in statements if "document_keys" in s]) == 2  # one per find


async def test_an_export_invoice_waiting_for_its_declaration_gets_it_when_it_is_ingested(units):
    request = export_request("100000.00", request_id="FRCUS1")
    async with units() as uow:
        await uow.requests.add(request, source_system="test")
        await uow.commit()
    await _consume_match(units, [submitted(request)], customs_matching="required")
    async with units() as uow:
        waiting = await uow.requests.state_of("FRCUS1")
        rows = (await uow.session.execute(select(AwaitedDocumentRow))).scalars().all()
        (timer,) = await uow.timers.pending()
    assert waiting == (FinancingState.AWAITING_DOCUMENTS, "DOCUMENTS_AWAITED")
    assert [(r.kind, r.number) for r in rows] == [("customs", CONTRACT)]
    assert timer.due_at == NOW + timedelta(hours=72)

    await _ingest(units, sale_order_body())  # an order under that number: no declaration yet
    assert await _outbox(units) == []
    await _ingest(units, export_declaration())

    (handed,) = await _outbox(units)
    assert handed.type == "FinancingSubmitted"
    carried = handed.body["request"]["declarations"]
    assert [d["entry_id"] for d in carried] == ["224820260000123456"]
    async with units() as uow:
        assert await uow.requests.state_of("FRCUS1") == (FinancingState.SUBMITTED, None)
        assert (await uow.session.scalars(select(AwaitedDocumentRow))).all() == []
    await _consume_match(units, [handed], customs_matching="required")
    async with units() as uow:
        assert await uow.requests.state_of("FRCUS1") == (FinancingState.MATCHED, None)


async def test_a_wait_recorded_before_revision_0011_is_still_a_wait_for_its_order(database_url):
    database = Database(database_url)
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0010"))
            before = table(  # awaited_documents as revision 0009 made it
                "awaited_documents",
                *(column(name, String()) for name in ("request_id", "number", "tenant")),
                column("since", UtcDateTime()),
                column("due_at", UtcDateTime()),
            )
            await conn.execute(
                insert(before).values(
                    request_id="FROLD1",
                    number=CONTRACT,
                    tenant="t1",
                    since=NOW,
                    due_at=NOW + timedelta(hours=72),
                )
            )
        await database.upgrade()
        units = UnitOfWorkFactory(database, lambda: NOW)
        async with units() as uow:
            (wait,) = await uow.document_index.waiting_for("t1", [CONTRACT])
        assert (wait.request_id, wait.numbers, wait.customs) == ("FROLD1", (CONTRACT,), ())
        assert wait.due_at == NOW + timedelta(hours=72)
    finally:
        await database.aclose()
