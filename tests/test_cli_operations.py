"""`factorhub review` and `factorhub jobs daily` as an operator types them, on a fresh database."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()


def _db(tmp_path):
    return ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"]


def test_an_empty_review_queue_lists_nothing(tmp_path):
    result = runner.invoke(app, ["review", "list", "--json", *_db(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_approving_an_application_that_is_not_waiting_says_so_and_exits_1(tmp_path):
    result = runner.invoke(
        app, ["review", "approve", "FR-NONE", "--note", "looks fine", *_db(tmp_path)]
    )
    assert result.exit_code == 1
    assert "no financing request FR-NONE" in result.output


def test_a_review_decision_needs_a_note():
    result = runner.invoke(app, ["review", "reject", "FR-NONE"])
    assert result.exit_code == 2
    assert "--note" in result.output


def test_the_daily_job_on_a_day_with_no_loans_reviews_nothing(tmp_path):
    result = runner.invoke(
        app, ["jobs", "daily", "--as-of", "2026-03-24", "--json", *_db(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {
        "as_of": "2026-03-24",
        "reviewed": 0,
        "became_overdue": [],
        "timers_fired": 0,
        "registrations_cancelled": [],
        "cancellations_failed": [],
        "cancellations_late": [],
        "warnings": [],
    }


def test_the_daily_job_refuses_a_day_that_is_not_a_date(tmp_path):
    result = runner.invoke(app, ["jobs", "daily", "--as-of", "2026-02-30", *_db(tmp_path)])
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_a_buyer_limit_is_set_and_listed(tmp_path):
    args = ["--buyer", "913101156607431925", "--name", "上海申联汽车零部件有限公司"]
    result = runner.invoke(
        app, ["facilities", "buyer", *args, "--limit", "5000000.00", *_db(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["facilities", "buyers", *_db(tmp_path)], env={"COLUMNS": "200"})
    assert "913101156607431925" in listed.output
    assert "5000000.00 CNY" in listed.output


def test_a_buyer_limit_with_a_bad_uscc_is_refused_with_exit_2(tmp_path):
    result = runner.invoke(
        app,
        [
            *("facilities", "buyer", "--buyer", "91310115660743192X"),
            *("--name", "x", "--limit", "1.00"),
            *_db(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "uscc" in result.output
