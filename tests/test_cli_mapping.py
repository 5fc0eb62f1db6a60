"""`factorhub map`, `render` and `bench map`: a mapping tried in seconds, without a hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from hub.cli import app
from mappings import validate_pain001
from mappings.formats import INBOUND_FORMATS, recognise
from tests.builders import instruction

FIXTURES = Path(__file__).parent / "mappings" / "fixtures"
runner = CliRunner()


def test_map_prints_the_canonical_json_with_amounts_as_decimal_strings():
    result = runner.invoke(app, ["map", str(FIXTURES / "kingdee_iv_salesic.json")])
    assert result.exit_code == 0, result.output
    canonical = json.loads(result.stdout)
    assert canonical["invoice"]["number"] == "26332000000123456789"
    assert isinstance(canonical["invoice"]["total"]["amount"], str)
    assert "format: kingdee-sales-invoice" in result.stderr


def test_map_reads_standard_input_and_an_explicit_format():
    raw = (FIXTURES / "pain002_acsc.xml").read_bytes()
    result = runner.invoke(app, ["map", "--format", "pain002", "-"], input=raw)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["group_status"] == "ACSC"


def test_map_lists_every_problem_on_stderr_and_exits_2():
    raw = b'{"formid": "IV_SALESIC", "data": {"Model": {"FDATE": "2026-02-30"}}}'
    result = runner.invoke(app, ["map", "-f", "kingdee-sales-invoice", "-"], input=raw)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "/data/Model/FDATE: is not a real date" in result.stderr
    assert "/data/SellerOrg: is required but missing" in result.stderr


def test_map_refuses_an_unknown_format_and_an_unrecognised_document():
    unknown = runner.invoke(app, ["map", "-f", "sap-idoc", "-"], input=b"{}")
    assert unknown.exit_code == 2
    assert "no inbound format 'sap-idoc'" in unknown.stderr
    unrecognised = runner.invoke(app, ["map", "-"], input=b"<Foo/>")
    assert unrecognised.exit_code == 2
    assert "XML root <Foo>" in unrecognised.stderr


def test_map_list_names_every_format():
    result = runner.invoke(app, ["map", "--list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in [*INBOUND_FORMATS, "pain001"]:
        assert name in result.stdout


def test_every_fixture_is_recognised_as_its_own_format_only():
    expected = {
        "kingdee_iv_salesic.json": "kingdee-sales-invoice",
        "kingdee_native_salesoc.json": "kingdee-sales-invoice",
        "yonyou_sale_invoice.json": "yonbip-sales-invoice",
        "pain002_acsc.xml": "pain002",
        "pain002_pdng_no_namespace.xml": "pain002",
    }
    for name, format_name in expected.items():
        raw = (FIXTURES / name).read_bytes()
        assert recognise(raw).name == format_name, name
        others = [f for f in INBOUND_FORMATS.values() if f.name != format_name]
        assert not any(f.recognise(raw) for f in others), name


def test_render_writes_an_xsd_valid_pain001_from_canonical_json(tmp_path):
    file = {
        "message_id": "M20261128000001",
        "created_at": datetime(2026, 11, 28, 9, 30, tzinfo=UTC).isoformat(),
        "initiating_party": instruction(1).debtor.model_dump(mode="json"),
        "instructions": [instruction(n).model_dump(mode="json") for n in (1, 2)],
    }
    path = tmp_path / "file.json"
    path.write_text(json.dumps(file))
    result = runner.invoke(app, ["render", "pain001", str(path)])
    assert result.exit_code == 0, result.output
    document = result.stdout_bytes.strip()
    validate_pain001(document)
    assert b"<MsgId>M20261128000001</MsgId>" in document


def test_render_names_each_bad_input_field():
    result = runner.invoke(app, ["render", "pain001", "-"], input=b'{"message_id": ""}')
    assert result.exit_code == 2
    assert "/message_id: String should have at least 1 character" in result.stderr
    assert "/instructions: Field required" in result.stderr


def test_bench_map_reports_the_mapper_beside_the_raw_parse():
    result = runner.invoke(
        app, ["bench", "map", "-f", "kingdee-sales-invoice", "-n", "30"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "json.loads" in result.stdout
    assert "ratio mapping/raw" in result.stdout
    files = runner.invoke(
        app, ["bench", "map", "-f", "pain002", "-n", "20", str(FIXTURES / "pain002_acsc.xml")]
    )
    assert files.exit_code == 0, files.output
    assert "lxml.etree.fromstring" in files.stdout
    framed = runner.invoke(
        app,
        [
            "bench",
            "map",
            "-f",
            "cnaps-hvps111",
            "-n",
            "5",
            str(FIXTURES / "payments" / "cnaps_hvps111_disbursement.txt"),
        ],
    )
    assert framed.exit_code == 0, framed.output
    assert "lxml.etree.fromstring (body)" in framed.stdout
    none = runner.invoke(app, ["bench", "map", "-f", "pain002", "-n", "5"])
    assert none.exit_code == 2
    assert "give sample files" in none.stderr
