"""The SM3 audit chain on SQLite and PostgreSQL: sealed after the business transactions, once
whoever seals, and `verify` names every edited, deleted, reordered or inserted entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from canonical import FinancingState, Money
from hub.app import Hub
from hub.cli_audit import report_lines
from hub.config import Settings
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.lifecycles import Cause
from hub.review import approve, reject
from hub.security.audit import (
    _BY_NAME,
    GENESIS,
    ChainHead,
    Finding,
    Flaw,
    Sealer,
    _canonical,
    _iso,
    chain_head,
    seal_now,
    verify,
)
from hub.security.gm import sm3
from routes.policy import FlowPolicy
from tests.builders import NOW, SELLER, facility, financing_request

F = FinancingState


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


async def _history(units: UnitOfWorkFactory) -> None:
    """FR1 matched with its limit held (application and reservation moves); FR2 waiting for
    an operator."""
    async with units() as uow:
        await uow.facilities.put(facility())
        for request_id in ("FR1", "FR2"):
            await uow.requests.add(financing_request(request_id), source_system="test")
        await uow.commit()
    async with units() as uow:
        uow.requests.cause = Cause("m1", "FinancingSubmitted")
        await uow.requests.transition("FR1", F.MATCHED, allowed_from=frozenset({F.SUBMITTED}))
        await uow.requests.transition(
            "FR2", F.MATCH_REVIEW, allowed_from=frozenset({F.SUBMITTED}), reason="NO_ORDER"
        )
        await uow.commit()
    async with units() as uow:
        uow.requests.cause = Cause("m2", "DocumentsMatched")
        await uow.facilities.reserve("FR1", SELLER.uscc, Money.of("1000.00"))
        await uow.requests.transition("FR1", F.LIMIT_RESERVED, allowed_from=frozenset({F.MATCHED}))
        await uow.commit()


async def _sql(units: UnitOfWorkFactory, *statements: str) -> None:
    """Tamper as someone with database access would: raw SQL, committed."""
    async with units.database.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def _seq_of(units: UnitOfWorkFactory, source: str, entry_id: int) -> int:
    async with units.database.engine.connect() as conn:
        seq = await conn.scalar(
            text("SELECT seq FROM audit_chain WHERE source = :s AND entry_id = :e"),
            {"s": source, "e": entry_id},
        )
    assert seq is not None
    return int(seq)


async def _sealed(units: UnitOfWorkFactory) -> ChainHead:
    await _history(units)
    assert await seal_now(units.database, units.clock) == 6  # 5 application, 1 reservation
    verdict = await verify(units.database)
    assert verdict.intact, verdict.findings
    return verdict.head


async def test_a_sealed_chain_verifies_clean_and_links_every_entry_to_the_one_before(units):
    head = await _sealed(units)

    async with units.database.engine.connect() as conn:
        links = (await conn.execute(text("SELECT seq, prev_hash, hash FROM audit_chain"))).all()
    assert [seq for seq, _, _ in sorted(links)] == list(range(1, 7))
    hashes = [GENESIS] + [h for _, _, h in sorted(links)]
    assert [prev for _, prev, _ in sorted(links)] == hashes[:-1]
    assert (head.seq, head.hash) == (6, hashes[-1])


async def test_sealing_again_adds_nothing_and_later_rows_continue_the_chain(units):
    head = await _sealed(units)
    assert await seal_now(units.database, units.clock) == 0
    assert await chain_head(units.database) == head

    await reject(units, "FR2", note="no order will come", actor="bob")
    assert await seal_now(units.database, units.clock) == 2  # the move and the action
    verdict = await verify(units.database, expected=head)
    assert verdict.intact, verdict.findings
    assert verdict.head.seq == 8


async def test_an_edited_field_is_named_with_its_entry(units):
    await _sealed(units)
    await _sql(units, "UPDATE request_events SET state = 'DISBURSED' WHERE id = 4")

    verdict = await verify(units.database)
    seq = await _seq_of(units, "request", 4)
    assert verdict.findings == (
        Finding(seq, Flaw.EDITED, "request_events row 4 does not match its seal"),
    )


async def test_a_deleted_row_is_named_with_its_entry(units):
    await _sealed(units)
    await _sql(units, "DELETE FROM lifecycle_events WHERE id = 1")

    verdict = await verify(units.database)
    seq = await _seq_of(units, "lifecycle", 1)
    assert verdict.findings == (Finding(seq, Flaw.DELETED, "lifecycle_events row 1 is gone"),)


async def test_a_deleted_entry_leaves_a_gap_and_its_row_outside_the_chain(units):
    await _sealed(units)
    seq = await _seq_of(units, "request", 3)
    await _sql(units, f"DELETE FROM audit_chain WHERE seq = {seq}")

    verdict = await verify(units.database)
    assert verdict.findings == (
        Finding(seq, Flaw.MISSING, f"seq {seq} gone"),
        Finding(None, Flaw.INSERTED, "request_events row 3 is not in the chain"),
    )


async def test_a_cut_off_end_is_named(units):
    await _sealed(units)
    await _sql(units, "DELETE FROM audit_chain WHERE seq >= 5")

    findings = (await verify(units.database)).findings
    assert findings[0] == Finding(5, Flaw.MISSING, "seq 5..6 gone (the end of the chain)")
    assert {f.flaw for f in findings[1:]} == {Flaw.INSERTED}


async def test_two_entries_swapped_in_the_chain_are_named_reordered(units):
    await _sealed(units)
    await _sql(
        units,
        "UPDATE audit_chain SET seq = -1 WHERE seq = 4",
        "UPDATE audit_chain SET seq = 4 WHERE seq = 5",
        "UPDATE audit_chain SET seq = 5 WHERE seq = -1",
    )

    findings = (await verify(units.database)).findings
    assert set(findings) == {
        Finding(4, Flaw.REORDERED, "chained after seq 5, not seq 3"),
        Finding(5, Flaw.REORDERED, "chained after seq 3, not seq 4"),
        Finding(5, Flaw.REORDERED, "request_events row 4 sealed after row 5"),
        Finding(6, Flaw.REORDERED, "chained after seq 4, not seq 5"),  # where seq 5 went
    }


async def test_two_history_rows_that_traded_places_are_named_reordered(units):
    await _sealed(units)
    await _sql(  # FR1's MATCHED and LIMIT_RESERVED moves (rows 3 and 5) traded places
        units,
        "UPDATE request_events SET id = -1 WHERE id = 3",
        "UPDATE request_events SET id = 3 WHERE id = 5",
        "UPDATE request_events SET id = 5 WHERE id = -1",
    )

    findings = (await verify(units.database)).findings
    assert findings == (
        Finding(3, Flaw.REORDERED, "what was sealed as request_events row 3 is now row 5"),
        Finding(5, Flaw.REORDERED, "what was sealed as request_events row 5 is now row 3"),
    )


async def test_an_edited_row_is_not_mistaken_for_a_moved_one(units):
    await _sealed(units)
    await _sql(units, "UPDATE request_events SET note = 'x' WHERE id IN (3, 5)")

    findings = (await verify(units.database)).findings
    assert {f.flaw for f in findings} == {Flaw.EDITED}


async def test_resealing_an_edited_entry_breaks_the_next_link_and_a_kept_head_catches_the_rest(
    units,
):
    kept = await _sealed(units)
    seq = await _seq_of(units, "request", 4)
    await _sql(units, "UPDATE request_events SET reason = NULL WHERE id = 4")
    await _reseal_from(units, seq)  # every hash from the edited entry on recomputed

    assert (await verify(units.database)).intact  # consistent in itself...
    findings = (await verify(units.database, expected=kept)).findings
    assert [(f.seq, f.flaw) for f in findings] == [(6, Flaw.HEAD)]  # ...but not the head kept

    await _sql(units, f"UPDATE audit_chain SET prev_hash = '{GENESIS}' WHERE seq = {seq + 1}")
    findings = (await verify(units.database)).findings
    assert (seq + 1, Flaw.BROKEN) in [(f.seq, f.flaw) for f in findings]


async def test_an_operator_decision_is_sealed_with_who_made_it(units):
    await _history(units)
    await approve(
        units, "FR2", note="buyer confirmed the order", policy=FlowPolicy(), actor="alice"
    )
    await seal_now(units.database, units.clock)

    head = await chain_head(units.database)
    sealed = [line async for line in report_lines(units.database, head)]
    action = next(e for e in sealed if e.entity == "operator")
    assert (action.actor, action.action, action.request_id) == ("alice", "review.approve", "FR2")
    assert (action.from_state, action.to_state) == ("MATCH_REVIEW", "MATCHED")
    assert action.details == "buyer confirmed the order"
    moved = [e for e in sealed if e.request_id == "FR2" and e.entity == "application"]
    assert [(e.actor, e.from_state, e.to_state) for e in moved] == [
        ("system", None, "SUBMITTED"),
        ("system", "SUBMITTED", "MATCH_REVIEW"),
        ("system", "MATCH_REVIEW", "MATCHED"),
    ]
    assert (await verify(units.database)).intact


@pytest.mark.postgres
async def test_a_row_committed_after_a_higher_id_is_still_sealed(postgres_url):
    database = Database(postgres_url)
    await database.upgrade()
    units = UnitOfWorkFactory(database, lambda: NOW)
    sealer = Sealer(database, lambda: NOW)
    try:
        async with units() as slow:
            await slow.requests.add(financing_request("FR1"), source_system="test")
            await slow.flush()  # request_events row 1 taken, not committed
            async with units() as quick:
                await quick.requests.add(financing_request("FR2"), source_system="test")
                await quick.commit()  # row 2 visible first
            for _ in range(5):
                assert await sealer.seal() is None  # waits for the slow transaction
            await slow.commit()
        assert await seal_now(database, units.clock) == 2
        assert (await verify(database)).intact
    finally:
        await database.aclose()


@pytest.mark.postgres
async def test_two_sealers_on_postgresql_make_one_chain(postgres_url):
    databases = [Database(postgres_url) for _ in range(2)]
    await databases[0].upgrade()
    units = UnitOfWorkFactory(databases[0], lambda: NOW)
    try:
        written = asyncio.create_task(_many(units, 40))
        sealers = [Sealer(d, lambda: NOW, batch=7) for d in databases]
        while not written.done():
            await asyncio.gather(*(s.seal() for s in sealers))
        await written
        sealed = await asyncio.gather(*(seal_now(d, units.clock) for d in databases))
        verdict = await verify(databases[0])
        assert verdict.intact, verdict.findings
        assert (verdict.entries, verdict.pending) == (40, 0)
        assert sum(sealed) <= 40
    finally:
        for database in databases:
            await database.aclose()


async def test_a_running_hub_seals_by_itself(sqlite_url):
    async with Hub(Settings(database_url=sqlite_url), routes=()) as hub:
        async with hub.units() as uow:
            await uow.requests.add(financing_request("FR1"), source_system="test")
            await uow.commit()
        for _ in range(60):
            if (await chain_head(hub.database)).seq == 1:
                break
            await asyncio.sleep(0.1)
        assert (await chain_head(hub.database)).seq == 1


async def _many(units: UnitOfWorkFactory, count: int) -> None:
    for n in range(count):
        async with units() as uow:
            await uow.requests.add(financing_request(f"FR{n}"), source_system="test")
            await uow.commit()
        await asyncio.sleep(0.005)


async def _reseal_from(units: UnitOfWorkFactory, first: int) -> None:
    """What a forger who knows the scheme does: recompute every hash from `first` on."""
    async with units.database.session() as session, session.begin():
        links = (
            await session.execute(
                text("SELECT seq, source, entry_id, prev_hash FROM audit_chain ORDER BY seq")
            )
        ).all()
        previous = None
        for seq, source, entry_id, prev_hash in links:
            if seq < first:
                continue
            prev = prev_hash if previous is None else previous
            kind = _BY_NAME[source]
            row = (await session.execute(kind.select().where(kind.table.c.id == entry_id))).one()
            previous = sm3(bytes.fromhex(prev) + _canonical(source, row)).hex()
            await session.execute(
                text("UPDATE audit_chain SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": previous, "s": seq},
            )
        await session.execute(text("UPDATE audit_head SET hash = :h"), {"h": previous})


def test_a_time_is_sealed_the_same_from_sqlites_text_as_from_a_datetime():
    for moment in (datetime(2026, 11, 28, 9, 0, tzinfo=UTC), NOW.replace(microsecond=7)):
        stored = f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond:06d}"  # as SQLite holds it
        assert _iso(stored) == _iso(moment) == moment.isoformat()
