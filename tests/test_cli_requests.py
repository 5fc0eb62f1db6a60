"""`factorhub requests show`: the application's history, then its receivable, limit
reservation and registration (§4.2-4.4), each with its moves."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from canonical import FinancingState, Money, Registration
from hub.cli import app
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.lifecycles import Cause
from tests.builders import NOW, SELLER, facility, financing_request

runner = CliRunner()
F = FinancingState


async def _registered(url: str) -> None:
    """FR1 matched, its limit held and its registration filed, each by a message."""
    database = Database(url)
    await database.upgrade()
    units = UnitOfWorkFactory(database, lambda: NOW)
    try:
        async with units() as uow:
            await uow.requests.add(financing_request("FR1"), source_system="test")
            await uow.facilities.put(facility())
            await uow.commit()
        async with units() as uow:
            uow.requests.cause = Cause("m1", "FinancingSubmitted")
            await uow.requests.transition("FR1", F.MATCHED, allowed_from=frozenset({F.SUBMITTED}))
            await uow.commit()
        async with units() as uow:
            uow.requests.cause = Cause("m2", "DocumentsMatched")
            await uow.facilities.reserve("FR1", SELLER.uscc, Money.of("100000.00"))
            await uow.requests.transition(
                "FR1", F.LIMIT_RESERVED, allowed_from=frozenset({F.MATCHED})
            )
            await uow.commit()
        async with units() as uow:
            uow.requests.cause = Cause("m3", "LimitReserved")
            registration = Registration(
                request_id="FR1", registration_no="04512345678900001", registered_at=NOW
            )
            await uow.registrations.add(registration)
            await uow.requests.transition(
                "FR1", F.REGISTERED, allowed_from=frozenset({F.LIMIT_RESERVED})
            )
            await uow.commit()
    finally:
        await database.aclose()


def test_a_request_shows_its_receivable_reservation_and_registration_with_their_moves(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    asyncio.run(_registered(url))

    printed = runner.invoke(app, ["requests", "show", "FR1", "--database-url", url])
    shown = runner.invoke(app, ["requests", "show", "FR1", "--json", "--database-url", url])

    assert printed.exit_code == 0, printed.output
    for line in ("receivable REGISTERED", "reservation RESERVED", "registration REGISTERED"):
        assert line in printed.output
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert body["receivable"]["state"] == "REGISTERED"
    assert [(m["from"], m["to"], m["message_id"]) for m in body["receivable"]["history"]] == [
        ("IMPORTED", "ELIGIBLE", "m1"),
        ("ELIGIBLE", "RESERVED", "m2"),
        ("RESERVED", "REGISTERED", "m3"),
    ]
    assert [(m["to"], m["event"]) for m in body["reservation"]["history"]] == [
        ("RESERVED", "reserve")
    ]
    assert [(m["from"], m["to"]) for m in body["registration"]["history"]] == [
        ("DRAFT", "REGISTERED")
    ]
