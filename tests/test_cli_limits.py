"""`factorhub facilities anchor|anchors` and `factorhub portfolio set|show|debtor` as an
operator types them, on a fresh database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli import app

runner = CliRunner()
ANCHOR = "913101156607431925"
RELATED = "91320500MA1MXQ4Y23"


def _db(tmp_path):
    return ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"]


def _ok(tmp_path, *args: str) -> str:
    result = runner.invoke(app, [*args, *_db(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_an_anchor_programme_is_set_with_the_default_seller_share_and_listed(tmp_path):
    _ok(
        tmp_path,
        "facilities",
        "anchor",
        "--anchor",
        ANCHOR,
        "--name",
        "上汽",
        "--limit",
        "8000000.00",
    )
    (listed,) = json.loads(_ok(tmp_path, "facilities", "anchors", "--json"))
    assert listed == {
        "anchor": ANCHOR,
        "name": "上汽",
        "limit": "8000000.00",
        "used": "0.00",
        "reserved": "0.00",
        "seller_share": "0.25",
        "sellers": {},
    }
    table = _ok(tmp_path, "facilities", "anchors")
    assert "8000000.00 CNY" in table
    assert "25 %" in table


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--anchor", "91310115660743192X", "--limit", "1.00"], "--anchor"),
        (["--anchor", ANCHOR, "--limit", "lots"], "--limit"),
        (["--anchor", ANCHOR, "--limit", "1.001"], "--limit"),
        (["--anchor", ANCHOR, "--limit", "-5.00"], "--limit"),
        (["--anchor", ANCHOR, "--limit", "1.00", "--seller-share", "1.5"], "--seller-share"),
        (["--anchor", ANCHOR, "--limit", "1.00", "--seller-share", "abc"], "--seller-share"),
    ],
)
def test_a_bad_anchor_programme_is_refused_with_exit_2_naming_the_option(tmp_path, args, named):
    result = runner.invoke(app, ["facilities", "anchor", "--name", "x", *args, *_db(tmp_path)])
    assert result.exit_code == 2
    assert named in result.output


def test_the_portfolio_is_set_its_debtors_marked_and_its_caps_shown(tmp_path):
    assert "no portfolio set" in _ok(tmp_path, "portfolio", "show")
    _ok(
        tmp_path,
        "portfolio",
        "set",
        "--net-assets",
        "1000000.00",
        "--other-risk-assets",
        "4000000.00",
    )
    _ok(tmp_path, "portfolio", "debtor", RELATED, "--related", "--other-exposure", "1000000.00")
    _ok(tmp_path, "portfolio", "set", "--net-assets", "1200000.00")  # other risk assets kept
    shown = json.loads(_ok(tmp_path, "portfolio", "show", "--json"))
    # RA 4,000,000; E_rel 1,000,000: related (1,600,000 - 1,000,000) / 0.6 = 1,000,000;
    # 50 %: 4,000,000 - 2 x 1,000,000 = 2,000,000; leverage 12,000,000 - 4,000,000
    assert shown == {
        "net_assets": "1200000.00",
        "other_risk_assets": "4000000.00",
        "used": "0.00",
        "reserved": "0.00",
        "risk_assets": "4000000.00",
        "leverage_headroom": "8000000.00",
        "related_exposure": "1000000.00",
        "debtors": [
            {
                "debtor": RELATED,
                "related": True,
                "other": "1000000.00",
                "used": "0.00",
                "reserved": "0.00",
                "exposure": "1000000.00",
                "next_at_most": "1000000.00",
                "bound_by": "RELATED_40PCT",
            }
        ],
    }
    _ok(tmp_path, "portfolio", "debtor", RELATED, "--not-related")
    (debtor,) = json.loads(_ok(tmp_path, "portfolio", "show", "--json"))["debtors"]
    assert (debtor["related"], debtor["bound_by"]) == (False, "CONCENTRATION_50PCT")
    assert "CONCENTRATION_50PCT" in _ok(tmp_path, "portfolio", "show")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["set", "--net-assets", "0.00"], "--net-assets"),
        (["set", "--net-assets", "x"], "--net-assets"),
        (["set", "--net-assets", "1.00", "--other-risk-assets", "-1"], "--other-risk-assets"),
        (["debtor", "91310115660743192X", "--related"], "DEBTOR_USCC"),
        (["debtor", RELATED], "--related"),
        (["debtor", RELATED, "--other-exposure", "1.234"], "--other-exposure"),
    ],
)
def test_bad_portfolio_input_is_refused_with_exit_2_naming_the_option(tmp_path, args, named):
    result = runner.invoke(app, ["portfolio", *args, *_db(tmp_path)])
    assert result.exit_code == 2
    assert named in result.output


def test_a_debtor_before_the_portfolio_or_beyond_its_other_risk_assets_is_refused(tmp_path):
    result = runner.invoke(app, ["portfolio", "debtor", RELATED, "--related", *_db(tmp_path)])
    assert result.exit_code == 2
    assert "portfolio set" in result.output
    _ok(tmp_path, "portfolio", "set", "--net-assets", "1.00", "--other-risk-assets", "100.00")
    result = runner.invoke(
        app, ["portfolio", "debtor", RELATED, "--other-exposure", "100.01", *_db(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--other-exposure" in result.output
