"""`execute_many`: the SQLite shortcut stores exactly what SQLAlchemy would, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from hub.persistence import Database
from hub.persistence.sql import execute_many
from hub.persistence.tables import InboxRow, table_of

INBOX = table_of(InboxRow)
CHINA = timezone(timedelta(hours=8))


@pytest.fixture
async def database(database_url):
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.aclose()


async def test_rows_read_back_as_written_and_in_sqlalchemys_own_storage_format(database):
    moments = [
        datetime(2026, 11, 28, 9, 0, 0, tzinfo=CHINA),
        datetime(2026, 11, 28, 1, 0, 1, 5, UTC),
    ]
    async with database.sessions() as session, session.begin():
        written = await execute_many(
            session,
            insert(INBOX),
            [
                {"consumer": "c", "message_id": f"m{i}", "processed_at": m}
                for i, m in enumerate(moments)
            ],
        )
        await session.execute(
            insert(INBOX), {"consumer": "c", "message_id": "orm", "processed_at": moments[0]}
        )
    assert written == (2 if database.is_sqlite else -1)  # asyncpg does not count executemany
    async with database.sessions() as session:
        rows = (await session.execute(select(InboxRow).order_by(InboxRow.message_id))).scalars()
        read = {r.message_id: r.processed_at for r in rows}
        assert read == {"m0": moments[0], "m1": moments[1], "orm": moments[0]}
        if database.is_sqlite:
            stored = dict(
                (await session.execute(text("SELECT message_id, processed_at FROM inbox"))).all()
            )
            assert stored["m0"] == stored["orm"] == "2026-11-28 01:00:00.000000"


async def test_a_duplicate_raises_sqlalchemys_integrity_error_and_writes_nothing(database):
    row = {"consumer": "c", "message_id": "m", "processed_at": datetime.now(UTC)}
    with pytest.raises(IntegrityError):
        async with database.sessions() as session, session.begin():
            await execute_many(session, insert(INBOX), [row, row])
    async with database.sessions() as session:
        assert (await session.execute(select(InboxRow))).first() is None


async def test_no_rows_is_no_statement(database):
    async with database.sessions() as session, session.begin():
        assert await execute_many(session, insert(INBOX), []) == 0
