"""Pruning the outbox and inbox never loses an unhandled message nor forgets a recent one."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from canonical import Envelope
from hub.app import Hub
from hub.config import Settings
from hub.housekeeping import Housekeeper, prune
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import InboxRow, OutboxRow
from routes.flow import ROUTES
from tests.builders import NOW

OLD = NOW - timedelta(days=10)


def _envelope(kind: str, request_id: str) -> Envelope:
    return Envelope(
        correlation_id=request_id, tenant="t1", source_system="test", type=kind, body={}
    )


async def test_prune_removes_only_handled_old_rows_and_their_inbox_entries(database_url):
    database = Database(database_url)
    await database.upgrade()
    try:
        old = UnitOfWorkFactory(database, lambda: OLD)
        old.dispatches_on_commit = True  # rows written as published, as the embedded hub does
        recent = UnitOfWorkFactory(database, lambda: NOW)
        recent.dispatches_on_commit = True
        handled = _envelope("FinancingSubmitted", "FR1")
        unhandled = _envelope("FinancingSubmitted", "FR2")
        rejected = _envelope("FinancingRejected", "FR3")  # a topic nobody consumes
        fresh = _envelope("FinancingSubmitted", "FR4")
        async with old() as uow:
            await uow.outbox.add_many(
                [
                    ("financing.submitted", handled),
                    ("financing.submitted", unhandled),
                    ("financing.rejected", rejected),
                ]
            )
            await uow.inbox.claim_many("match-documents", [handled.message_id])
            await uow.commit()
        async with recent() as uow:
            await uow.outbox.add_many([("financing.submitted", fresh)])
            await uow.inbox.claim_many("match-documents", [fresh.message_id])
            await uow.commit()

        pruned = await prune(recent, ROUTES, older_than=timedelta(days=7), now=NOW)

        assert (pruned.outbox, pruned.inbox) == (2, 1)
        async with recent() as uow:
            left = set(await uow.session.scalars(select(OutboxRow.message_id)))
            claimed = set(await uow.session.scalars(select(InboxRow.message_id)))
            again = await uow.outbox.undelivered("financing.submitted", "match-documents")
        assert left == {unhandled.message_id, fresh.message_id}
        assert claimed == {fresh.message_id}
        assert [Envelope.model_validate_json(p).message_id for p in again] == [
            unhandled.message_id
        ]
    finally:
        await database.aclose()


async def test_only_a_consuming_hub_keeps_house(sqlite_url):
    settings = Settings(database_url=sqlite_url, retention_days=1)
    async with Hub(settings, routes=()) as idle:
        assert idle.housekeeper is None
    async with Hub(settings) as hub:
        assert hub.housekeeper is not None
    async with Hub(replace(settings, retention_days=0)) as keeps_all:
        assert keeps_all.housekeeper is None


async def test_the_housekeeper_prunes_on_its_own_schedule(sqlite_url):
    database = Database(sqlite_url)
    await database.upgrade()
    units = UnitOfWorkFactory(database, lambda: OLD)
    units.dispatches_on_commit = True
    async with units() as uow:
        await uow.outbox.add_many([("financing.rejected", _envelope("FinancingRejected", "FR1"))])
        await uow.commit()
    keeper = Housekeeper(
        units, ROUTES, retention=timedelta(days=7), clock=lambda: NOW, interval=0.01
    )
    keeper.start()
    try:
        for _ in range(300):
            async with units() as uow:
                if not list(await uow.session.scalars(select(OutboxRow.id))):
                    break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the housekeeper did not prune")
    finally:
        await keeper.aclose()
        await database.aclose()
