"""Risk policy files: the §6.0 defaults, the shipped examples, and every bad key named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from routes.policy import POLICY_DIR, Policy, PolicyError, load_policy


def test_the_default_policy_file_is_exactly_the_section_6_0_defaults():
    policy = load_policy(POLICY_DIR / "default.yaml")
    assert policy == Policy()
    assert policy.advance_rate == Decimal("0.80")
    assert policy.penalty_rate == Decimal("0.09")
    assert (policy.penalty_grace_days, policy.receivable_grace_days) == (3, 0)
    assert policy.matching.partial_match_mode == "delivered_only"
    assert policy.day_basis == 360


def test_the_discount_programme_overrides_only_what_it_names():
    policy = load_policy(POLICY_DIR / "bank_discount.yaml")
    assert (policy.interest_method, policy.day_basis) == ("discount", 365)
    assert policy.review_above == Decimal("5000000.00")
    assert policy.recourse is False
    assert policy.max_age_days == 180  # left out: the default


def test_an_empty_policy_file_means_every_default(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_policy(path) == Policy()


def test_every_bad_key_is_named_with_its_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "advance_rate: 0.8\n"  # a YAML float: refused
        "annual_rate: '6'\n"  # a fraction above 1
        "penalty_grace_days: -1\n"
        "surprise: true\n"
        "matching:\n"
        "  amount_tolerance_abs: '100.001'\n"
        "  partial_match_mode: sometimes\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    paths = [problem.path for problem in caught.value.problems]
    assert sorted(paths) == sorted(
        [
            "/advance_rate",
            "/annual_rate",
            "/penalty_grace_days",
            "/surprise",
            "/matching/amount_tolerance_abs",
            "/matching/partial_match_mode",
        ]
    )
    assert "decimal string" in str(caught.value)


def test_keys_that_contradict_each_other_are_each_named(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text("min_days_to_due: 200\npenalty_rate: '0.01'\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert [p.path for p in caught.value.problems] == ["/min_days_to_due", "/penalty_rate"]


@pytest.mark.parametrize(("text", "reason"), [("- a list\n", "mapping"), ("a: [\n", "not YAML")])
def test_a_file_that_is_not_a_mapping_is_refused(tmp_path, text, reason):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=reason):
        load_policy(path)


def test_a_missing_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")


def test_the_policy_is_frozen():
    with pytest.raises(ValueError, match="frozen"):
        Policy().advance_rate = Decimal("0.9")  # type: ignore[misc]


def test_a_hub_runs_the_flow_under_the_policy_file_it_is_given(tmp_path):
    from dataclasses import replace

    from canonical import ConfigurationError
    from hub.app import Hub
    from hub.config import Settings

    policy = tmp_path / "programme.yaml"
    policy.write_text(
        'advance_rate: "0.70"\nmin_ticket: "5000.00"\nmatching: {quantity_tolerance_pct: "0.01"}\n'
    )
    base = Settings.from_env({"FACTORHUB_POLICY_FILE": str(policy)})
    settings = replace(base, database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    flow = Hub(settings).services.policy
    assert (flow.advance_rate, flow.min_ticket, flow.quantity_tolerance_pct) == (
        Decimal("0.70"),
        Decimal("5000.00"),
        Decimal("0.01"),
    )
    policy.write_text("advance_rate: 0.7\n")  # a float: refused, with the key named
    with pytest.raises(ConfigurationError, match="advance_rate"):
        Hub(replace(settings, policy_file=str(policy)))
