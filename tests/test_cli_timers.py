"""`factorhub timers list`, and `factorhub jobs daily` firing what is due, on a fresh database."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

from typer.testing import CliRunner

from hub.cli import app
from hub.persistence import Database, UnitOfWorkFactory
from routes.later import CHINA
from tests.builders import NOW, submitted_envelope

runner = CliRunner()


def _url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


def _schedule(url: str, *timers: tuple[str, datetime]) -> None:
    async def go() -> None:
        database = Database(url)
        try:
            await database.upgrade()
            async with UnitOfWorkFactory(database, lambda: NOW)() as uow:
                await uow.timers.add_many(
                    [("financing.submitted", submitted_envelope(r), due) for r, due in timers]
                )
                await uow.commit()
        finally:
            await database.aclose()

    asyncio.run(go())


def test_no_pending_timers_are_listed_on_a_fresh_database(tmp_path):
    result = runner.invoke(app, ["timers", "list", "--database-url", _url(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "no pending timers" in result.output


def test_pending_timers_are_listed_with_due_time_topic_and_request(tmp_path):
    tomorrow = datetime(2026, 11, 29, 9, 0, tzinfo=CHINA)
    _schedule(_url(tmp_path), ("FR2", tomorrow + timedelta(days=1)), ("FR1", tomorrow))

    result = runner.invoke(app, ["timers", "list", "--json", "--database-url", _url(tmp_path)])

    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [(t["due_at"], t["topic"], t["request_id"]) for t in listed] == [
        ("2026-11-29T09:00:00+08:00", "financing.submitted", "FR1"),
        ("2026-11-30T09:00:00+08:00", "financing.submitted", "FR2"),
    ]


def test_the_daily_job_fires_the_timers_due_that_day_and_leaves_the_later_ones(tmp_path):
    tomorrow = datetime(2026, 11, 29, 9, 0, tzinfo=CHINA)
    _schedule(_url(tmp_path), ("FR1", tomorrow), ("FR2", tomorrow + timedelta(days=1)))
    db = ["--database-url", _url(tmp_path)]

    daily = runner.invoke(app, ["jobs", "daily", "--as-of", "2026-11-29", "--json", *db])
    left = runner.invoke(app, ["timers", "list", "--json", *db])

    assert daily.exit_code == 0, daily.output
    assert json.loads(daily.stdout)["timers_fired"] == 1
    assert [t["request_id"] for t in json.loads(left.stdout)] == ["FR2"]
