"""After disbursement: accrual, overdue, penalties, the waterfall and the state (§2.3-2.7).

Each receivable's share of the principal is a tranche with its own maturity (due date + receivable
grace). Charges are recomputed from the tranche's history at every event and rounded half-up once,
cumulatively, so partial repayments never drift by a fen:

* contract interest accrues at `annual_rate` until maturity, and after it while the overdue days
  stay within `penalty_grace_days`;
* once a tranche is unpaid beyond that window, penalty interest at `penalty_rate` REPLACES the
  contract rate for every overdue day from maturity (§2.5, §2.6), plus, when `compound_penalty`
  is on, the penalty rate on the contract interest left unpaid during those days;
* a payment goes fees -> penalty -> interest -> principal (earliest maturity first) -> surplus;
* under the discount method, interest prepaid for days a repaid principal no longer runs is
  refunded (when the policy says so) into the surplus, shown as negative interest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from canonical import IllegalTransition
from routes.policy import Policy
from routes.quote.arithmetic import ZERO, accrual, days_between, fen_half_up
from routes.quote.models import QuoteState, RepaymentEvent, RepaymentLine

__all__ = ["ALLOWED", "Ledger", "Tranche"]

ALLOWED: dict[QuoteState, frozenset[QuoteState]] = {
    QuoteState.DISBURSED: frozenset(
        {QuoteState.PARTIALLY_REPAID, QuoteState.SETTLED, QuoteState.OVERDUE}
    ),
    QuoteState.PARTIALLY_REPAID: frozenset(
        {QuoteState.PARTIALLY_REPAID, QuoteState.SETTLED, QuoteState.OVERDUE}
    ),
    QuoteState.OVERDUE: frozenset({QuoteState.OVERDUE, QuoteState.SETTLED}),
    QuoteState.SETTLED: frozenset(),
}
"""The repayment part of the application machine (§4.1); SETTLED is terminal."""


@dataclass(slots=True)
class Tranche:
    """One receivable's share of the financing and what has been paid against it."""

    principal: Decimal
    start: date
    maturity: date
    upfront: Decimal = ZERO
    """Interest prepaid (discount method), less what has been refunded."""
    outstanding: Decimal = ZERO
    interest_paid: Decimal = ZERO
    penalty_paid: Decimal = ZERO
    changes: list[tuple[date, Decimal]] = field(default_factory=list)
    """(date, outstanding principal from that date on)."""
    interest_log: list[tuple[date, Decimal]] = field(default_factory=list)
    """(date, interest paid so far after that date's payments)."""

    def __post_init__(self) -> None:
        self.outstanding = self.principal
        self.changes.append((self.start, self.principal))

    def overdue_days(self, on: date) -> int:
        return (on - self.maturity).days

    def penalised(self, on: date, policy: Policy) -> bool:
        """Unpaid beyond the penalty grace window: penalty then covers every overdue day."""
        last_unpaid = on if self.outstanding > 0 else self.changes[-1][0]
        return self.overdue_days(last_unpaid) > policy.penalty_grace_days

    def charges(self, on: date, policy: Policy) -> tuple[Decimal, Decimal]:
        """(interest due, penalty due) at `on`, before that date's payment."""
        penalised = self.penalised(on, policy)
        interest, penalty = self._accrued(on, policy, penalised)
        if penalised and policy.compound_penalty:
            penalty += self._compound(on, policy, fen_half_up(interest))
        interest_charge = max(fen_half_up(interest), self.upfront)
        interest_due = max(interest_charge - self.upfront - self.interest_paid, ZERO)
        owed = interest_charge + fen_half_up(penalty)
        paid = self.upfront + self.interest_paid + self.penalty_paid
        return interest_due, max(owed - paid - interest_due, ZERO)

    def unearned(self, on: date, policy: Policy) -> Decimal:
        """Prepaid interest for days the repaid principal no longer runs (discount method)."""
        if self.upfront <= 0 or on >= self.maturity:
            return ZERO
        interest, _ = self._accrued(on, policy, penalised=False)
        rest = accrual(
            self.outstanding,
            policy.annual_rate,
            days_between(on, self.maturity),
            policy.day_basis,
        )
        return max(self.upfront - fen_half_up(interest + rest), ZERO)

    def _accrued(self, on: date, policy: Policy, penalised: bool) -> tuple[Decimal, Decimal]:
        interest = penalty = ZERO
        basis = policy.day_basis
        for index, (begin, amount) in enumerate(self.changes):
            end = self.changes[index + 1][0] if index + 1 < len(self.changes) else on
            end = min(end, on)
            if amount <= 0 or end <= begin:
                continue
            before = days_between(begin, min(end, self.maturity))
            after = days_between(max(begin, self.maturity), end)
            interest += accrual(amount, policy.annual_rate, before, basis)
            if penalised:
                penalty += accrual(amount, policy.penalty_rate, after, basis)
            else:
                interest += accrual(amount, policy.annual_rate, after, basis)
        return interest, penalty

    def _compound(self, on: date, policy: Policy, interest_charge: Decimal) -> Decimal:
        """Penalty rate on contract interest left unpaid, over each overdue interval."""
        marks = sorted(
            {self.maturity, *(d for d, _ in self.interest_log if self.maturity < d < on)}
        )
        total = ZERO
        for index, begin in enumerate(marks):
            end = marks[index + 1] if index + 1 < len(marks) else on
            paid = max((p for d, p in self.interest_log if d <= begin), default=ZERO)
            unpaid = max(interest_charge - self.upfront - paid, ZERO)
            total += accrual(
                unpaid, policy.penalty_rate, days_between(begin, end), policy.day_basis
            )
        return total


