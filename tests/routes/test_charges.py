"""Sizing a payout (§2.3, §2.4, §6.0), worked by hand on the issue's quote example: 452,000.00
face, 80 % advance = 361,600.00, paid 2026-01-05, due 2026-03-20 (74 days)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from routes.policy import Policy
from routes.quote.charges import charges, financing_maturity

START = date(2026, 1, 5)
DUE = date(2026, 3, 20)
PRINCIPAL = Decimal("361600.00")
FACE = Decimal("452000.00")


def test_the_default_policy_deducts_half_a_percent_of_the_face_and_nothing_else():
    split = charges(PRINCIPAL, FACE, start=START, maturity=DUE, policy=Policy())
    assert split.fee == split.fee_upfront == Decimal("2260.00")
    assert split.upfront_interest == Decimal("0.00")
    assert split.net == Decimal("359340.00")  # the quote's net_disbursement


def test_a_fee_in_arrears_is_not_deducted_but_left_for_the_waterfall():
    split = charges(PRINCIPAL, FACE, start=START, maturity=DUE, policy=Policy(fee_timing="arrears"))
    assert split.net == PRINCIPAL
    assert split.fee_in_arrears == Decimal("2260.00")


def test_the_discount_method_deducts_the_interest_to_maturity_too():
    # 361,600 x 6 % x 74 / 360 = 4,459.7333 -> 4,459.73
    policy = Policy(interest_method="discount")
    split = charges(PRINCIPAL, FACE, start=START, maturity=DUE, policy=policy)
    assert split.upfront_interest == Decimal("4459.73")
    assert split.net == Decimal("354880.27")


def test_act_365_and_a_smaller_fee_change_both_deductions():
    # fee 452,000 x 0.3 % = 1,356.00; interest 361,600 x 4.5 % x 74 / 365 = 3,298.98 (3,298.9808)
    policy = Policy(
        interest_method="discount",
        day_count="ACT/365",
        annual_rate=Decimal("0.045"),
        fee_rate=Decimal("0.003"),
    )
    split = charges(PRINCIPAL, FACE, start=START, maturity=DUE, policy=policy)
    assert (split.fee, split.upfront_interest) == (Decimal("1356.00"), Decimal("3298.98"))
    assert split.net == Decimal("356945.02")


def test_the_fee_is_charged_on_the_eligible_face_not_on_the_principal():
    # a delivered-only face of 400,000.00: fee 2,000.00 whatever the principal
    split = charges(
        Decimal("100000.00"), Decimal("400000.00"), start=START, maturity=DUE, policy=Policy()
    )
    assert split.fee == Decimal("2000.00")


def test_maturity_is_the_due_date_plus_the_receivable_grace_or_the_longest_tenor():
    assert financing_maturity(DUE, START, Policy(receivable_grace_days=10)) == date(2026, 3, 30)
    assert financing_maturity(None, START, Policy(max_days_to_due=180)) == date(2026, 7, 4)
