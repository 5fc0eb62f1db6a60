"""Group-committed intake on real databases: pushes arriving together share one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from canonical import MappingError
from hub.intake import Intake
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import OutboxRow, RequestRow
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render
from tests.builders import NOW


@pytest.fixture
async def intake(database_url: str) -> AsyncIterator[Intake]:
    database = Database(database_url)
    await database.upgrade()
    intake = Intake(UnitOfWorkFactory(database, lambda: NOW))
    yield intake
    await intake.aclose()
    await database.aclose()


def _pushes(count: int) -> list[tuple[str, bytes]]:
    companies = generate_companies(11, sellers=3, buyers=5)
    return [(c.vendor, render(c)) for c in generate_invoices(11, count, companies)]


async def _rows(intake: Intake, table: type) -> int:
    async with intake._units() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def _accept(intake: Intake, vendor: str, raw: bytes):
    return await intake.accept(source=vendor, raw=raw, tenant="t1", now=NOW)


async def test_concurrent_pushes_are_all_stored_and_duplicates_get_the_same_id(intake):
    pushes = _pushes(30)

    first = await asyncio.gather(*(_accept(intake, v, raw) for v, raw in pushes))
    again = await asyncio.gather(*(_accept(intake, v, raw) for v, raw in pushes[:10] * 2))

    assert all(a.created for a in first)
    assert len({a.request_id for a in first}) == 30
    assert [a.request_id for a in again] == [a.request_id for a in first[:10]] * 2
    assert not any(a.created for a in again)
    assert await _rows(intake, RequestRow) == 30
    assert await _rows(intake, OutboxRow) == 30


async def test_the_same_document_twice_in_one_batch_is_stored_once(intake):
    vendor, raw = _pushes(1)[0]

    one, two = await asyncio.gather(_accept(intake, vendor, raw), _accept(intake, vendor, raw))

    assert one.request_id == two.request_id
    assert [one.created, two.created] == [True, False]
    assert await _rows(intake, OutboxRow) == 1


async def test_a_bad_push_fails_alone_and_its_neighbours_are_stored(intake):
    pushes = _pushes(4)
    bad = (pushes[0][0], b'{"Model": {"FBillNo": 42}}')

    results = await asyncio.gather(
        *(_accept(intake, v, raw) for v, raw in [*pushes[:2], bad, *pushes[2:]]),
        return_exceptions=True,
    )

    assert isinstance(results[2], MappingError)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 4
    assert await _rows(intake, RequestRow) == 4
