"""The 中登网 gateway against the registry simulator: 批量登记 uploads, idempotent by reference."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from canonical import Money, PermanentError, Registration
from connectors.registry import HttpRegistryGateway
from routes.policy import DEFAULT_FACTOR
from routes.ports import RegistrationRequest
from simulators import registry
from tests.builders import SELLER


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=registry.create_app(seed=2))
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield client


def _filing(reference: str, **changes: object) -> RegistrationRequest:
    fields: dict[str, object] = {
        "filer_reference": reference,
        "assignor": SELLER,
        "assignee": DEFAULT_FACTOR,
        "description": f"应收账款转让 {reference}",
        "amount": Money.of("90000.00"),
        "invoices": ("26322000000012345678",),
    }
    fields.update(changes)
    return RegistrationRequest(**fields)  # type: ignore[arg-type]


async def test_filings_go_up_in_uploads_and_come_back_in_order(client):
    gateway = HttpRegistryGateway(client, batch_size=2)

    answers = await gateway.register_many([_filing(f"FR{n}") for n in range(5)])

    assert [a.request_id for a in answers if isinstance(a, Registration)] == [
        f"FR{n}" for n in range(5)
    ]
    assert len({a.registration_no for a in answers if isinstance(a, Registration)}) == 5
    assert (await client.get("/admin/stats")).json()["requests"] == 3


async def test_filing_again_returns_the_same_registrations(client):
    gateway = HttpRegistryGateway(client)
    first = await gateway.register_many([_filing("FR1"), _filing("FR2")])

    again = await gateway.register_many([_filing("FR2"), _filing("FR1")])

    assert again == [first[1], first[0]]


async def test_a_refused_filing_fails_alone(client):
    gateway = HttpRegistryGateway(client)

    good, refused = await gateway.register_many([_filing("FR1"), _filing("FR2", period_months=0)])

    assert isinstance(good, Registration)
    assert isinstance(refused, PermanentError)
    assert "registrations.1.period_months" in str(refused)
