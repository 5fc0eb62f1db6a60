"""A paid-out loan's standing, worked by hand (§2.3-2.7, §3.6, §4.1, §6.0 defaults).

The loan of most cases: 361,600.00 paid on 2026-01-05 against a 452,000.00 invoice due
2026-03-20 (74 days); fee 0.5 % of the face = 2,260.00, collected first (fee in arrears);
interest 6 % ACT/360.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from canonical import EarlyWarningLevel, FinancingState, Money
from routes.policy import Policy
from routes.ports import LoanRecord, Repayment
from routes.repayment import next_state, standing, warning_level

START = date(2026, 1, 5)
DUE = date(2026, 3, 20)


def cny(text: str) -> Money:
    return Money(amount=Decimal(text), currency="CNY")


ARREARS = Policy(fee_timing="arrears")


def loan(
    *repayments: Repayment,
    policy: Policy | None = None,
    due: date | None = DUE,
    upfront_interest: str | None = None,
) -> LoanRecord:
    return LoanRecord(
        request_id="FR1",
        seller_uscc="91310000MA1FL8TQ1X",
        buyer_uscc="91320594MA1MXXXX0X",
        principal=cny("361600.00"),
        eligible_base=cny("452000.00"),
        start=START,
        due_date=due,
        terms=policy or ARREARS,
        state=FinancingState.DISBURSED,
        repayments=repayments,
        upfront_interest=None if upfront_interest is None else cny(upfront_interest),
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


def test_a_fee_deducted_from_the_payment_is_not_owed_again():
    # fee upfront (§6.0): 30 days of interest 1,808.00 first, then 98,192.00 of principal
    upfront = Policy(fee_timing="upfront")
    repaid = paid("R1", date(2026, 2, 4), "100000.00")
    now = standing(loan(repaid, policy=upfront), date(2026, 2, 4))
    assert now.fee_unpaid == Decimal("0.00")
    assert now.repaid_principal == Decimal("98192.00")
    assert now.outstanding == Decimal("263408.00")


def test_interest_discounted_up_front_is_not_charged_again_at_maturity():
    # 74 days prepaid: 4,459.73; the principal alone settles the loan at maturity
    discount = Policy(fee_timing="upfront", interest_method="discount")
    record = loan(paid("R1", DUE, "361600.00"), policy=discount, upfront_interest="4459.73")
    now = standing(record, DUE)
    assert (now.state, now.outstanding) == (FinancingState.SETTLED, Decimal("0.00"))


def test_a_discounted_loan_repaid_early_is_settled_by_its_principal_alone():
    # after 30 of 74 days: no interest is due (4,459.73 was prepaid); the 44 unearned days
    # go back to the payer as surplus, so the principal settles and a fen less does not
    discount = Policy(fee_timing="upfront", interest_method="discount")
    on = date(2026, 2, 4)
    record = loan(paid("R1", on, "361600.00"), policy=discount, upfront_interest="4459.73")
    assert standing(record, on).state is FinancingState.SETTLED
    short = loan(paid("R1", on, "361599.99"), policy=discount, upfront_interest="4459.73")
    assert standing(short, on).outstanding == Decimal("0.01")


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
