"""One application per tax invoice (factoring-domain §3.1), across tenants and ERPs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from canonical import FinancingState
from connectors.bank_iso import IsoBankGateway
from connectors.registry import HttpRegistryGateway
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.invoice_locks import invoice_fingerprint
from hub.runtime.consumer import RouteConsumer
from hub.runtime.retry import RetryPolicy
from routes.flow import ROUTES
from routes.policy import FlowPolicy
from routes.registry import Services
from tests.builders import NOW, financing_request, submitted_envelope

MATCH = next(r for r in ROUTES if r.group == "match-documents")
SHARED = "26322000000012345678"


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


def _consumer(units: UnitOfWorkFactory, client: httpx.AsyncClient) -> RouteConsumer:
    services = Services(
        policy=FlowPolicy(),
        clock=lambda: NOW,
        registry=HttpRegistryGateway(client),
        bank=IsoBankGateway(client),
    )
    return RouteConsumer(MATCH, units, services, retry=RetryPolicy(attempts=2, initial=0.01))


async def _store(units: UnitOfWorkFactory, *ids: str, invoice: str = SHARED) -> None:
    async with units() as uow:
        for request_id in ids:
            request = financing_request(request_id, invoice_number=invoice)
            await uow.requests.add(request, source_system="test")
        await uow.commit()


async def _states(units: UnitOfWorkFactory, *ids: str) -> list[tuple[FinancingState, str | None]]:
    async with units() as uow:
        return [await uow.requests.state_of(i) for i in ids]  # type: ignore[misc]


async def test_a_second_application_with_the_same_invoice_is_rejected_in_the_same_batch(units):
    await _store(units, "FR1", "FR2")
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as unused:
        await _consumer(units, unused)(
            [submitted_envelope(i, invoice_number=SHARED) for i in ("FR1", "FR2")]
        )
    assert await _states(units, "FR1", "FR2") == [
        (FinancingState.MATCHED, None),
        (FinancingState.REJECTED, "DUPLICATE_FINANCING"),
    ]


async def test_an_invoice_is_free_again_once_its_application_was_rejected(units):
    await _store(units, "FR1")
    async with units() as uow:
        assert await uow.invoice_locks.claim(SHARED, "FR1") == "FR1"
        await uow.requests.transition(
            "FR1",
            FinancingState.REJECTED,
            allowed_from=frozenset({FinancingState.SUBMITTED}),
            reason="MATCH_AMOUNT",
        )
        await uow.commit()
    await _store(units, "FR2")
    async with units() as uow:
        assert await uow.invoice_locks.claim(SHARED, "FR2") == "FR2"  # taken over
        assert await uow.invoice_locks.claim(SHARED, "FR3") == "FR2"
        await uow.commit()


async def test_concurrent_claims_of_one_invoice_leave_exactly_one_owner(units):
    await _store(units, *(f"FR{i}" for i in range(8)))

    async def claim(request_id: str) -> str:
        """As the consumer does: a unit that lost the race cannot commit its lock, and the
        message is applied again in a fresh unit, which then sees the winner."""
        for _ in range(3):
            try:
                async with units() as uow:
                    owner = await uow.invoice_locks.claim(SHARED, request_id)
                    await asyncio.sleep(0.01)  # hold the transaction open while others try
                    await uow.commit()
                    return owner
            except IntegrityError:
                continue
        raise AssertionError("the claim never settled")

    owners = await asyncio.gather(*(claim(f"FR{i}") for i in range(8)))
    assert len(set(owners)) == 1


def test_the_fingerprint_is_the_sm3_of_the_tax_identity_only():
    assert invoice_fingerprint(SHARED) == invoice_fingerprint(SHARED)
    assert invoice_fingerprint(SHARED) != invoice_fingerprint("1100201130" + "12345678")
    assert len(invoice_fingerprint(SHARED)) == 64


async def test_two_consumers_racing_with_the_same_invoice_finance_it_once(database_url):
    databases = [Database(database_url) for _ in range(2)]
    await databases[0].upgrade()
    factories = [UnitOfWorkFactory(db, lambda: NOW) for db in databases]
    try:
        await _store(factories[0], "FRA", "FRB")
        async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as unused:
            await asyncio.gather(
                _consumer(factories[0], unused)([submitted_envelope("FRA", invoice_number=SHARED)]),
                _consumer(factories[1], unused)([submitted_envelope("FRB", invoice_number=SHARED)]),
            )
        states = sorted(await _states(factories[0], "FRA", "FRB"))
        assert states == [
            (FinancingState.MATCHED, None),
            (FinancingState.REJECTED, "DUPLICATE_FINANCING"),
        ]
    finally:
        for database in databases:
            await database.aclose()
