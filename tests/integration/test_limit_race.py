"""200 applications race for one seller limit on PostgreSQL, from four hub processes' worth of
connection pools, in batches as the consumers apply them: the limit is never over-reserved."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from canonical import Money
from hub.persistence import Database, UnitOfWorkFactory
from routes.ports import ReserveOutcome
from tests.builders import NOW, SELLER, facility

LIMIT = Decimal("1000000.00")
APPLICATIONS = 200
CONSUMERS = 4
BATCH = 5


async def test_two_hundred_racing_applications_never_over_reserve_one_limit(postgres_url):
    databases = [Database(postgres_url) for _ in range(CONSUMERS)]
    await databases[0].upgrade()
    factories = [UnitOfWorkFactory(db, lambda: NOW) for db in databases]
    try:
        async with factories[0]() as uow:
            await uow.facilities.put(facility(str(LIMIT)))
            await uow.commit()
        rng = random.Random(11)
        amounts = {
            f"FR{i:04d}": Decimal(rng.randint(1_000_00, 30_000_00)) / 100
            for i in range(APPLICATIONS)
        }
        ids = list(amounts)

        async def consume(units: UnitOfWorkFactory, mine: list[str]) -> dict[str, ReserveOutcome]:
            outcomes: dict[str, ReserveOutcome] = {}
            for start in range(0, len(mine), BATCH):
                batch = mine[start : start + BATCH]
                async with units() as uow:
                    uow.facilities.expect(batch, [SELLER.uscc])
                    for request_id in batch:
                        outcomes[request_id], _ = await uow.facilities.reserve(
                            request_id, SELLER.uscc, Money.of(amounts[request_id])
                        )
                    await uow.commit()
            return outcomes

        shares = [ids[n::CONSUMERS] for n in range(CONSUMERS)]
        results = await asyncio.wait_for(
            asyncio.gather(*(consume(f, s) for f, s in zip(factories, shares, strict=True))), 120
        )
        outcomes = {k: v for part in results for k, v in part.items()}
        reserved = sum(
            (amounts[k] for k, v in outcomes.items() if v is ReserveOutcome.RESERVED), Decimal(0)
        )
        async with factories[0]() as uow:
            held = await uow.facilities.get(SELLER.uscc)
        assert held is not None
        assert held.reserved.amount == reserved  # what the facility holds is what was granted
        assert reserved <= LIMIT
        refused = [amounts[k] for k, v in outcomes.items() if v is not ReserveOutcome.RESERVED]
        assert refused  # the race really ran out of limit
        assert all(amount > LIMIT - reserved for amount in refused)  # and refused only for cause
        assert len(outcomes) == APPLICATIONS
    finally:
        for database in databases:
            await database.aclose()
