"""A buyer's (debtor's) limit is held together with the seller's facility (§3.7), on SQLite and
PostgreSQL: the tighter of the two decides, and both move together on every step."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import pytest

from canonical import Money, Party, PartyRole
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.facilities import BuyerLimitTerms
from routes.ports import ReserveOutcome
from tests.builders import BUYER, NOW, SELLER, facility


@pytest.fixture
async def units(database_url):
    database = Database(database_url)
    await database.upgrade()
    try:
        yield UnitOfWorkFactory(database, lambda: NOW)
    finally:
        await database.aclose()


async def _setup(units, seller_limit: str, buyer_limit: str) -> None:
    async with units() as uow:
        await uow.facilities.put(facility(seller_limit))
        await uow.facilities.put_buyer(BuyerLimitTerms(BUYER, Money.of(buyer_limit)))
        await uow.commit()


async def _buyer(units) -> tuple[Decimal, Decimal]:
    async with units() as uow:
        figures = await uow.facilities.buyer_limit(BUYER.uscc)
    assert figures is not None
    _, used, reserved = figures
    return used.amount, reserved.amount


async def test_a_short_buyer_limit_refuses_what_the_seller_facility_would_allow(units):
    await _setup(units, "1000000.00", "50000.00")
    async with units() as uow:
        outcome, held = await uow.facilities.reserve(
            "A", SELLER.uscc, Money.of("60000.00"), buyer_uscc=BUYER.uscc
        )
        await uow.commit()
    assert (outcome, held.amount) == (ReserveOutcome.INSUFFICIENT_BUYER, Decimal("0.00"))
    assert await _buyer(units) == (0, 0)


async def test_partial_approval_is_cut_to_the_buyers_headroom_when_it_is_the_tighter(units):
    await _setup(units, "1000000.00", "50000.00")
    async with units() as uow:
        outcome, held = await uow.facilities.reserve(
            "A",
            SELLER.uscc,
            Money.of("60000.00"),
            at_least=Money.of("10000.00"),
            buyer_uscc=BUYER.uscc,
        )
        await uow.commit()
    assert (outcome, held) == (ReserveOutcome.REDUCED_BY_BUYER, Money.of("50000.00"))
    async with units() as uow:
        seller = await uow.facilities.get(SELLER.uscc)
    assert seller is not None
    assert seller.reserved == Money.of("50000.00")  # the same amount on both
    assert await _buyer(units) == (0, Decimal("50000.00"))


async def test_consume_release_and_repayment_move_the_buyer_limit_with_the_facility(units):
    await _setup(units, "1000000.00", "100000.00")
    async with units() as uow:
        for request_id in ("A", "B"):
            await uow.facilities.reserve(
                request_id, SELLER.uscc, Money.of("30000.00"), buyer_uscc=BUYER.uscc
            )
        await uow.commit()
    async with units() as uow:
        await uow.facilities.consume("A", Money.of("29999.99"))  # true-up to what was paid
        await uow.facilities.release("B")
        await uow.commit()
    assert await _buyer(units) == (Decimal("29999.99"), 0)
    async with units() as uow:
        await uow.facilities.restore(SELLER.uscc, Money.of("10000.00"), buyer_uscc=BUYER.uscc)
        await uow.commit()
    assert await _buyer(units) == (Decimal("19999.99"), 0)
    async with units() as uow:
        seller = await uow.facilities.get(SELLER.uscc)
    assert seller is not None
    assert seller.used == Money.of("19999.99")


async def test_a_buyer_without_a_limit_is_not_limited_here(units):
    async with units() as uow:
        await uow.facilities.put(facility("100000.00"))
        outcome, held = await uow.facilities.reserve(
            "A", SELLER.uscc, Money.of("90000.00"), buyer_uscc="91310000MA1FL8TQ1X"
        )
        await uow.commit()
    assert (outcome, held) == (ReserveOutcome.RESERVED, Money.of("90000.00"))


async def test_two_hundred_racing_applications_of_many_sellers_never_over_reserve_one_buyer(
    postgres_url,
):
    databases = [Database(postgres_url) for _ in range(4)]
    await databases[0].upgrade()
    factories = [UnitOfWorkFactory(db, lambda: NOW) for db in databases]
    sellers = [
        Party(name=f"卖方{n}有限公司", uscc=uscc, role=PartyRole.SELLER)
        for n, uscc in enumerate(("9132050571358240X0", "91310000MA1FL8TQ10"))
    ]
    limit = Decimal("1000000.00")
    try:
        async with factories[0]() as uow:
            for seller in sellers:
                await uow.facilities.put(facility("100000000.00", party=seller))
            await uow.facilities.put_buyer(BuyerLimitTerms(BUYER, Money(amount=limit)))
            await uow.commit()
        rng = random.Random(7)
        wanted = {
            f"FRB{i:04d}": (sellers[i % 2].uscc, Decimal(rng.randint(1_000_00, 30_000_00)) / 100)
            for i in range(200)
        }
        ids = list(wanted)

        async def consume(units: UnitOfWorkFactory, mine: list[str]) -> dict[str, Decimal]:
            granted: dict[str, Decimal] = {}
            for start in range(0, len(mine), 5):
                batch = mine[start : start + 5]
                async with units() as uow:
                    uow.facilities.expect(batch, {wanted[r][0] for r in batch}, [BUYER.uscc])
                    for request_id in batch:
                        seller, amount = wanted[request_id]
                        outcome, held = await uow.facilities.reserve(
                            request_id,
                            seller,
                            Money(amount=amount),
                            at_least=Money.of("10000.00"),
                            buyer_uscc=BUYER.uscc,
                        )
                        if outcome.held:
                            granted[request_id] = held.amount
                    await uow.commit()
            return granted

        parts = await asyncio.wait_for(
            asyncio.gather(*(consume(f, ids[n::4]) for n, f in enumerate(factories))),
            120,
        )
        granted = sum((v for part in parts for v in part.values()), Decimal(0))
        async with factories[0]() as uow:
            figures = await uow.facilities.buyer_limit(BUYER.uscc)
        assert figures is not None
        assert figures[2].amount == granted  # what the buyer's limit holds is what was granted
        assert granted <= limit
        assert limit - granted < Decimal("10000.00")  # used up to less than a minimum ticket
    finally:
        for database in databases:
            await database.aclose()
