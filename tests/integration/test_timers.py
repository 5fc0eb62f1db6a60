"""Durable timers on real databases: a message returned as `Later` is published once, when the
hub's clock reaches it, whatever restarts or how many timekeepers run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from canonical import Envelope, FinancingState, FinancingSubmitted, Message
from canonical.documents import Invoice, Provenance
from canonical.verification import InvoiceVerification, VerificationResult
from connectors.bank_iso import IsoBankGateway
from connectors.registry import HttpRegistryGateway
from hub.app import Hub
from hub.config import Settings
from hub.daily import run_daily
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import OutboxRow, TimerRow
from hub.runtime.consumer import RouteConsumer
from hub.timekeeping import fire_due
from routes.flow import ROUTES
from routes.later import CHINA, Later
from routes.policy import FlowPolicy
from routes.registry import Route, Services
from routes.verification import RETRY_REASON
from tests.builders import NOW, financing_request, submitted_envelope

MATCH = next(r for r in ROUTES if r.group == "match-documents")


class Clock:
    """The hub's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


def _timer(request_id: str, due_at: datetime) -> tuple[str, Envelope, datetime]:
    return ("financing.submitted", submitted_envelope(request_id), due_at)


async def _outbox_ids(units: UnitOfWorkFactory) -> list[str]:
    async with units() as uow:
        return list(await uow.session.scalars(select(OutboxRow.message_id)))


async def test_a_timer_fires_only_when_due_and_then_never_again(units):
    due = NOW + timedelta(days=1)
    scheduled = _timer("FR1", due)
    async with units() as uow:
        await uow.timers.add_many([scheduled])
        await uow.commit()

    assert await fire_due(units, due_by=due - timedelta(microseconds=1)) == 0
    assert await fire_due(units, due_by=due) == 1
    assert await fire_due(units, due_by=due + timedelta(days=30)) == 0

    assert await _outbox_ids(units) == [scheduled[1].message_id]
    async with units() as uow:
        assert await uow.timers.pending() == []
        fired = await uow.session.scalar(select(TimerRow.fired_at))
    assert fired == NOW  # by the clock of the unit of work that fired it


async def test_pending_timers_are_listed_earliest_first_with_their_request(units):
    async with units() as uow:
        await uow.timers.add_many(
            [_timer("FR2", NOW + timedelta(days=2)), _timer("FR1", NOW + timedelta(days=1))]
        )
        await uow.commit()
    async with units() as uow:
        pending = await uow.timers.pending()
        assert await uow.timers.count_pending() == 2
    assert [(t.request_id, t.topic, t.message_type) for t in pending] == [
        ("FR1", "financing.submitted", "FinancingSubmitted"),
        ("FR2", "financing.submitted", "FinancingSubmitted"),
    ]
    assert pending[0].due_at == NOW + timedelta(days=1)


async def test_the_daily_job_fires_the_timers_due_on_or_before_its_day_in_china_time(units):
    today = NOW.astimezone(CHINA).date()
    late_today = datetime(today.year, today.month, today.day, 23, 59, tzinfo=CHINA)
    async with units() as uow:
        await uow.timers.add_many(
            [_timer("FR1", late_today), _timer("FR2", late_today + timedelta(minutes=2))]
        )
        await uow.commit()

    report = await run_daily(units, today)
    again = await run_daily(units, today)
    tomorrow = await run_daily(units, today + timedelta(days=1))

    assert (report.timers_fired, again.timers_fired, tomorrow.timers_fired) == (1, 0, 1)
    assert len(await _outbox_ids(units)) == 2


@pytest.mark.postgres
async def test_two_timekeepers_on_postgresql_never_fire_one_timer_twice(postgres_url):
    first, second = Database(postgres_url), Database(postgres_url)  # two hub processes
    await first.upgrade()
    try:
        a, b = UnitOfWorkFactory(first, lambda: NOW), UnitOfWorkFactory(second, lambda: NOW)
        async with a() as uow:
            await uow.timers.add_many([_timer(f"FR{n}", NOW) for n in range(300)])
            await uow.commit()

        counts = await asyncio.gather(
            *(fire_due(units, due_by=NOW, batch=7) for units in (a, b, a, b, a, b))
        )

        ids = await _outbox_ids(a)
        assert sum(counts) == 300
        assert len(ids) == len(set(ids)) == 300
        assert sum(1 for c in counts if c) >= 2  # the work was shared, not serialised
    finally:
        await first.aclose()
        await second.aclose()


# --- through the hub: a route returns Later, the timekeeper fires it --------------------------

_handled: list[tuple[str, int]] = []


async def _wait_a_day(
    msg: FinancingSubmitted, _called: object, _uow: object, services: Services
) -> Sequence[Message | Later]:
    if msg.verification_attempt == 1:
        again = msg.model_copy(update={"verification_attempt": 2})
        return [Later(again, services.clock() + timedelta(days=1))]
    _handled.append((msg.request_id, msg.verification_attempt))
    return []


WAIT = Route(group="test-wait-a-day", consumes=FinancingSubmitted, apply=_wait_a_day)