@dataclass(slots=True)
class Ledger:
    """The disbursed financing: tranches, the unpaid fee, and the application's state."""

    policy: Policy
    tranches: list[Tranche]
    fee_unpaid: Decimal = ZERO
    state: QuoteState = QuoteState.DISBURSED
    history: list[QuoteState] = field(default_factory=list)

    @property
    def outstanding(self) -> Decimal:
        return sum((t.outstanding for t in self.tranches), ZERO)

    def apply_all(self, events: Sequence[RepaymentEvent]) -> tuple[RepaymentLine, ...]:
        """Apply the events in date order (input order within a day)."""
        ordered = sorted(enumerate(events), key=lambda pair: (pair[1].date, pair[0]))
        return tuple(self.apply(event) for _, event in ordered)

    def apply(self, event: RepaymentEvent) -> RepaymentLine:
        """One repayment through the waterfall, with the state moves around it."""
        on = event.date
        if self._past_window(on):
            self._move(QuoteState.OVERDUE)
        due = [t.charges(on, self.policy) for t in self._by_maturity()]
        left = event.amount
        fees = min(left, self.fee_unpaid)
        self.fee_unpaid -= fees
        left -= fees
        penalty = interest = principal = ZERO
        for tranche, (_, penalty_due) in zip(self._by_maturity(), due, strict=True):
            part = min(left, penalty_due)
            tranche.penalty_paid += part
            penalty, left = penalty + part, left - part
        for tranche, (interest_due, _) in zip(self._by_maturity(), due, strict=True):
            part = min(left, interest_due)
            tranche.interest_paid += part
            interest, left = interest + part, left - part
        refund = ZERO
        for tranche in self._by_maturity():
            part = min(left, tranche.outstanding)
            if part > 0:
                tranche.outstanding -= part
                tranche.changes.append((on, tranche.outstanding))
                principal, left = principal + part, left - part
                if self.policy.refund_unearned_interest:
                    back = tranche.unearned(on, self.policy)
                    tranche.upfront -= back
                    refund += back
            tranche.interest_log.append((on, tranche.interest_paid))
        if self.state is not QuoteState.SETTLED:
            self._move(self._after_payment(on))
        return RepaymentLine(
            date=on,
            amount=event.amount,
            fees=fees,
            penalty=penalty,
            interest=interest - refund,
            principal=principal,
            surplus=left + refund,
            outstanding_after=self.outstanding,
        )

    def overdue_on(self, on: date) -> bool:
        """A tranche is unpaid beyond the penalty grace window at `on` (§2.6)."""
        return self._past_window(on)

    def days_past_due(self, on: date) -> int:
        """Days since the earliest maturity still unpaid at `on` (0 when nothing is late)."""
        late = [t.overdue_days(on) for t in self.tranches if t.outstanding > 0]
        return max([0, *late])

    def _by_maturity(self) -> list[Tranche]:
        return sorted(self.tranches, key=lambda t: t.maturity)

    def _past_window(self, on: date) -> bool:
        grace = self.policy.penalty_grace_days
        return any(t.outstanding > 0 and t.overdue_days(on) > grace for t in self.tranches)

    def _after_payment(self, on: date) -> QuoteState:
        if self.outstanding == 0 and self.fee_unpaid == 0:
            return QuoteState.SETTLED
        if self.state is QuoteState.OVERDUE or self._past_window(on):
            return QuoteState.OVERDUE
        return QuoteState.PARTIALLY_REPAID

    def _move(self, target: QuoteState) -> None:
        if target is self.state and target is QuoteState.OVERDUE:
            return
        if target not in ALLOWED[self.state]:
            raise IllegalTransition("financing", self.state, target)
        self.state = target
        self.history.append(target)
