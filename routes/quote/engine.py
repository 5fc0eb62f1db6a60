"""`quote`: the one entry point of the calculator (融资额度测算). Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from routes.quote.arithmetic import ZERO, accrual, days_between, fen_half_up
from routes.quote.charges import charges
from routes.quote.eligibility import Assessment, assess
from routes.quote.ledger import Ledger, Tranche
from routes.quote.models import (
    Decision,
    LimitReserve,
    QuoteRequest,
    QuoteResult,
    QuoteState,
    ReceivableQuote,
    RepaymentLine,
)
from routes.quote.sizing import allocate, size

__all__ = ["quote"]


def quote(request: QuoteRequest) -> QuoteResult:
    """Eligibility, sizing, the decision, the planned interest and the events, as one document."""
    policy = request.policy
    start = request.disbursement_date
    checks = [assess(item, policy, request.as_of, start) for item in request.receivables]
    faces = [check.eligible_face for check in checks]
    base = sum(faces, ZERO)
    reasons = _unique(code for check in checks for code in check.reasons)
    if base == 0:
        return _rejected(request, checks, base, [*reasons, "NOTHING_ELIGIBLE"])
    sizing = size(
        faces,
        [item.already_financed for item in request.receivables],
        policy,
        request.limits,
        request.portfolio,
        request.request.amount,
    )
    reasons = _unique([*reasons, *sizing.cuts])
    principal = sizing.principal
    if principal <= 0 or principal < policy.min_ticket:
        return _rejected(request, checks, base, [*reasons, "BELOW_MIN_TICKET"])
    if sizing.cuts and not policy.partial_approval:
        return _rejected(request, checks, base, reasons)
    shares = allocate(principal, sizing.capacities)
    basis = policy.day_basis
    planned = [
        fen_half_up(accrual(share, policy.annual_rate, days_between(start, check.maturity), basis))
        for share, check in zip(shares, checks, strict=True)
    ]
    split = charges(
        principal,
        base,
        start=start,
        maturity=max(check.maturity for check in checks),
        policy=policy,
        planned_interest=sum(planned, ZERO),
    )
    fee, upfront, net = split.fee, split.upfront_interest, split.net
    discount = policy.interest_method == "discount"
    if net < 0:
        return _rejected(request, checks, base, [*reasons, "NET_DISBURSEMENT_NEGATIVE"])
    decision, state = Decision.APPROVED, QuoteState.DISBURSED
    if any(check.needs_review for check in checks):
        decision, state = Decision.REVIEW, QuoteState.MATCH_REVIEW
        reasons = _unique([*reasons, "MATCH_REVIEW"])
    elif policy.review_above is not None and principal > policy.review_above:
        decision, state = Decision.REVIEW, QuoteState.LIMIT_RESERVED
        reasons = _unique([*reasons, "APPROVAL_AUTHORITY"])
    elif principal < sizing.target:
        decision = Decision.APPROVED_REDUCED
    repayments: tuple[RepaymentLine, ...] = ()
    if state is QuoteState.DISBURSED:
        ledger = Ledger(
            policy,
            [
                Tranche(share, start, check.maturity, upfront=interest if discount else ZERO)
                for share, check, interest in zip(shares, checks, planned, strict=True)
                if share > 0
            ],
            fee_unpaid=split.fee_in_arrears,
        )
        repayments = ledger.apply_all(request.events)
        state = ledger.state
    reserve = ZERO if state is QuoteState.MATCH_REVIEW else principal
    return QuoteResult(
        decision=decision,
        reasons=tuple(reasons),
        eligible_base=base,
        principal=principal,
        fee=fee,
        upfront_interest=upfront,
        net_disbursement=net,
        interest_total=sum(planned, ZERO),
        receivables=tuple(
            _line(request, index, check, share, interest)
            for index, (check, share, interest) in enumerate(
                zip(checks, shares, planned, strict=True)
            )
        ),
        limits=tuple(LimitReserve(kind=item.kind, reserve=reserve) for item in request.limits),
        repayments=repayments,
        state=state,
    )


def _rejected(
    request: QuoteRequest, checks: list[Assessment], base: Decimal, reasons: list[str]
) -> QuoteResult:
    """Nothing moves: every amount but the eligible base and faces is zero."""
    return QuoteResult(
        decision=Decision.REJECTED,
        reasons=tuple(_unique(reasons)),
        eligible_base=base,
        principal=ZERO,
        fee=ZERO,
        upfront_interest=ZERO,
        net_disbursement=ZERO,
        interest_total=ZERO,
        receivables=tuple(
            _line(request, index, check, ZERO, ZERO) for index, check in enumerate(checks)
        ),
        limits=tuple(LimitReserve(kind=item.kind, reserve=ZERO) for item in request.limits),
        repayments=(),
        state=QuoteState.REJECTED,
    )


def _line(
    request: QuoteRequest, index: int, check: Assessment, principal: Decimal, interest: Decimal
) -> ReceivableQuote:
    return ReceivableQuote(
        id=request.receivables[index].id,
        status=check.status,
        eligible_face=check.eligible_face,
        principal=principal,
        interest=interest,
        maturity=check.maturity,
    )


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))
