"""Disbursement: persist the instruction, send it once, apply what the bank reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from canonical import (
    DisbursementInstruction,
    DisbursementRequested,
    DomainError,
    FinancingRejected,
    FinancingState,
    Message,
    Money,
    PaymentReported,
    PaymentResult,
    PaymentStatus,
    ReceivableRegistered,
)
from routes.later import CHINA
from routes.outcomes import reject
from routes.ports import Payout, UnitOfWork
from routes.quote.charges import charges, financing_maturity
from routes.registry import Services

__all__ = [
    "apply_payment_result",
    "instruct_disbursement",
    "instruction_ids",
    "record_submission",
    "submit_to_bank",
]


def instruction_ids(request_id: str) -> tuple[str, str]:
    """(instruction id, pain.001 MsgId), derived from the request so a re-run reuses them."""
    core = request_id.removeprefix("FR")[:33]
    return f"D{core}", f"M{core}"


async def instruct_disbursement(
    msg: ReceivableRegistered, _: None, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    """Build the instruction and persist its ids BEFORE anything is sent (never pay twice).

    The principal is the one held on the facility at LIMIT_RESERVED, carried here unchanged;
    the bank pays it less what the policy deducts up front (the fee on the eligible face, and
    the interest to maturity under the discount method), sized as `factorhub calc` sizes it.
    """
    facility = await uow.facilities.get(msg.seller.uscc)
    if facility is None:  # the facility was closed after the reservation: refuse, release
        await uow.requests.transition(
            msg.request_id,
            FinancingState.REJECTED,
            allowed_from=frozenset({FinancingState.REGISTERED}),
            reason="NO_FACILITY",
        )
        await uow.facilities.release(msg.request_id)
        return [
            FinancingRejected(request_id=msg.request_id, reason="NO_FACILITY", step="disbursement")
        ]
    instruction_id, message_id = instruction_ids(msg.request_id)
    now = services.clock()
    terms = services.policy.terms
    start = now.astimezone(CHINA).date()
    base = msg.eligible_base or msg.amount  # an older message: the fee base was not carried
    split = charges(
        msg.amount.amount,
        base.amount,
        start=start,
        maturity=financing_maturity(msg.due_date, start, terms),
        policy=terms,
    )
    if split.net <= 0:
        detail = f"charges deducted up front leave {split.net} of principal {msg.amount.amount}"
        rejected = await reject(
            uow,
            msg.request_id,
            "NET_DISBURSEMENT_NEGATIVE",
            detail,
            step="disbursement",
            allowed_from=frozenset({FinancingState.REGISTERED}),
        )
        await uow.facilities.release(msg.request_id)
        return rejected
    instruction = DisbursementInstruction(
        id=instruction_id,
        request_id=msg.request_id,
        message_id=message_id,
        amount=_money(split.net, msg.amount),
        principal=msg.amount,
        eligible_base=base,
        fee=_money(split.fee_upfront, msg.amount),
        upfront_interest=_money(split.upfront_interest, msg.amount),
        debtor=services.policy.factor,
        debtor_account=services.policy.factor_account,
        creditor=msg.seller,
        creditor_account=facility.account,
        execution_date=now.date(),
        remittance=f"保理融资 {msg.invoice_key} 登记 {msg.registration.registration_no}"[:140],
        created_at=now,
    )
    await uow.disbursements.add(instruction)
    await uow.requests.transition(
        msg.request_id,
        FinancingState.DISBURSING,
        allowed_from=frozenset({FinancingState.REGISTERED}),
        note=f"instruction {instruction_id}",
    )
    return [DisbursementRequested(request_id=msg.request_id, instruction=instruction)]


async def submit_to_bank(
    messages: Sequence[DisbursementRequested], services: Services
) -> list[PaymentResult | Exception]:
    """One payment file per batch; the gateway resends only what the bank never received."""
    return await services.bank.submit_many([m.instruction for m in messages])


async def record_submission(
    msg: DisbursementRequested, result: PaymentResult, _: UnitOfWork, __: Services
) -> Sequence[Message]:
    return [PaymentReported(request_id=msg.request_id, result=result)]


def value_date(result: PaymentResult) -> date:
    """The day the money went out, on the bank's (Beijing) calendar: interest runs from it."""
    return result.reported_at.astimezone(CHINA).date()


