"""`factorhub audit verify|export` as an operator types them: a decision recorded with its
operator, a clean chain verified, a tampered one named (exit 1), a report for a regulator
written with the chain head it can be checked against later."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3

from typer.testing import CliRunner

from canonical import FinancingState
from hub.cli import app
from hub.persistence import Database, UnitOfWorkFactory
from hub.security.gm import sm3
from tests.builders import NOW, financing_request

runner = CliRunner()
F = FinancingState


async def _waiting_for_review(url: str) -> None:
    """FR1 submitted and waiting for an operator; FR2 submitted."""
    database = Database(url)
    await database.upgrade()
    units = UnitOfWorkFactory(database, lambda: NOW)
    try:
        async with units() as uow:
            for request_id in ("FR1", "FR2"):
                await uow.requests.add(financing_request(request_id), source_system="test")
            await uow.requests.transition(
                "FR1", F.MATCH_REVIEW, allowed_from=frozenset({F.SUBMITTED}), reason="NO_ORDER"
            )
            await uow.commit()
    finally:
        await database.aclose()


def _reviewed(tmp_path, monkeypatch) -> list[str]:
    """A database where operator alice approved FR1 (as typed at the shell)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    asyncio.run(_waiting_for_review(url))
    monkeypatch.setenv("FACTORHUB_OPERATOR", "alice")
    approved = runner.invoke(
        app, ["review", "approve", "FR1", "--note", "order seen", "--database-url", url]
    )
    assert approved.exit_code == 0, approved.output
    return ["--database-url", url]


def test_a_clean_chain_verifies_and_says_how_long_it_is(tmp_path, monkeypatch):
    db = _reviewed(tmp_path, monkeypatch)

    result = runner.invoke(app, ["audit", "verify", *db])

    assert result.exit_code == 0, result.output
    assert "audit chain intact: 5 entries, head seq 5" in result.output


def test_a_tampered_row_is_named_and_verify_exits_1(tmp_path, monkeypatch):
    db = _reviewed(tmp_path, monkeypatch)
    assert runner.invoke(app, ["audit", "seal", *db]).exit_code == 0
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        conn.execute("UPDATE audit_actions SET actor = 'mallory'")
        conn.execute("DELETE FROM request_events WHERE id = 2")

    result = runner.invoke(app, ["audit", "verify", *db])

    assert result.exit_code == 1
    assert "edited    audit_actions row 1 does not match its seal" in result.output
    assert "deleted   request_events row 2 is gone" in result.output
    assert "NOT intact: 2 finding(s) in 5 entries" in result.output


def test_an_export_writes_the_entries_and_the_head_a_later_verify_checks(tmp_path, monkeypatch):
    db = _reviewed(tmp_path, monkeypatch)
    out = tmp_path / "report.csv"

    result = runner.invoke(
        app,
        ["audit", "export", "--from", "2026-11-28", "--to", "2099-12-31", "--out", str(out), *db],
    )

    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4", "5"]
    action = next(r for r in rows if r["entity"] == "operator")
    assert (action["actor"], action["action"], action["request_id"]) == (
        "alice",
        "review.approve",
        "FR1",
    )
    assert (action["from_state"], action["to_state"], action["details"]) == (
        "MATCH_REVIEW",
        "MATCHED",
        "order seen",
    )
    assert rows[0]["at"] == "2026-11-28T17:00:00+08:00"  # China time, as the days are
    head = json.loads((tmp_path / "report.head.json").read_text())
    assert (head["seq"], head["hash"], head["entries"]) == (5, rows[-1]["hash"], 5)
    assert head["file_sm3"] == sm3(out.read_bytes()).hex()
    assert f"chain head: seq 5 hash {head['hash']}" in result.output.replace("\n", "")

    verified = runner.invoke(
        app, ["audit", "verify", "--head", str(tmp_path / "report.head.json"), *db]
    )
    assert verified.exit_code == 0, verified.output


def test_an_export_of_other_days_holds_no_entries_but_the_head(tmp_path, monkeypatch):
    db = _reviewed(tmp_path, monkeypatch)
    out = tmp_path / "report.csv"

    result = runner.invoke(
        app,
        ["audit", "export", "--from", "2020-01-01", "--to", "2020-12-31", "--out", str(out), *db],
    )

    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "seq,at,actor,entity,action,request_id,from_state,to_state,details,table,row,hash"
    ]
    assert json.loads((tmp_path / "report.head.json").read_text())["seq"] == 5


def test_a_head_the_chain_no_longer_holds_fails_verify(tmp_path, monkeypatch):
    db = _reviewed(tmp_path, monkeypatch)
    forged = tmp_path / "old.head.json"
    forged.write_text(json.dumps({"seq": 3, "hash": "ab" * 32}))

    result = runner.invoke(app, ["audit", "verify", "--head", str(forged), *db])

    assert result.exit_code == 1
    assert "head" in result.output
    assert f"the exported head seq 3 hash {'ab' * 32} does not match" in result.output.replace(
        "\n", ""
    )


def test_a_note_a_spreadsheet_would_run_as_a_formula_is_exported_quoted(tmp_path, monkeypatch):
    db = _reviewed(tmp_path, monkeypatch)
    asyncio.run(_waiting_for_review_again(db[1]))
    rejected = runner.invoke(app, ["review", "reject", "FR2", "--note", "=HYPERLINK(1)", *db])
    assert rejected.exit_code == 0, rejected.output
    out = tmp_path / "report.csv"

    result = runner.invoke(
        app,
        ["audit", "export", "--from", "2026-01-01", "--to", "2099-12-31", "--out", str(out), *db],
    )

    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows[-1]["action"] == "review.reject"
    assert rows[-1]["details"] == "'=HYPERLINK(1)"


async def _waiting_for_review_again(url: str) -> None:
    database = Database(url)
    try:
        async with UnitOfWorkFactory(database, lambda: NOW)() as uow:
            await uow.requests.transition(
                "FR2", F.MATCH_REVIEW, allowed_from=frozenset({F.SUBMITTED}), reason="NO_ORDER"
            )
            await uow.commit()
    finally:
        await database.aclose()


def test_an_operator_named_on_the_command_line_is_the_actor_on_record(tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    asyncio.run(_waiting_for_review(url))
    monkeypatch.setenv("FACTORHUB_OPERATOR", "alice")  # the option wins over the variable
    typed = ["review", "reject", "FR1", "--note", "no order", "--operator", "bob"]
    rejected = runner.invoke(app, [*typed, "--database-url", url])
    assert rejected.exit_code == 0, rejected.output
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        actors = conn.execute("SELECT actor, action FROM audit_actions").fetchall()
    assert actors == [("bob", "review.reject")]
