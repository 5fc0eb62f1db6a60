"""The principal: the least of the advance, every headroom and the ask, rounded down."""

from __future__ import annotations

from decimal import Decimal

from routes.quote.sizing import allocate
from tests.routes.test_quote_example import EXAMPLE_INPUT, build, run

SELLER, BUYER = EXAMPLE_INPUT["limits"]


def test_a_small_seller_facility_cuts_the_principal_and_reserves_it_everywhere():
    limits = [{**SELLER, "limit": "500000.00", "used": "150000.00", "reserved": "50000.00"}, BUYER]
    output = run(build(limits=limits, events=[]))  # headroom 500000 - 150000 - 50000 = 300000
    assert output["decision"] == "APPROVED_REDUCED"
    assert output["reasons"] == ["LIMIT_SELLER"]
    assert output["principal"] == "300000.00"
    assert output["net_disbursement"] == "297740.00"  # fee stays on the eligible base: 2260
    assert [limit["reserve"] for limit in output["limits"]] == ["300000.00", "300000.00"]


def test_without_partial_approval_a_cut_rejects_with_the_cap_reason():
    limits = [SELLER, {**BUYER, "used": "4900000.00", "reserved": "50000.00"}]  # headroom 50000
    output = run(build(policy={"partial_approval": False}, limits=limits))
    assert output["decision"] == "REJECTED"
    assert output["reasons"] == ["LIMIT_BUYER"]
    assert output["principal"] == "0.00"
    assert output["state"] == "REJECTED"
    assert output["repayments"] == []


def test_an_anchor_limit_cuts_like_the_others():
    limits = [*EXAMPLE_INPUT["limits"], {"kind": "anchor", "limit": "100000.00"}]
    output = run(build(limits=limits, events=[]))
    assert (output["principal"], output["reasons"]) == ("100000.00", ["LIMIT_ANCHOR"])


def test_a_smaller_amount_asked_is_approved_in_full():
    output = run(
        build(request={"amount": "200000.00", "disbursement_date": "2026-01-05"}, events=[])
    )
    assert output["decision"] == "APPROVED"
    assert output["principal"] == "200000.00"
    assert output["reasons"] == []


def test_a_principal_under_the_minimum_ticket_is_rejected():
    output = run(build(request={"amount": "5000.00", "disbursement_date": "2026-01-05"}))
    assert (output["decision"], output["reasons"]) == ("REJECTED", ["BELOW_MIN_TICKET"])


def test_a_top_up_is_capped_at_the_advance_rate_less_what_is_already_financed():
    # 452000 x 0.8 = 361600 - 300000 already financed = 61600
    output = run(build(receivable={"already_financed": "300000.00"}, events=[]))
    assert output["decision"] == "APPROVED_REDUCED"
    assert output["reasons"] == ["TOPUP_CAP"]
    assert output["principal"] == "61600.00"


def test_a_receivable_financed_to_the_cap_cannot_be_topped_up():
    output = run(build(receivable={"already_financed": "361600.00"}))
    assert output["decision"] == "REJECTED"
    assert output["reasons"] == ["TOPUP_CAP", "BELOW_MIN_TICKET"]


def test_one_debtor_is_held_to_half_of_the_risk_assets():
    # x <= RA - 2 E_d = 200,000,000 - 199,800,000 = 200,000; then 100.1M = 50% x 200.2M
    portfolio = {**EXAMPLE_INPUT["portfolio"], "debtor_exposure": "99900000.00"}
    output = run(build(portfolio=portfolio, events=[]))
    assert (output["principal"], output["reasons"]) == ("200000.00", ["CONCENTRATION_50PCT"])
    assert output["decision"] == "APPROVED_REDUCED"


def test_related_debtors_are_held_to_forty_percent_of_the_risk_assets():
    # x <= (0.40 x 200,000,000 - 79,900,000) / 0.60 = 166,666.666... -> 166,666.66 (down)
    portfolio = {
        **EXAMPLE_INPUT["portfolio"],
        "debtor_related": True,
        "related_exposure": "79900000.00",
    }
    output = run(build(portfolio=portfolio, events=[]))
    assert (output["principal"], output["reasons"]) == ("166666.66", ["RELATED_40PCT"])


def test_risk_assets_stay_within_ten_times_net_assets():
    # x <= 10 x 20,000,000 - 199,900,000 = 100,000
    portfolio = {
        **EXAMPLE_INPUT["portfolio"],
        "net_assets": "20000000.00",
        "risk_assets": "199900000.00",
    }
    output = run(build(portfolio=portfolio, events=[]))
    assert (output["principal"], output["reasons"]) == ("100000.00", ["LEVERAGE_10X"])


def test_a_bank_programme_skips_the_commercial_factor_portfolio_limits():
    portfolio = {
        **EXAMPLE_INPUT["portfolio"],
        "net_assets": "20000000.00",
        "risk_assets": "199900000.00",
    }
    output = run(build(policy={"commercial_factor": False}, portfolio=portfolio, events=[]))
    assert (output["principal"], output["reasons"]) == ("361600.00", [])


def test_principal_rounds_down_to_the_fen_and_fees_round_half_up():
    # 100000.07 x 0.8 = 80000.056 -> 80000.05 (half-up would give .06); fee 500.00035 -> 500.00
    output = run(build(receivable={"face": "100000.07"}, events=[]))
    assert output["principal"] == "80000.05"
    assert output["fee"] == "500.00"
    # 100100.00 x 0.005 = 500.50 exactly; 100001.00 x 0.005 = 500.005 -> 500.01 (half-up)
    assert run(build(receivable={"face": "100001.00"}, events=[]))["fee"] == "500.01"


def test_a_pool_allocates_the_principal_pro_rata_and_each_receivable_keeps_its_maturity():
    second = {
        **EXAMPLE_INPUT["receivables"][0],
        "id": "INV-10",
        "face": "226000.00",
        "due_date": "2026-02-20",
    }
    limits = [{**SELLER, "limit": "300000.00"}, BUYER]
    pool = [EXAMPLE_INPUT["receivables"][0], second]
    output = run(build(receivables=pool, limits=limits, events=[]))
    # advance 678000 x 0.8 = 542400, cut to 300000: 2/3 and 1/3 of it
    first_line, second_line = output["receivables"]
    assert (first_line["principal"], second_line["principal"]) == ("200000.00", "100000.00")
    # 200000 x 0.06 x 74/360 = 2466.67; 100000 x 0.06 x 46/360 = 766.67
    assert (first_line["interest"], second_line["interest"]) == ("2466.67", "766.67")
    assert second_line["maturity"] == "2026-02-20"
    assert output["interest_total"] == "3233.34"
    assert output["fee"] == "3390.00"  # 678000 x 0.005


def test_allocation_adds_up_to_the_fen_and_gives_the_odd_fen_to_the_largest_remainder():
    shares = allocate(Decimal("100.00"), [Decimal(1), Decimal(1), Decimal(1)])
    assert sum(shares) == Decimal("100.00")
    assert sorted(shares) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert allocate(Decimal("0.00"), [Decimal(1)]) == (Decimal("0.00"),)
