"""Dead letters replayed from another process reach a running embedded hub."""

from __future__ import annotations

import asyncio

from canonical import FinancingState
from hub.app import Hub
from hub.config import Settings
from hub.operations import replay
from hub.persistence import Database, UnitOfWorkFactory
from routes.flow import ROUTES
from tests.builders import NOW, financing_request, submitted_envelope

MATCH = next(r for r in ROUTES if r.group == "match-documents")


async def _eventually(check, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_a_replay_written_by_another_process_is_delivered_without_a_restart(sqlite_url):
    settings = Settings(database_url=sqlite_url)
    async with Hub(settings, routes=(MATCH,)) as hub:
        async with hub.units() as uow:  # a message for a request that is not there yet
            await uow.outbox.add_many([("financing.submitted", submitted_envelope("FR7"))])
            await uow.commit()

        async def dead_lettered() -> bool:
            async with hub.units() as uow:
                return await uow.dead_letters.count() == 1

        await _eventually(dead_lettered)

        other = Database(sqlite_url)  # what `factorhub dlq replay` opens in its own process
        try:
            operator = UnitOfWorkFactory(other, lambda: NOW)
            async with operator() as uow:
                await uow.requests.add(financing_request("FR7"), source_system="test")
                await uow.commit()
            assert len(await replay(operator, None)) == 1
        finally:
            await other.aclose()

        async def matched() -> bool:
            async with hub.units() as uow:
                return await uow.requests.state_of("FR7") == (FinancingState.MATCHED, None)

        await _eventually(matched)
        async with hub.units() as uow:
            assert await uow.dead_letters.count() == 0
