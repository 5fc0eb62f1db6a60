"""`factorhub calc` and `factorhub policy check`, on an app built here from the commands."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from hub.cli_calc import calc_command, policy_check_command, quote_json_schemas
from routes.policy import POLICY_DIR
from tests.routes.test_quote_example import EXAMPLE_INPUT, EXAMPLE_OUTPUT

app = typer.Typer()
app.command("calc")(calc_command)
policy_app = typer.Typer()
policy_app.command("check")(policy_check_command)
app.add_typer(policy_app, name="policy")
runner = CliRunner()


def test_calc_prints_the_output_document_for_a_file(tmp_path):
    path = tmp_path / "quote.json"
    path.write_text(json.dumps(EXAMPLE_INPUT), encoding="utf-8")
    result = runner.invoke(app, ["calc", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == EXAMPLE_OUTPUT


def test_calc_reads_standard_input():
    result = runner.invoke(app, ["calc", "-"], input=json.dumps(EXAMPLE_INPUT))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["principal"] == "361600.00"


def test_calc_lists_every_problem_with_its_json_path_and_exits_2():
    document = json.loads(json.dumps(EXAMPLE_INPUT))
    document["as_of"] = "2026-13-01"
    document["policy"]["advance_rate"] = 0.8
    document["policy"]["bogus"] = 1
    document["receivables"][0]["face"] = "1.001"
    document["events"][0]["type"] = "refund"
    result = runner.invoke(app, ["calc", "-"], input=json.dumps(document))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "/as_of",
        "/policy/advance_rate",
        "/policy/bogus",
        "/receivables/0/face",
        "/events/0/type",
    ]


def test_calc_names_cross_field_problems_by_path():
    document = json.loads(json.dumps(EXAMPLE_INPUT))
    document["receivables"].append(document["receivables"][0])
    document["events"][0]["date"] = "2026-01-01"
    result = runner.invoke(app, ["calc", "-"], input=json.dumps(document))
    assert result.exit_code == 2
    assert "/receivables/1/id: duplicate id 'INV-9'" in result.stderr
    assert "/events/0/date: before the disbursement date 2026-01-05" in result.stderr


def test_calc_refuses_text_that_is_not_json_and_a_missing_file(tmp_path):
    assert runner.invoke(app, ["calc", "-"], input="{").exit_code == 2
    missing = runner.invoke(app, ["calc", str(tmp_path / "none.json")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


def test_policy_check_says_ok_for_the_shipped_policies():
    for path in sorted(POLICY_DIR.glob("*.yaml")):
        result = runner.invoke(app, ["policy", "check", str(path)])
        assert (result.exit_code, result.stdout) == (0, "ok\n"), path


def test_policy_check_lists_every_bad_key_and_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("fee_rate: 0.005\nday_count: ACT/364\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2
    lines = sorted(result.stderr.splitlines())
    assert lines[0].startswith("/day_count: ")
    assert lines[1].startswith("/fee_rate: must be a decimal string")


def test_the_json_schemas_describe_both_documents():
    schemas = quote_json_schemas()
    assert set(schemas) == {"quote-request", "quote-result"}
    assert "receivables" in schemas["quote-request"]["required"]
    assert schemas["quote-result"]["properties"]["principal"]["type"] == "string"


def test_calc_refuses_a_quote_without_receivables():
    document = {**EXAMPLE_INPUT, "receivables": []}
    result = runner.invoke(app, ["calc", "-"], input=json.dumps(document))
    assert result.exit_code == 2
    assert result.stderr == "/receivables: at least one receivable is needed\n"
