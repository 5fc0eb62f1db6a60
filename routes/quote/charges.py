"""What is taken from a principal when it is paid out (§2.3, §2.4, §6.0).

The factoring fee is `fee_rate` x the eligible face, rounded half-up to the fen, deducted from
the disbursement when `fee_timing` is `upfront` (the default) or left first in the repayment
waterfall when `arrears`. Under the discount method (`interest_method: discount`) the interest
from the disbursement to maturity is deducted up front too. The quote and the running flow both
size a payout with `charges`, so what `factorhub calc` quotes is what the bank is told to pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from routes.policy import Policy
from routes.quote.arithmetic import ZERO, accrual, days_between, fen_half_up

__all__ = ["Charges", "charges", "financing_maturity"]


@dataclass(frozen=True, slots=True)
class Charges:
    """The split of one principal: what the seller receives and what the factor keeps."""

    principal: Decimal
    fee: Decimal
    """The whole fee, deducted or not."""
    fee_upfront: Decimal
    """The part of the fee deducted from the payout (the fee, or zero in arrears)."""
    upfront_interest: Decimal
    """Interest prepaid to maturity (discount method), else zero."""

    @property
    def fee_in_arrears(self) -> Decimal:
        """The fee the repayment waterfall collects first."""
        return self.fee - self.fee_upfront

    @property
    def net(self) -> Decimal:
        """What the seller receives: the principal less everything deducted up front."""
        return self.principal - self.fee_upfront - self.upfront_interest


def charges(
    principal: Decimal,
    eligible_base: Decimal,
    *,
    start: date,
    maturity: date,
    policy: Policy,
    planned_interest: Decimal | None = None,
) -> Charges:
    """Size the payout of `principal` disbursed on `start` and due on `maturity`.

    `planned_interest` is the interest already computed per receivable (a pool's lines, each
    rounded), when the caller has it; otherwise it is computed on the whole principal."""
    fee = fen_half_up(eligible_base * policy.fee_rate)
    upfront = ZERO
    if policy.interest_method == "discount":
        if planned_interest is None:
            days = days_between(start, maturity)
            planned_interest = fen_half_up(
                accrual(principal, policy.annual_rate, days, policy.day_basis)
            )
        upfront = planned_interest
    return Charges(
        principal=principal,
        fee=fee,
        fee_upfront=fee if policy.fee_timing == "upfront" else ZERO,
        upfront_interest=upfront,
    )


def financing_maturity(due_date: date | None, start: date, policy: Policy) -> date:
    """Financing maturity = receivable due date + receivable_grace_days (§2.6); without a due
    date, the longest tenor the policy allows from the disbursement."""
    if due_date is None:
        return start + timedelta(days=policy.max_days_to_due)
    return due_date + timedelta(days=policy.receivable_grace_days)
