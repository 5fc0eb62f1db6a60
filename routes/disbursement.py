"""Disbursement: persist the instruction, send it once, apply what the bank reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from canonical import (
    DisbursementInstruction,
    DisbursementRequested,
    FinancingRejected,
    FinancingState,
    Message,
    PaymentReported,
    PaymentResult,
    PaymentStatus,
    ReceivableRegistered,
)
from routes.ports import UnitOfWork
from routes.registry import Services
from routes.repayment import loan_terms

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

    The amount is the principal held on the facility at LIMIT_RESERVED, carried here
    unchanged: what was reserved is what is paid.
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
    instruction = DisbursementInstruction(
        id=instruction_id,
        request_id=msg.request_id,
        message_id=message_id,
        amount=msg.amount,
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


_CHINA = ZoneInfo("Asia/Shanghai")


def value_date(result: PaymentResult) -> date:
    """The day the money went out, on the bank's (Beijing) calendar: interest runs from it."""
    return result.reported_at.astimezone(_CHINA).date()


async def apply_payment_result(
    msg: PaymentReported, _: None, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    """Apply a status; a duplicate or stale report changes nothing. A settled disbursement
    opens the loan that repayments and the daily job then move."""
    result = msg.result
    amount = await uow.disbursements.record_result(result)
    if amount is None:
        return []
    allowed = frozenset({FinancingState.DISBURSING})
    if result.status is PaymentStatus.SETTLED:
        await uow.facilities.consume(msg.request_id, amount)
        await uow.loans.open(
            msg.request_id, amount, value_date(result), loan_terms(services.policy.terms)
        )
        await uow.requests.transition(
            msg.request_id,
            FinancingState.DISBURSED,
            allowed_from=allowed,
            note=f"bank {result.bank_code} ref {result.bank_reference}",
        )
        return []
    if result.status is PaymentStatus.REJECTED:
        reason = f"BANK_{result.reason or result.bank_code or 'RJCT'}"[:64]
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


def _code(reason: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in reason.upper())