async def _until(condition: Any, what: str) -> None:
    for _ in range(200):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_timer_fires_once_and_only_once_across_restarts(database_url):
    _handled.clear()
    clock = Clock(NOW)
    settings = Settings(database_url=database_url, retention_days=0)
    first = submitted_envelope("FR1")

    async with Hub(settings, routes=(WAIT,), clock=clock) as hub:
        async with hub.units() as uow:
            await uow.outbox.add("financing.submitted", first)
            await uow.commit()

        async def scheduled() -> bool:
            async with hub.units() as uow:
                return await uow.timers.count_pending() == 1

        await _until(scheduled, "the timer")
        assert hub.timekeeper is not None
        assert await hub.timekeeper.tick() == 0  # not due yet
    assert _handled == []

    clock.now = NOW + timedelta(days=1, minutes=1)  # the hub was down over the due time
    async with Hub(settings, routes=(WAIT,), clock=clock) as hub:

        async def handled() -> bool:
            return bool(_handled)

        await _until(handled, "the timer's message")
        async with hub.units() as uow:
            (timer,) = (await uow.session.execute(select(TimerRow))).scalars().all()
        assert timer.fired_at == clock.now

    async with Hub(settings, routes=(WAIT,), clock=clock) as hub:  # a third start: nothing new
        assert hub.timekeeper is not None
        assert await hub.timekeeper.tick() == 0
        await asyncio.sleep(0.3)
        async with hub.units() as uow:
            copies = await uow.session.scalar(
                select(func.count()).where(OutboxRow.message_id == timer.message_id)
            )
    assert _handled == [("FR1", 2)]
    assert copies == 1


async def test_a_timer_fired_by_the_daily_job_while_no_hub_runs_is_delivered_at_the_next_start(
    database_url,
):
    _handled.clear()
    database = Database(database_url)
    await database.upgrade()
    try:
        units = UnitOfWorkFactory(database, lambda: NOW)  # no commit hooks: a CLI process
        async with units() as uow:
            await uow.timers.add_many([_timer("FR7", NOW)])
            await uow.commit()
        fired = (await run_daily(units, NOW.astimezone(CHINA).date())).timers_fired
    finally:
        await database.aclose()
    assert fired == 1

    settings = Settings(database_url=database_url, retention_days=0)
    async with Hub(settings, routes=(WAIT,), clock=Clock(NOW)) as hub:
        # attempt 1 from the outbox: the route asks for a day's wait (a new timer)
        async def waiting() -> bool:
            async with hub.units() as uow:
                return await uow.timers.count_pending() == 1

        await _until(waiting, "the re-dispatched message")


# --- the matching route: a not-found invoice waits for the next day -------------------------


class FakeVerification:
    """The tax platform: answers `result` for every invoice."""

    def __init__(self, result: VerificationResult) -> None:
        self.result = result
        self.asked: list[str] = []

    async def verify_many(self, invoices: Sequence[Invoice]) -> list[InvoiceVerification]:
        self.asked.extend(i.key for i in invoices)
        code = {VerificationResult.CONSISTENT: "001", VerificationResult.NOT_FOUND: "009"}
        return [
            InvoiceVerification(
                invoice_key=i.key,
                result=self.result,
                result_code=code.get(self.result, "002"),
                message="查无此票" if self.result is VerificationResult.NOT_FOUND else "",
                checked_at=NOW,
                provenance=Provenance(source_system="vat", source_document_id=i.key),
            )
            for i in invoices
        ]


async def test_a_not_found_invoice_is_scheduled_in_the_matching_transaction_then_matched(units):
    platform = FakeVerification(VerificationResult.NOT_FOUND)
    clock = Clock(NOW)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as unused:
        services = Services(
            policy=FlowPolicy(max_retry_days=2),
            clock=clock,
            registry=HttpRegistryGateway(unused),
            bank=IsoBankGateway(unused),
            verification=platform,
        )
        consumer = RouteConsumer(MATCH, units, services)
        async with units() as uow:
            await uow.requests.add(financing_request("FR1"), source_system="test")
            await uow.commit()

        await consumer([submitted_envelope("FR1")])

        async with units() as uow:
            state = await uow.requests.state_of("FR1")
            (timer,) = await uow.timers.pending()
        assert state == (FinancingState.SUBMITTED, RETRY_REASON)
        assert await _outbox_ids(units) == []  # nothing published now
        assert timer.due_at == datetime(2026, 11, 29, 9, 0, tzinfo=CHINA)  # next day 09:00

        platform.result = VerificationResult.CONSISTENT
        assert await fire_due(units, due_by=timer.due_at) == 1
        async with units() as uow:
            (payload,) = await uow.session.scalars(select(OutboxRow.payload))
        retry = Envelope.model_validate_json(payload)
        assert retry.message_id == timer.message_id
        assert retry.body["verification_attempt"] == 2

        await consumer([retry])

        async with units() as uow:
            state = await uow.requests.state_of("FR1")
            history = await uow.requests.history("FR1")
    assert state == (FinancingState.MATCHED, None)
    assert platform.asked == [financing_request("FR1").invoice.key] * 2
    notes = [h.note for h in history if h.reason == RETRY_REASON]
    assert notes
    assert "asking again on 2026-11-29 09:00" in (notes[0] or "")
    assert "attempt 2 of 3" in (notes[0] or "")
