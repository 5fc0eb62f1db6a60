"""After the money went out: repayments through the waterfall, and the daily overdue review.

A loan's standing is recomputed from its terms and every repayment recorded so far, with the
quote engine's ledger (§2.3-2.7), so a late or out-of-order repayment lands where its value
date puts it, and one reported twice (same reference) counts once. The application then moves
as §4.1 says: DISBURSED / PARTIALLY_REPAID -> PARTIALLY_REPAID or SETTLED on a repayment, ->
OVERDUE once unpaid beyond the penalty grace window, and OVERDUE leaves only for SETTLED.

A loan keeps the terms it was paid out under: a fee deducted from the payment (§6.0 upfront)
is not owed again, a fee in arrears is the first thing the waterfall takes, and interest
discounted up front is refunded for days an early repayment saves (§2.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from canonical import (
    DomainError,
    EarlyWarning,
    EarlyWarningLevel,
    FinancingState,
    Message,
    Money,
    RepaymentReceived,
)
from routes.ports import LoanRecord, Repayment, UnitOfWork
from routes.quote.arithmetic import ZERO, fen_half_up
from routes.quote.ledger import Ledger, Tranche
from routes.quote.models import QuoteState, RepaymentEvent
from routes.registry import Services

__all__ = [
    "OUTSTANDING",
    "Standing",
    "apply_repayment",
    "review_loan",
    "standing",
    "warning_level",
]

OUTSTANDING = frozenset(s for s in FinancingState if s.outstanding)
"""Where a loan can be while money is still owed."""

_STATES = {
    QuoteState.DISBURSED: FinancingState.DISBURSED,
    QuoteState.PARTIALLY_REPAID: FinancingState.PARTIALLY_REPAID,
    QuoteState.OVERDUE: FinancingState.OVERDUE,
    QuoteState.SETTLED: FinancingState.SETTLED,
}
_RANK: dict[EarlyWarningLevel | None, int] = {
    None: 0,
    **{level: i + 1 for i, level in enumerate(EarlyWarningLevel)},
}


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a loan stands on a day, from its terms and the repayments dated up to that day."""

    state: FinancingState
    outstanding: Decimal
    """Principal not yet repaid."""
    repaid_principal: Decimal
    fee_unpaid: Decimal
    days_past_due: int


def standing(loan: LoanRecord, on: date) -> Standing:
    """Replay the loan's repayments dated up to `on` through the waterfall."""
    terms = loan.terms
    principal = loan.principal.amount
    fee = fen_half_up(loan.eligible_base.amount * terms.fee_rate)
    prepaid = loan.upfront_interest.amount if loan.upfront_interest is not None else ZERO
    ledger = Ledger(
        terms,
        [Tranche(principal, loan.start, loan.maturity, upfront=prepaid)],
        fee_unpaid=fee if terms.fee_timing == "arrears" else ZERO,
    )
    ledger.apply_all(
        [
            RepaymentEvent(
                type="repayment",
                date=r.value_date,
                amount=r.amount.amount,
                payer="seller" if r.payer == "seller" else "debtor",
            )
            for r in loan.repayments
            if r.value_date <= on
        ]
    )
    state = _STATES[ledger.state]
    if state is not FinancingState.SETTLED and ledger.overdue_on(on):
        state = FinancingState.OVERDUE
    outstanding = ledger.outstanding
    return Standing(
        state=state,
        outstanding=outstanding,
        repaid_principal=principal - outstanding,
        fee_unpaid=ledger.fee_unpaid,
        days_past_due=ledger.days_past_due(on),
    )


def next_state(current: FinancingState, computed: FinancingState) -> FinancingState:
    """§4.1: an OVERDUE application leaves OVERDUE only when it is settled."""
    if current is FinancingState.OVERDUE and computed is not FinancingState.SETTLED:
        return FinancingState.OVERDUE
    return computed


def warning_level(days_past_due: int) -> EarlyWarningLevel | None:
    """§3.6: DPD >= 1 watch, >= 30 alert, > 90 non-performing."""
    if days_past_due > 90:
        return EarlyWarningLevel.NON_PERFORMING
    if days_past_due >= 30:
        return EarlyWarningLevel.ALERT
    if days_past_due >= 1:
        return EarlyWarningLevel.WATCH
    return None


