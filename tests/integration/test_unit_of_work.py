"""The unit of work on real databases: SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError

from canonical import FinancingState, IllegalTransition, Money
from hub.persistence import Database, UnitOfWorkFactory
from routes.ports import ReserveOutcome
from tests.builders import BUYER, NOW, SELLER, facility, financing_request


@pytest.fixture
async def units(database_url):
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


async def test_migrations_can_be_applied_twice(units):
    await units.database.upgrade()


async def test_the_migrations_build_exactly_the_tables_the_code_declares(units):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.persistence.tables import Base

    def differences(connection):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with units.database.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_leaving_without_commit_rolls_everything_back(units):
    async with units() as uow:
        await uow.requests.add(financing_request("FR1"), source_system="test")
    async with units() as uow:
        assert await uow.requests.state_of("FR1") is None


async def test_the_same_source_document_is_stored_once(units):
    async with units() as uow:
        assert await uow.requests.add(financing_request("FR1"), source_system="test")
        await uow.commit()
    async with units() as uow:
        assert not await uow.requests.add(financing_request("FR1"), source_system="test")


async def test_transitions_are_recorded_with_their_cause_and_illegal_ones_refused(units):
    async with units() as uow:
        await uow.requests.add(financing_request("FR1"), source_system="test")
        await uow.requests.transition(
            "FR1", FinancingState.MATCHED, allowed_from=frozenset({FinancingState.SUBMITTED})
        )
        with pytest.raises(IllegalTransition):
            await uow.requests.transition(
                "FR1",
                FinancingState.DISBURSED,
                allowed_from=frozenset({FinancingState.DISBURSING}),
            )
        await uow.commit()
    async with units() as uow:
        history = await uow.requests.history("FR1")
    assert [h.state for h in history] == ["SUBMITTED", "MATCHED"]


async def test_a_message_claimed_twice_by_one_consumer_is_refused(units):
    async with units() as uow:
        await uow.inbox.claim("g", "m1")
        await uow.inbox.claim("other", "m1")
        await uow.commit()
    async with units() as uow:
        with pytest.raises(IntegrityError):
            await uow.inbox.claim("g", "m1")
    async with units() as uow:
        assert await uow.inbox.seen("g", ["m1", "m2"]) == {"m1"}


async def test_reservations_hold_headroom_and_release_and_consume_exactly(units):
    async with units() as uow:
        await uow.facilities.put(facility("100000.00"))
        held = Money.of("60000.00")
        assert await uow.facilities.reserve("A", SELLER.uscc, held) == (
            ReserveOutcome.RESERVED,
            held,
        )
        assert await uow.facilities.reserve("A", SELLER.uscc, Money.of("70000.00")) == (
            ReserveOutcome.RESERVED,
            held,
        ), "asking again for the same request is a no-op that answers what it holds"
        assert (await uow.facilities.reserve("B", SELLER.uscc, Money.of("40000.01")))[0] is (
            ReserveOutcome.INSUFFICIENT
        )
        assert (await uow.facilities.reserve("C", "913101156607431925", Money.of("1.00")))[0] is (
            ReserveOutcome.NO_FACILITY
        )
        await uow.commit()
    async with units() as uow:
        await uow.facilities.consume("A", Money.of("59999.99"))
        await uow.facilities.release("A")  # already consumed: nothing to give back
        await uow.commit()
    async with units() as uow:
        held = await uow.facilities.get(SELLER.uscc)
    assert held is not None
    assert (held.used.amount, held.reserved.amount) == (Money.of("59999.99").amount, 0)
    assert held.headroom == Money.of("40000.01")


async def test_a_short_headroom_is_reserved_whole_down_to_the_floor_asked_for(units):
    async with units() as uow:
        await uow.facilities.put(facility("100000.00"))
        await uow.facilities.reserve("A", SELLER.uscc, Money.of("90000.00"))
        floor = Money.of("10000.00")
        assert await uow.facilities.reserve(
            "B", SELLER.uscc, Money.of("30000.00"), at_least=floor
        ) == (ReserveOutcome.REDUCED_BY_SELLER, Money.of("10000.00"))  # all that was left
        assert (
            await uow.facilities.reserve("C", SELLER.uscc, Money.of("30000.00"), at_least=floor)
        )[0] is ReserveOutcome.INSUFFICIENT  # nothing left
        await uow.commit()
    async with units() as uow:
        held = await uow.facilities.get(SELLER.uscc)
    assert held is not None
    assert held.reserved == Money.of("100000.00")


async def test_concurrent_reservations_never_exceed_the_limit(units):
    async with units() as uow:
        await uow.facilities.put(facility("100000.00"))
        await uow.commit()

    async def reserve(i: int) -> ReserveOutcome:
        async with units() as uow:
            outcome, _ = await uow.facilities.reserve(f"R{i}", SELLER.uscc, Money.of("30000.00"))
            await uow.commit()
            return outcome

    outcomes = await asyncio.gather(*(reserve(i) for i in range(10)))
    assert outcomes.count(ReserveOutcome.RESERVED) == 3
    async with units() as uow:
        held = await uow.facilities.get(SELLER.uscc)
    assert held is not None
    assert held.reserved == Money.of("90000.00")


async def test_units_changing_the_same_facilities_in_opposite_orders_do_not_deadlock(units):
    async with units() as uow:
        await uow.facilities.put(facility("1000.00", SELLER))
        await uow.facilities.put(facility("1000.00", BUYER))
        await uow.commit()

    async def reserve(prefix: str, order: list[str]) -> None:
        async with units() as uow:
            uow.facilities.expect([f"{prefix}{i}" for i in range(2)], order)
            for i, seller in enumerate(order):
                await uow.facilities.reserve(f"{prefix}{i}", seller, Money.of("10.00"))
                await asyncio.sleep(0.05)  # let the other unit interleave
            await uow.commit()

    await asyncio.wait_for(
        asyncio.gather(
            reserve("A", [SELLER.uscc, BUYER.uscc]), reserve("B", [BUYER.uscc, SELLER.uscc])
        ),
        30,
    )
    async with units() as uow:
        for party in (SELLER, BUYER):
            held = await uow.facilities.get(party.uscc)
            assert held is not None
            assert held.reserved == Money.of("20.00")
