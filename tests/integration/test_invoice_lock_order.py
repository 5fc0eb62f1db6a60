"""Two batches topping up the same two invoices in opposite orders, on PostgreSQL, at once: the
invoices a batch finds held are locked up front in one order, so one batch waits for the other
instead of the two deadlocking."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select

from canonical import FinancingState, Money
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import InvoiceTopUpRow
from tests.builders import NOW, SELLER, facility, financing_request

A, B = "26322000000011111111", "26322000000022222222"
F = FinancingState
_PATH = (F.MATCHED, F.LIMIT_RESERVED)


async def _financed(units: UnitOfWorkFactory, request_id: str, invoice: str) -> None:
    async with units() as uow:
        await uow.requests.add(
            financing_request(request_id, invoice_number=invoice), source_system="test"
        )
        assert await uow.invoice_locks.claim(invoice, request_id) == request_id
        await uow.facilities.reserve(request_id, SELLER.uscc, Money.of("20000.00"))
        state = F.SUBMITTED
        for target in _PATH:
            await uow.requests.transition(request_id, target, allowed_from=frozenset({state}))
            state = target
        await uow.commit()


async def _applied(units: UnitOfWorkFactory, request_id: str, invoice: str) -> None:
    async with units() as uow:
        await uow.requests.add(
            financing_request(request_id, invoice_number=invoice), source_system="test"
        )
        await uow.commit()


async def test_top_ups_of_two_invoices_in_opposite_orders_wait_instead_of_deadlocking(
    postgres_url,
):
    databases = [Database(postgres_url) for _ in range(2)]
    await databases[0].upgrade()
    x_units, y_units = (UnitOfWorkFactory(db, lambda: NOW) for db in databases)
    try:
        async with x_units() as uow:
            await uow.facilities.put(facility("100000000.00"))
            await uow.commit()
        await _financed(x_units, "FRA", A)
        await _financed(x_units, "FRB", B)
        for request_id, invoice in (("FXA", A), ("FXB", B), ("FYB", B), ("FYA", A)):
            await _applied(x_units, request_id, invoice)
        x_has_one = asyncio.Event()

        async def batch(units: UnitOfWorkFactory, first: tuple[str, str], then: tuple[str, str]):
            async with units() as uow:
                await uow.expect([first[0], then[0]])
                for n, (request_id, invoice) in enumerate((first, then)):
                    await uow.invoice_locks.claim(invoice, request_id)
                    financing = await uow.invoice_locks.top_up(
                        invoice, request_id, seller_uscc=SELLER.uscc, tenant="t1"
                    )
                    assert financing is not None
                    if n == 0 and first[0] == "FXA":
                        x_has_one.set()
                        await asyncio.sleep(0.5)  # the other batch starts on B meanwhile
                await uow.commit()

        async def y() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(x_has_one.wait(), 5)
            await batch(y_units, ("FYB", B), ("FYA", A))

        await asyncio.wait_for(asyncio.gather(batch(x_units, ("FXA", A), ("FXB", B)), y()), 30)
        async with x_units() as uow:
            recorded = set(await uow.session.scalars(select(InvoiceTopUpRow.request_id)))
        assert recorded == {"FXA", "FXB", "FYA", "FYB"}  # both batches went through
    finally:
        for database in databases:
            await database.aclose()