async def apply_repayment(
    msg: RepaymentReceived, _: None, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    """Record the repayment once, re-run the waterfall, move the application, and give the
    repaid principal back to a revolving facility (§3.7)."""
    loan = await uow.loans.get(msg.request_id)
    if loan is None:
        raise DomainError(
            "NO_OPEN_FINANCING", f"{msg.request_id} has no paid-out financing to repay"
        )
    if msg.amount.currency != loan.principal.currency:
        raise DomainError(
            "CURRENCY_MISMATCH",
            f"repayment in {msg.amount.currency}, financing in {loan.principal.currency}",
        )
    repayment = Repayment(msg.reference, msg.value_date, msg.amount, msg.payer)
    if not await uow.loans.add_repayment(msg.request_id, repayment):
        return []  # the same payment, reported again
    loan = loan.with_repayment(repayment)
    now = standing(loan, max(services.clock().date(), msg.value_date))
    target = next_state(loan.state, now.state)
    await uow.requests.transition(
        msg.request_id,
        target,
        allowed_from=OUTSTANDING,
        note=(
            f"repayment {msg.reference} of {msg.amount.amount:f} on {msg.value_date}: "
            f"principal outstanding {now.outstanding:f}"
        ),
    )
    released = await _give_back(loan, now, uow)
    await uow.loans.update(
        msg.request_id,
        state=target,
        outstanding=_money(now.outstanding, loan),
        released=released,
        days_past_due=now.days_past_due,
        warned=loan.warned,
    )
    return []


async def review_loan(loan: LoanRecord, as_of: date, uow: UnitOfWork) -> list[Message]:
    """The daily job's step for one outstanding loan: move it to OVERDUE once unpaid beyond
    the penalty grace window, flag it non-performing past 90 days, and announce each new
    early-warning level once."""
    now = standing(loan, as_of)
    target = next_state(loan.state, now.state)
    dpd = now.days_past_due
    if target is not loan.state:
        await uow.requests.transition(
            loan.request_id,
            target,
            allowed_from=OUTSTANDING,
            note=(
                f"maturity {loan.maturity} passed, {dpd} days past due on {as_of} "
                f"(penalty grace {loan.terms.penalty_grace_days} days)"
            ),
        )
    level = warning_level(dpd) if target.outstanding else None
    messages: list[Message] = []
    warned = loan.warned
    if level is not None and _RANK[level] > _RANK[warned]:
        if level is EarlyWarningLevel.NON_PERFORMING:
            await uow.requests.transition(
                loan.request_id,
                FinancingState.OVERDUE,
                allowed_from=frozenset({FinancingState.OVERDUE}),
                reason="NON_PERFORMING",
                note=f"non-performing (不良): {dpd} days past due on {as_of}",
            )
        warned = level
        messages.append(
            EarlyWarning(
                request_id=loan.request_id,
                level=level,
                seller_uscc=loan.seller_uscc,
                buyer_uscc=loan.buyer_uscc,
                days_past_due=dpd,
                outstanding=_money(now.outstanding, loan),
                maturity=loan.maturity,
                as_of=as_of,
            )
        )
    await uow.loans.update(
        loan.request_id,
        state=target,
        outstanding=_money(now.outstanding, loan),
        released=loan.released or Money.zero(loan.principal.currency),
        days_past_due=dpd,
        warned=warned,
    )
    return messages


async def _give_back(loan: LoanRecord, now: Standing, uow: UnitOfWork) -> Money:
    """Principal repaid since the last give-back goes back to a revolving facility."""
    released = loan.released.amount if loan.released is not None else ZERO
    if not loan.terms.revolving:
        return _money(released, loan)
    more = now.repaid_principal - released
    if more > 0:
        await uow.facilities.restore(
            loan.seller_uscc,
            _money(more, loan),
            buyer_uscc=loan.buyer_uscc,
            request_id=loan.request_id,
        )
        released += more
    return _money(released, loan)


def _money(amount: Decimal, loan: LoanRecord) -> Money:
    return loan.principal.model_copy(update={"amount": amount})
