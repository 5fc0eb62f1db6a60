"""A paid-out loan's standing, worked by hand (§2.3-2.7, §3.6, §4.1, §6.0 defaults).

The loan of every case: 361,600.00 paid on 2026-01-05 against a 452,000.00 invoice due
2026-03-20 (74 days); fee 0.5 % of the face = 2,260.00, collected first; interest 6 % ACT/360.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from canonical import EarlyWarningLevel, FinancingState, Money
from routes.policy import Policy
from routes.ports import LoanRecord, Repayment
from routes.repayment import loan_terms, next_state, standing, warning_level

START = date(2026, 1, 5)
DUE = date(2026, 3, 20)


def cny(text: str) -> Money:
    return Money(amount=Decimal(text), currency="CNY")


def loan(
    *repayments: Repayment, policy: Policy | None = None, due: date | None = DUE
) -> LoanRecord:
    return LoanRecord(
        request_id="FR1",
        seller_uscc="91310000MA1FL8TQ1X",
        buyer_uscc="91320594MA1MXXXX0X",
        principal=cny("361600.00"),
        eligible_base=cny("452000.00"),
        start=START,
        due_date=due,
        terms=loan_terms(policy or Policy()),
        state=FinancingState.DISBURSED,
        repayments=repayments,
    )


def paid(reference: str, on: date, amount: str) -> Repayment:
    return Repayment(reference, on, cny(amount))


def test_a_partial_repayment_pays_the_fee_then_interest_then_principal():
    # 30 days: 361,600 x 6 % x 30 / 360 = 1,808.00; 100,000 - 2,260 - 1,808 = 95,932.00
    now = standing(loan(paid("R1", date(2026, 2, 4), "100000.00")), date(2026, 2, 4))
    assert now.state is FinancingState.PARTIALLY_REPAID
    assert now.fee_unpaid == Decimal("0.00")
    assert now.repaid_principal == Decimal("95932.00")
    assert now.outstanding == Decimal("265668.00")


def test_the_debtor_paying_the_face_at_maturity_settles_the_loan():
    # 74 days: 361,600 x 6 % x 74 / 360 = 4,459.73; the rest is the seller's surplus
    now = standing(loan(paid("R1", DUE, "452000.00")), DUE)
    assert now.state is FinancingState.SETTLED
    assert now.outstanding == Decimal("0.00")
    assert now.repaid_principal == Decimal("361600.00")


def test_a_repayment_one_fen_short_of_fee_interest_and_principal_leaves_one_fen_owed():
    owed = Decimal("2260.00") + Decimal("4459.73") + Decimal("361600.00")
    now = standing(loan(paid("R1", DUE, f"{owed - Decimal('0.01')}")), DUE)
    assert now.state is FinancingState.PARTIALLY_REPAID
    assert now.outstanding == Decimal("0.01")


def test_a_loan_unpaid_within_the_penalty_grace_window_is_not_overdue_yet():
    now = standing(loan(), DUE + timedelta(days=3))
    assert (now.state, now.days_past_due) == (FinancingState.DISBURSED, 3)


def test_a_loan_unpaid_beyond_the_penalty_grace_window_is_overdue():
    now = standing(loan(), DUE + timedelta(days=4))
    assert (now.state, now.days_past_due) == (FinancingState.OVERDUE, 4)


def test_receivable_grace_days_move_the_maturity():
    record = loan(policy=Policy(receivable_grace_days=10))
    assert record.maturity == DUE + timedelta(days=10)
    assert standing(record, DUE + timedelta(days=13)).state is FinancingState.DISBURSED
    assert standing(record, DUE + timedelta(days=14)).state is FinancingState.OVERDUE


def test_an_invoice_without_a_due_date_matures_after_the_longest_tenor_the_policy_allows():
    assert loan(due=None).maturity == START + timedelta(days=180)


def test_repayments_recorded_out_of_order_land_where_their_value_dates_put_them():
    first, second = paid("R1", date(2026, 2, 4), "100000.00"), paid("R2", DUE, "300000.00")
    in_order = standing(loan(first, second), DUE)
    reversed_ = standing(loan(second, first), DUE)
    assert in_order == reversed_
    assert in_order.state is FinancingState.SETTLED


def test_a_repayment_dated_after_the_review_day_is_not_counted_yet():
    now = standing(loan(paid("R1", DUE, "452000.00")), DUE - timedelta(days=1))
    assert now.state is FinancingState.DISBURSED
    assert now.outstanding == Decimal("361600.00")


def test_an_overdue_loan_stays_overdue_until_it_is_settled():
    partly = FinancingState.PARTIALLY_REPAID
    assert next_state(FinancingState.OVERDUE, partly) is FinancingState.OVERDUE
    assert next_state(FinancingState.OVERDUE, FinancingState.SETTLED) is FinancingState.SETTLED
    assert next_state(FinancingState.DISBURSED, partly) is partly


def test_early_warning_levels_follow_the_days_past_due_thresholds():
    assert [warning_level(d) for d in (0, 1, 29, 30, 90, 91)] == [
        None,
        EarlyWarningLevel.WATCH,
        EarlyWarningLevel.WATCH,
        EarlyWarningLevel.ALERT,
        EarlyWarningLevel.ALERT,
        EarlyWarningLevel.NON_PERFORMING,
    ]


def test_a_loan_carries_fee_and_interest_in_arrears_whatever_the_policy_says():
    terms = loan_terms(Policy(fee_timing="upfront", interest_method="discount"))
    assert (terms.fee_timing, terms.interest_method) == ("arrears", "arrears")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(1, 20_000_000)), min_size=0, max_size=8),
    st.integers(0, 250),
)
def test_principal_repaid_and_outstanding_always_add_up_to_what_was_paid_out(events, review):
    record = loan(
        *(
            paid(f"R{i}", START + timedelta(days=d), f"{Decimal(fen) / 100:.2f}")
            for i, (d, fen) in enumerate(events)
        )
    )
    now = standing(record, START + timedelta(days=review))
    assert now.outstanding + now.repaid_principal == Decimal("361600.00")
    assert now.outstanding >= 0
    assert now.fee_unpaid >= 0
    assert (now.state is FinancingState.SETTLED) == (now.outstanding == 0 and now.fee_unpaid == 0)
