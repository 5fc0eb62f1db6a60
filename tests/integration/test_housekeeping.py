"""Pruning the outbox and inbox never loses an unhandled message nor forgets a recent one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from canonical import Envelope
from hub.housekeeping import prune
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