async def apply_payment_result(
    msg: PaymentReported, _: None, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    """Apply a status; a duplicate or stale report changes nothing. A settled disbursement
    opens the loan that repayments and the daily job then move."""
    result = msg.result
    payout = await uow.disbursements.record_result(result)
    if payout is None:
        return []
    if payout.corrects_presumed:
        return await _undo_presumed_settlement(msg, payout, uow)
    allowed = frozenset({FinancingState.DISBURSING})
    if result.status is PaymentStatus.SETTLED:
        await uow.facilities.consume(msg.request_id, payout.principal)
        await uow.loans.open(
            msg.request_id,
            payout.principal,
            value_date(result),
            services.policy.terms,
            eligible_base=payout.eligible_base,
            upfront_interest=payout.upfront_interest,
        )
        await uow.requests.transition(
            msg.request_id,
            FinancingState.DISBURSED,
            allowed_from=allowed,
            note=f"bank {result.bank_code} ref {result.bank_reference}",
        )
        return []
    if result.status is PaymentStatus.REJECTED:
        reason = _bank_reason(result)
        await uow.facilities.release(msg.request_id)
        await uow.requests.transition(
            msg.request_id,
            FinancingState.REJECTED,
            allowed_from=allowed,
            reason=reason,
            note=f"bank rejected: {result.bank_code} {result.reason}",
        )
        return [
            FinancingRejected(
                request_id=msg.request_id,
                reason=_code(reason),
                detail=result.reason,
                step="disbursement",
            )
        ]
    return []


async def _undo_presumed_settlement(
    msg: PaymentReported, payout: Payout, uow: UnitOfWork
) -> Sequence[Message]:
    """A presumed success (e-CNY PR03) the operator's reconciliation corrected to a failure:
    the money never moved, so the limit the settlement used is given back (seller and buyer),
    the loan it opened is closed, and the application ends REJECTED with the bank's code.
    Money repaid on a loan that was never paid out is for an operator to return: refused."""
    result = msg.result
    loan = await uow.loans.get(msg.request_id)
    if loan is None:  # pragma: no cover - a settlement always opens its loan
        raise DomainError("NO_OPEN_FINANCING", f"{msg.request_id}: no loan to close")
    if loan.repayments:
        raise DomainError(
            "REVERSAL_AFTER_REPAYMENT",
            f"{msg.request_id}: {result.bank_code} corrects a presumed payment, but "
            f"{len(loan.repayments)} repayment(s) were booked against it: an operator must "
            "return them before the financing can be undone",
        )
    await uow.facilities.restore(
        loan.seller_uscc, payout.principal, buyer_uscc=loan.buyer_uscc, request_id=msg.request_id
    )
    await uow.loans.update(
        msg.request_id,
        state=FinancingState.REJECTED,
        outstanding=Money.zero(payout.principal.currency),
        released=payout.principal,
        days_past_due=0,
        warned=None,
    )
    reason = f"BANK_{result.bank_code or 'RJCT'}"
    detail = (
        f"the presumed success was corrected to {result.bank_code} {result.reason}: the money "
        "never moved; limit given back, loan closed"
    )[:300]
    await uow.requests.transition(
        msg.request_id,
        FinancingState.REJECTED,
        allowed_from=frozenset({FinancingState.DISBURSED}),
        reason=reason,
        note=detail,
    )
    return [
        FinancingRejected(
            request_id=msg.request_id, reason=_code(reason), detail=detail, step="disbursement"
        )
    ]


def _bank_reason(result: PaymentResult) -> str:
    """A stable code for a refusal: BANK_ and the bank's reason code (AM04, R021, ...), the
    leading token of its reason ("AM04: insufficient funds"), else its status code."""
    token = result.reason.split(":", 1)[0].split(None, 1)[0] if result.reason.strip() else ""
    code = token if token.isascii() and token.isalnum() and len(token) <= 8 else ""
    return _code(f"BANK_{code or result.bank_code or 'RJCT'}")[:64]


def _code(reason: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in reason.upper())


def _money(amount: Decimal, like: Money) -> Money:
    return like.model_copy(update={"amount": amount})
