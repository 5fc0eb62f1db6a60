"""The receivable, limit reservation and registration move as §4.2-4.4 allow, each move
recorded with its message; a move a machine refuses is refused and logged (SQLite and
PostgreSQL), and revision 0012 puts existing rows where their lifecycles stand."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import BigInteger, Date, String, column, insert, table, update

from canonical import FinancingState, IllegalTransition, Money, Registration
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.db import alembic_config
from hub.persistence.lifecycles import Cause, Entity, lifecycles_of
from hub.persistence.tables import RequestRow, UtcDateTime
from routes.lifecycle import TransitionRefused
from tests.builders import BUYER, NOW, SELLER, facility, financing_request

F = FinancingState
LIFECYCLE_LOG = "factorhub.lifecycle"


@pytest.fixture
async def units(database_url):
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


async def _moves(units, request_id, entity):  # type: ignore[no-untyped-def]
    async with units() as uow:
        lifecycle = (await lifecycles_of(uow.session, request_id))[entity]
    moves = [(e.source, e.target, e.event, e.message_id) for e in lifecycle.history]
    return lifecycle.state, moves


async def _submitted(units, *request_ids: str) -> None:
    async with units() as uow:
        for request_id in request_ids:
            await uow.requests.add(financing_request(request_id), source_system="test")
        await uow.facilities.put(facility("1000000.00"))
        await uow.commit()


async def _step(units, message_id, request_id, target, source, reason=None):  # type: ignore[no-untyped-def]
    async with units() as uow:
        uow.requests.cause = Cause(message_id, "test.message")
        await uow.requests.transition(
            request_id, target, allowed_from=frozenset({source}), reason=reason
        )
        await uow.commit()


class TestApplication:
    async def test_a_move_the_hub_does_not_make_is_refused_and_logged(self, units, caplog):
        await _submitted(units, "FR1")
        with (
            caplog.at_level(logging.WARNING, logger="factorhub.requests"),
            pytest.raises(IllegalTransition),
        ):
            await _step(units, "m1", "FR1", F.DISBURSED, F.SUBMITTED)

        assert "FR1: refused SUBMITTED -> DISBURSED (no such move)" in caplog.text
        assert await _moves(units, "FR1", Entity.RECEIVABLE) == ("IMPORTED", [])


class TestReceivable:
    async def test_each_application_move_moves_its_receivable_and_records_the_message(self, units):
        await _submitted(units, "FR1")
        await _step(units, "m1", "FR1", F.MATCHED, F.SUBMITTED)
        await _step(units, "m2", "FR1", F.LIMIT_RESERVED, F.MATCHED)
        await _step(units, "m3", "FR1", F.REJECTED, F.LIMIT_RESERVED, "REGISTRY_CONFLICT")

        state, moves = await _moves(units, "FR1", Entity.RECEIVABLE)
        assert state == "ELIGIBLE"  # free again for another application
        assert moves == [
            (
                "IMPORTED",
                "ELIGIBLE",
                "verification_passed, match_passed, eligibility_checked",
                "m1",
            ),
            ("ELIGIBLE", "RESERVED", "locked", "m2"),
            ("RESERVED", "ELIGIBLE", "unlocked", "m3"),
        ]

    async def test_a_move_the_receivable_cannot_make_is_refused_and_logged(self, units, caplog):
        await _submitted(units, "FR1")
        async with units() as uow:  # a receivable stored out of step with its application
            await uow.session.execute(
                update(RequestRow).where(RequestRow.id == "FR1").values(receivable_state="INVALID")
            )
            await uow.commit()

        with (
            caplog.at_level(logging.WARNING, logger=LIFECYCLE_LOG),
            pytest.raises(TransitionRefused) as refused,
        ):
            await _step(units, "m1", "FR1", F.MATCHED, F.SUBMITTED)

        assert isinstance(refused.value, IllegalTransition)
        assert "FR1: refused receivable verification_passed in state INVALID" in caplog.text
        async with units() as uow:
            assert await uow.requests.state_of("FR1") == (F.SUBMITTED, None)
        assert await _moves(units, "FR1", Entity.RECEIVABLE) == ("INVALID", [])


class TestReservation:
    async def test_holding_using_and_repayments_move_the_reservation_naming_each_message(
        self, units
    ):
        await _submitted(units, "FR1")
        for message_id, step in (
            ("m1", lambda f: f.reserve("FR1", SELLER.uscc, Money.of("100000.00"))),
            ("m2", lambda f: f.consume("FR1", Money.of("100000.00"))),
            ("m3", lambda f: f.restore(SELLER.uscc, Money.of("40000.00"), request_id="FR1")),
            ("m4", lambda f: f.restore(SELLER.uscc, Money.of("60000.00"), request_id="FR1")),
        ):
            async with units() as uow:
                uow.requests.cause = Cause(message_id, "test.message")
                await step(uow.facilities)
                await uow.commit()

        state, moves = await _moves(units, "FR1", Entity.RESERVATION)
        assert state == "RELEASED"
        assert moves == [
            (None, "RESERVED", "reserve", "m1"),
            ("RESERVED", "CONSUMED", "consume", "m2"),
            ("CONSUMED", "PARTIALLY_RELEASED", "release", "m3"),
            ("PARTIALLY_RELEASED", "RELEASED", "release", "m4"),
        ]
        async with units() as uow:
            seller = await uow.facilities.get(SELLER.uscc)
        assert seller is not None
        assert (seller.used.amount, seller.reserved.amount) == (0, 0)

    async def test_a_hold_given_back_is_cancelled_and_settling_it_again_does_nothing(
        self, units, caplog
    ):
        await _submitted(units, "FR1")
        async with units() as uow:
            await uow.facilities.reserve("FR1", SELLER.uscc, Money.of("100000.00"))
            await uow.commit()
        for _ in range(2):  # a redelivered rejection must not fail
            async with units() as uow:
                await uow.facilities.release("FR1")
                await uow.commit()
        with caplog.at_level(logging.WARNING, logger=LIFECYCLE_LOG):
            async with units() as uow:  # a late payment report: nothing is held any more
                await uow.facilities.consume("FR1", Money.of("100000.00"))
                await uow.commit()

        state, moves = await _moves(units, "FR1", Entity.RESERVATION)
        assert state == "CANCELLED"
        assert [(s, t) for s, t, _, _ in moves] == [(None, "RESERVED"), ("RESERVED", "CANCELLED")]
        assert "FR1: reservation consume in state CANCELLED ignored" in caplog.text
        async with units() as uow:
            seller = await uow.facilities.get(SELLER.uscc)
        assert seller is not None
        assert (seller.used.amount, seller.reserved.amount) == (0, 0)

    async def test_giving_back_principal_of_a_hold_never_used_is_refused_and_logged(
        self, units, caplog
    ):
        await _submitted(units, "FR1")
        async with units() as uow:
            await uow.facilities.reserve(
                "FR1", SELLER.uscc, Money.of("100000.00"), buyer_uscc=BUYER.uscc
            )
            await uow.commit()

        with caplog.at_level(logging.WARNING, logger=LIFECYCLE_LOG):
            async with units() as uow:
                uow.requests.cause = Cause("m9", "repayment.received")
                with pytest.raises(TransitionRefused, match="limit_reservation: event release"):
                    await uow.facilities.restore(
                        SELLER.uscc, Money.of("10000.00"), request_id="FR1"
                    )

        assert "FR1: refused reservation release in state RESERVED" in caplog.text
        assert "repayment.received" in caplog.text
        async with units() as uow:
            seller = await uow.facilities.get(SELLER.uscc)
        assert seller is not None
        assert (seller.used.amount, seller.reserved.amount) == (0, 100000)

    async def test_giving_back_more_than_the_reservation_uses_is_refused(self, units, caplog):
        await _submitted(units, "FR1")
        async with units() as uow:
            await uow.facilities.reserve("FR1", SELLER.uscc, Money.of("100000.00"))
            await uow.facilities.consume("FR1", Money.of("100000.00"))
            await uow.commit()
        with caplog.at_level(logging.WARNING, logger=LIFECYCLE_LOG):
            async with units() as uow:
                with pytest.raises(TransitionRefused, match="guard failed"):
                    await uow.facilities.restore(
                        SELLER.uscc, Money.of("100000.01"), request_id="FR1"
                    )
        assert "FR1: refused reservation release in state CONSUMED" in caplog.text


def _registration(request_id: str, number: str = "04512345678900001") -> Registration:
    return Registration(request_id=request_id, registration_no=number, registered_at=NOW)


class TestRegistration:
    async def test_filing_and_cancelling_move_the_registration_once_each(self, units):
        await _submitted(units, "FR1")
        for message_id in ("m1", "m2"):  # filed again after a review: the same registration
            async with units() as uow:
                uow.requests.cause = Cause(message_id, "financing.limit-reserved")
                await uow.registrations.add(_registration("FR1"))
                await uow.commit()
        for _ in range(2):  # the daily job's cancellation, and a rerun
            async with units() as uow:
                uow.requests.cause = Cause(message_type="jobs daily")
                await uow.registrations.cancel("FR1", note="注销登记", at=NOW + timedelta(days=1))
                await uow.commit()

        state, moves = await _moves(units, "FR1", Entity.REGISTRATION)
        assert state == "CANCELLED"
        assert moves == [
            ("DRAFT", "REGISTERED", "submit, confirm", "m1"),
            ("REGISTERED", "CANCELLED", "cancel", None),
        ]

    async def test_a_registration_cancelled_when_it_was_filed_is_stored_cancelled(self, units):
        await _submitted(units, "FR1")
        async with units() as uow:  # the registration step lost the priority race
            await uow.registrations.add(_registration("FR1"))
            await uow.registrations.cancel("FR1", note="REGISTRY_CONFLICT")
            await uow.commit()

        state, moves = await _moves(units, "FR1", Entity.REGISTRATION)
        assert state == "CANCELLED"
        assert [(s, t) for s, t, _, _ in moves] == [
            ("DRAFT", "REGISTERED"),
            ("REGISTERED", "CANCELLED"),
        ]

    async def test_cancelling_a_registration_never_filed_is_refused_and_logged(self, units, caplog):
        await _submitted(units, "FR1")
        with caplog.at_level(logging.WARNING, logger=LIFECYCLE_LOG):
            async with units() as uow:
                with pytest.raises(TransitionRefused, match="registration: event cancel"):
                    await uow.registrations.cancel("FR1")
        assert "FR1: refused registration cancel in state DRAFT" in caplog.text
        assert await _moves(units, "FR1", Entity.REGISTRATION) == (None, [])


async def test_revision_0012_puts_existing_rows_where_their_lifecycles_stand(database_url):
    database = Database(database_url)
    try:
        async with database.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0011"))
            await conn.execute(insert(_REQUESTS_0011), [_request(i, s) for i, s in _STATES])
            await conn.execute(
                insert(_EVENTS_0011),
                [
                    {"request_id": i, "state": s, "at": NOW}
                    for i, states in _HISTORY.items()
                    for s in states
                ],
            )
            await conn.execute(
                insert(_RESERVATIONS_0011),
                [
                    {
                        "request_id": i,
                        "seller_uscc": SELLER.uscc,
                        "amount_fen": 10_000_000,
                        "state": s,
                        "updated_at": NOW,
                    }
                    for i, s in (
                        ("FRA", "RELEASED"),
                        ("FRC", "CONSUMED"),
                        ("FRD", "CONSUMED"),
                        ("FRE", "CONSUMED"),
                    )
                ],
            )
            await conn.execute(
                insert(_LOANS_0011),
                [_loan("FRC", 4_000_000), _loan("FRD", 10_000_000), _loan("FRE", 0)],
            )
            await conn.execute(
                insert(_REGISTRATIONS_0011),
                [
                    {
                        "request_id": i,
                        "registration_no": f"0451{i}",
                        "modification_code": "",
                        "registered_at": NOW,
                        "cancelled_at": cancelled,
                    }
                    for i, cancelled in (("FRD", NOW), ("FRE", None))
                ],
            )
        await database.upgrade()
        units = UnitOfWorkFactory(database, lambda: NOW)
        found = {}
        async with units() as uow:
            for request_id, _ in _STATES:
                lifecycles = await lifecycles_of(uow.session, request_id)
                found[request_id] = tuple(lifecycles[e].state for e in Entity)
    finally:
        await database.aclose()

    assert found == {
        "FRA": ("ELIGIBLE", "CANCELLED", None),  # rejected after matching; its hold given back
        "FRB": ("INVALID", None, None),  # rejected by matching
        "FRC": ("PARTIALLY_COLLECTED", "PARTIALLY_RELEASED", None),
        "FRD": ("COLLECTED", "RELEASED", "CANCELLED"),
        "FRE": ("FINANCED", "CONSUMED", "REGISTERED"),
    }


_STATES = (
    ("FRA", "REJECTED"),
    ("FRB", "REJECTED"),
    ("FRC", "PARTIALLY_REPAID"),
    ("FRD", "SETTLED"),
    ("FRE", "DISBURSED"),
)
_HISTORY = {"FRA": ("SUBMITTED", "MATCHED", "REJECTED"), "FRB": ("SUBMITTED", "REJECTED")}
_REQUESTS_0011 = table(
    "financing_requests",
    *(
        column(name, String())
        for name in (
            "id",
            "tenant",
            "source_system",
            "source_document_id",
            "seller_uscc",
            "buyer_uscc",
            "invoice_key",
            "currency",
            "state",
            "document",
        )
    ),
    column("total_fen", BigInteger()),
    column("version", BigInteger()),
    column("created_at", UtcDateTime()),
    column("updated_at", UtcDateTime()),
)
_EVENTS_0011 = table(
    "request_events",
    column("request_id", String()),
    column("state", String()),
    column("at", UtcDateTime()),
)
_RESERVATIONS_0011 = table(
    "limit_reservations",
    *(column(name, String()) for name in ("request_id", "seller_uscc", "state")),
    column("amount_fen", BigInteger()),
    column("updated_at", UtcDateTime()),
)
_LOANS_0011 = table(
    "loans",
    *(column(name, String()) for name in ("request_id", "currency", "terms", "state")),
    *(
        column(name, BigInteger())
        for name in ("principal_fen", "outstanding_fen", "released_fen", "days_past_due")
    ),
    column("start_date", Date()),
    column("opened_at", UtcDateTime()),
    column("updated_at", UtcDateTime()),
)
_REGISTRATIONS_0011 = table(
    "registrations",
    *(column(name, String()) for name in ("request_id", "registration_no", "modification_code")),
    column("registered_at", UtcDateTime()),
    column("cancelled_at", UtcDateTime()),
)


def _request(request_id: str, state: str) -> dict[str, object]:
    return {
        "id": request_id,
        "tenant": "t1",
        "source_system": "test",
        "source_document_id": request_id,
        "seller_uscc": SELLER.uscc,
        "buyer_uscc": BUYER.uscc,
        "invoice_key": request_id,
        "currency": "CNY",
        "state": state,
        "document": "{}",
        "total_fen": 11_300_000,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }


def _loan(request_id: str, released_fen: int) -> dict[str, object]:
    return {
        "request_id": request_id,
        "currency": "CNY",
        "terms": "{}",
        "state": "DISBURSED",
        "principal_fen": 10_000_000,
        "outstanding_fen": 10_000_000 - released_fen,
        "released_fen": released_fen,
        "days_past_due": 0,
        "start_date": date(2026, 11, 28),
        "opened_at": NOW,
        "updated_at": NOW,
    }
