"""Interest, fees, penalties, grace periods and the waterfall, with numbers worked by hand.

Every case finances INV-9: principal 361600.00 from 2026-01-05, due 2026-03-20 (74 days).
"""

from __future__ import annotations

from typing import Any

from tests.routes.test_quote_example import build, run


def pay(date: str, amount: str, payer: str = "debtor") -> dict[str, Any]:
    return {"type": "repayment", "date": date, "amount": amount, "payer": payer}


def line(**fields: str) -> dict[str, str]:
    zero = {"fees": "0.00", "penalty": "0.00", "interest": "0.00", "principal": "0.00"}
    return {**zero, "surplus": "0.00", **fields}


def test_act_365_divides_the_annual_rate_by_365():
    # 361600 x 0.06 x 74 / 365 = 4398.6410 -> 4398.64
    output = run(build(policy={"day_count": "ACT/365"}, events=[]))
    assert output["interest_total"] == "4398.64"


def test_discounted_interest_is_deducted_up_front_and_principal_is_repaid_at_maturity():
    # D = 4459.73; net = 361600 - 4459.73 - 2260 = 354880.27
    output = run(build(policy={"interest_method": "discount"}))
    assert output["upfront_interest"] == "4459.73"
    assert output["net_disbursement"] == "354880.27"
    assert output["repayments"] == [
        {
            "date": "2026-03-20",
            "amount": "452000.00",
            **line(principal="361600.00", surplus="90400.00"),
            "outstanding_after": "0.00",
        }
    ]


def test_early_repayment_under_discount_refunds_the_unearned_interest():
    # repaid after 30 of 74 days: refund 361600 x 0.06 x 44 / 360 = 2651.73 (= 4459.73 - 1808.00)
    output = run(
        build(
            policy={"interest_method": "discount"},
            events=[pay("2026-02-04", "361600.00", "seller")],
        )
    )
    (repayment,) = output["repayments"]
    assert repayment["interest"] == "-2651.73"
    assert repayment["principal"] == "361600.00"
    assert repayment["surplus"] == "2651.73"
    assert output["state"] == "SETTLED"


def test_a_programme_may_keep_the_unearned_discount():
    policy = {"interest_method": "discount", "refund_unearned_interest": False}
    (repayment,) = run(build(policy=policy, events=[pay("2026-02-04", "361600.00")]))["repayments"]
    assert (repayment["interest"], repayment["surplus"]) == ("0.00", "0.00")


def test_partial_repayments_accrue_interest_by_segment():
    # 02-04: 30 days on 361600 = 1808.00 interest, 98192.00 principal -> 263408.00 left
    # 03-20: 44 days on 263408 = 1931.6587; cumulative 3739.6587 -> 3739.66, so 1931.66 due
    events = [pay("2026-02-04", "100000.00", "seller"), pay("2026-03-20", "265339.66")]
    output = run(build(events=events))
    first, second = output["repayments"]
    assert (first["interest"], first["principal"], first["outstanding_after"]) == (
        "1808.00",
        "98192.00",
        "263408.00",
    )
    assert (second["interest"], second["principal"], second["surplus"]) == (
        "1931.66",
        "263408.00",
        "0.00",
    )
    assert output["state"] == "SETTLED"


def test_a_partial_repayment_leaves_the_application_partially_repaid():
    output = run(build(events=[pay("2026-02-04", "100000.00")]))
    assert output["state"] == "PARTIALLY_REPAID"


def test_without_events_the_application_is_disbursed():
    assert run(build(events=[]))["state"] == "DISBURSED"


def test_overdue_within_the_penalty_grace_pays_contract_interest_only():
    # 3 days late, grace 3: 77 days at 6 %: 361600 x 0.06 x 77/360 = 4640.53
    output = run(build(events=[pay("2026-03-23", "366240.53")]))
    (repayment,) = output["repayments"]
    assert (repayment["penalty"], repayment["interest"], repayment["surplus"]) == (
        "0.00",
        "4640.53",
        "0.00",
    )
    assert output["state"] == "SETTLED"


def test_past_the_penalty_grace_the_penalty_rate_replaces_interest_for_every_overdue_day():
    # 4 days late > grace 3: interest to maturity 4459.73; penalty 361600 x 0.09 x 4/360 = 361.60
    output = run(build(events=[pay("2026-03-24", "452000.00")]))
    (repayment,) = output["repayments"]
    assert repayment == {
        "date": "2026-03-24",
        "amount": "452000.00",
        **line(penalty="361.60", interest="4459.73", principal="361600.00", surplus="85578.67"),
        "outstanding_after": "0.00",
    }
    assert output["state"] == "SETTLED"


def test_a_partial_payment_after_the_grace_leaves_the_application_overdue():
    # 100000 - 361.60 - 4459.73 = 95178.67 principal; 361600 - 95178.67 = 266421.33 left
    output = run(build(events=[pay("2026-03-24", "100000.00")]))
    (repayment,) = output["repayments"]
    assert (repayment["principal"], repayment["outstanding_after"]) == ("95178.67", "266421.33")
    assert output["state"] == "OVERDUE"


def test_the_waterfall_pays_penalty_before_interest_before_principal():
    output = run(build(events=[pay("2026-03-24", "400.00")]))
    (repayment,) = output["repayments"]
    assert (repayment["penalty"], repayment["interest"], repayment["principal"]) == (
        "361.60",
        "38.40",
        "0.00",
    )


def test_the_receivable_grace_moves_maturity_and_runs_at_the_contract_rate():
    # maturity 2026-03-20 + 10 = 03-30, 84 days: 361600 x 0.06 x 84/360 = 5062.40
    output = run(
        build(policy={"receivable_grace_days": 10}, events=[pay("2026-03-30", "366662.40")])
    )
    assert output["receivables"][0]["maturity"] == "2026-03-30"
    assert output["interest_total"] == "5062.40"
    assert output["repayments"][0]["penalty"] == "0.00"
    assert output["state"] == "SETTLED"


def test_compound_penalty_charges_the_penalty_rate_on_unpaid_interest():
    # 10 days late: 361600 x 0.09 x 10/360 = 904.00, plus 4459.73 x 0.09 x 10/360 = 11.1493
    # -> 915.1493 -> 915.15
    policy = {"compound_penalty": True}
    (repayment,) = run(build(policy=policy, events=[pay("2026-03-30", "452000.00")]))["repayments"]
    assert (repayment["penalty"], repayment["interest"]) == ("915.15", "4459.73")


def test_a_fee_collected_in_arrears_is_first_in_the_waterfall():
    output = run(build(policy={"fee_timing": "arrears"}))
    assert output["net_disbursement"] == "361600.00"
    (repayment,) = output["repayments"]
    # 452000 - 2260 - 4459.73 - 361600 = 83680.27
    assert (repayment["fees"], repayment["surplus"]) == ("2260.00", "83680.27")


def test_events_are_applied_in_date_order_and_money_after_settlement_is_surplus():
    events = [pay("2026-03-21", "100.00"), pay("2026-03-20", "452000.00")]
    first, second = run(build(events=events))["repayments"]
    assert first["date"] == "2026-03-20"
    assert (second["surplus"], second["principal"]) == ("100.00", "0.00")
