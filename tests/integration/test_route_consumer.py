"""The route consumer on real databases: a batch in one transaction, a bad message alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from canonical import Envelope, FinancingState
from connectors.bank_iso import IsoBankGateway
from connectors.registry import HttpRegistryGateway
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import InboxRow, OutboxRow, RequestEventRow
from hub.runtime.consumer import RouteConsumer
from hub.runtime.retry import RetryPolicy
from routes.flow import ROUTES
from routes.policy import FlowPolicy
from routes.registry import Services
from tests.builders import NOW, financing_request, submitted_envelope

MATCH = next(r for r in ROUTES if r.group == "match-documents")


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


@pytest.fixture
async def consumer(units: UnitOfWorkFactory) -> AsyncIterator[RouteConsumer]:
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as unused:  # no partner calls
        services = Services(
            policy=FlowPolicy(),
            clock=lambda: NOW,
            registry=HttpRegistryGateway(unused),
            bank=IsoBankGateway(unused),
        )
        retry = RetryPolicy(attempts=2, initial=0.01, maximum=0.01)
        yield RouteConsumer(MATCH, units, services, retry=retry)


async def _submitted(units: UnitOfWorkFactory, *ids: str, store: bool = True) -> list[Envelope]:
    if store:
        async with units() as uow:
            for request_id in ids:
                await uow.requests.add(financing_request(request_id), source_system="test")
            await uow.commit()
    return [submitted_envelope(request_id) for request_id in ids]


async def _count(units: UnitOfWorkFactory, table: type, **where: str) -> int:
    async with units() as uow:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(getattr(table, column) == value)
        return int(await uow.session.scalar(query) or 0)


async def test_a_batch_commits_every_state_change_inbox_claim_and_outbox_row(units, consumer):
    batch = await _submitted(units, "FR1", "FR2", "FR3")

    await consumer(batch)

    async with units() as uow:
        states = [await uow.requests.state_of(i) for i in ("FR1", "FR2", "FR3")]
    assert states == [(FinancingState.MATCHED, None)] * 3
    assert await _count(units, InboxRow, consumer="match-documents") == 3
    assert await _count(units, OutboxRow, topic="financing.matched") == 3
    assert consumer.handled == 3


async def test_one_bad_message_is_dead_lettered_and_the_rest_of_its_batch_commits(
    units, consumer
):
    good = await _submitted(units, "FR1", "FR2")
    (orphan,) = await _submitted(units, "FR9", store=False)  # no such request: LookupError

    await consumer([good[0], orphan, good[1]])

    assert await _count(units, OutboxRow, topic="financing.matched") == 2
    async with units() as uow:
        letters = await uow.dead_letters.list()
    assert [(d.message_id, d.consumer) for d in letters] == [
        (orphan.message_id, "match-documents")
    ]
    assert "no financing request FR9" in letters[0].error
    assert consumer.dead_lettered == 1


async def test_a_redelivered_batch_changes_nothing(units, consumer):
    batch = await _submitted(units, "FR1", "FR2")
    await consumer(batch)
    events = await _count(units, RequestEventRow)

    await consumer(batch)
    await consumer([batch[1]])

    assert await _count(units, RequestEventRow) == events
    assert await _count(units, OutboxRow, topic="financing.matched") == 2
    assert await _count(units, InboxRow, consumer="match-documents") == 2


async def test_a_message_twice_in_one_batch_is_handled_once(units, consumer):
    first, second = await _submitted(units, "FR1", "FR2")

    await consumer([first, first, second, first])

    assert consumer.handled == 2
    assert consumer.dead_lettered == 0
    assert await _count(units, OutboxRow, topic="financing.matched") == 2
