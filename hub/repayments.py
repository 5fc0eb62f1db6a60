"""Money coming in, and the bank's booking notices: repayments and camt.054 into the flow.

A repayment (posted as JSON, or a CRDT entry of the bank's camt.054 on the collection account)
becomes a `RepaymentReceived` in the outbox, committed before the caller is answered; the
`apply-repayment` route then runs the waterfall. A camt.054 DBIT entry whose EndToEndId is one
of our instructions proves the disbursement was booked: it is applied as a settled payment
result, exactly like a pain.002 (a repeat changes nothing).

A credit is matched to a loan by what its remittance information names: our request id, or
the invoice (code + number) the loan financed. Entries that match nothing are listed, never
guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import or_, select

from canonical import (
    Envelope,
    MappingError,
    Money,
    PaymentReported,
    PaymentResult,
    PaymentStatus,
    Problem,
    RepaymentReceived,
)
from canonical.messages import Message
from canonical.payments import EntryDirection, EntryStatus, NotificationEntry
from hub.persistence.tables import DisbursementRow, LoanRow, RequestRow, table_of
from hub.persistence.uow import SqlUnitOfWork, UnitOfWorkFactory
from mappings.camt054 import camt054_to_canonical
from routes.policy import problems_of

__all__ = [
    "NotificationOutcome",
    "RepaymentBody",
    "RepaymentRefused",
    "accept_camt054",
    "accept_repayment",
]

_loans = table_of(LoanRow)
_requests = table_of(RequestRow)
_disbursements = table_of(DisbursementRow)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


class RepaymentBody(BaseModel):
    """`POST /v1/repayments`: money received against a paid-out financing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(min_length=1, max_length=64)
    reference: str = Field(min_length=1, max_length=64)
    """The payment's own id (bank entry reference): the same reference counts once."""
    value_date: date
    amount: Decimal = Field(gt=0, decimal_places=2)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    payer: Literal["debtor", "seller"] = "debtor"

    @field_validator("amount", mode="before")
    @classmethod
    def _decimal_text(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("write amounts as decimal strings, not JSON numbers")
        return value


class RepaymentRefused(Exception):
    """The repayment names no financing that can take it; `status` is the HTTP answer."""

    def __init__(self, status: int, problem: Problem) -> None:
        super().__init__(f"{problem.path}: {problem.reason}")
        self.status = status
        self.problem = problem


@dataclass(frozen=True, slots=True)
class NotificationOutcome:
    settled: int
    """Disbursements the notice proves booked (handed to the flow; repeats change nothing)."""
    repayments: int
    """Credits matched to a loan and handed to the flow (repeats count once)."""
    unmatched: tuple[str, ...]
    """Entry references of booked entries that name nothing of ours."""


def parse_repayment(raw: bytes) -> RepaymentBody:
    """Validate the JSON body; MappingError naming every bad field otherwise."""
    try:
        return RepaymentBody.model_validate_json(raw)
    except ValidationError as error:
        raise MappingError(problems_of(error), "repayment") from None


async def accept_repayment(units: UnitOfWorkFactory, body: RepaymentBody) -> None:
    """Queue the repayment for the flow; refused (404 / 409) when there is no paid-out
    financing to take it, so the payer learns at once rather than from a dead letter."""
    async with units() as uow:
        row = (
            await uow.session.execute(
                select(_requests.c.tenant, _requests.c.seller_uscc, _requests.c.state).where(
                    _requests.c.id == body.request_id
                )
            )
        ).one_or_none()
        if row is None:
            raise RepaymentRefused(
                404, Problem("/request_id", "no such financing request", body.request_id)
            )
        loan = await uow.session.scalar(
            select(_loans.c.currency).where(_loans.c.request_id == body.request_id)
        )
        if loan is None:
            raise RepaymentRefused(
                409,
                Problem("/request_id", f"not paid out (state {row.state})", body.request_id),
            )
        if loan != body.currency:
            raise RepaymentRefused(
                422, Problem("/currency", f"the financing is in {loan}", body.currency)
            )
        message = RepaymentReceived(
            request_id=body.request_id,
            reference=body.reference,
            value_date=body.value_date,
            amount=Money(amount=body.amount, currency=body.currency),
            payer=body.payer,
        )
        await _queue(uow, [(message, row.tenant, row.seller_uscc)], source="payer")
        await uow.commit()


async def accept_camt054(
    units: UnitOfWorkFactory, raw: bytes, *, now: datetime
) -> NotificationOutcome:
    """Map the camt.054 (MappingError on bad input: nothing stored), then queue what it proves."""
    notice = camt054_to_canonical(raw, received_at=now)
    booked = [
        entry
        for notification in notice.notifications
        for entry in notification.entries
        if entry.status is EntryStatus.BOOKED and not entry.reversal
    ]
    debits = [e for e in booked if e.direction is EntryDirection.DEBIT]
    credits = [e for e in booked if e.direction is EntryDirection.CREDIT]
    async with units() as uow:
        outgoing: list[tuple[Message, str, str]] = []
        unmatched: list[str] = []
        ours = await _our_instructions(uow, [i for e in debits for i in e.end_to_end_ids])
        for entry in debits:
            hits = [i for i in entry.end_to_end_ids if i in ours]
            if not hits:
                unmatched.append(_name(entry))
            for instruction_id in hits:
                request_id, tenant, seller = ours[instruction_id]
                result = PaymentResult(
                    instruction_id=instruction_id,
                    status=PaymentStatus.SETTLED,
                    bank_code="BOOK",
                    bank_reference=entry.account_servicer_reference or entry.entry_reference,
                    reported_at=now,
                )
                outgoing.append(
                    (PaymentReported(request_id=request_id, result=result), tenant, seller)
                )
        settled = len(outgoing)
        loans = await _loans_named(uow, [t for e in credits for t in _tokens(e)])
        for entry in credits:
            loan = next((loans[t] for t in _tokens(entry) if t in loans), None)
            if loan is None:
                unmatched.append(_name(entry))
                continue
            request_id, tenant, seller = loan
            outgoing.append(
                (
                    RepaymentReceived(
                        request_id=request_id,
                        reference=_name(entry)[:64],
                        value_date=entry.value_date or entry.booking_date or now.date(),
                        amount=entry.amount,
                    ),
                    tenant,
                    seller,
                )
            )
        await _queue(uow, outgoing, source="bank")
        await uow.commit()
    return NotificationOutcome(
        settled=settled, repayments=len(outgoing) - settled, unmatched=tuple(unmatched)
    )


async def _queue(
    uow: SqlUnitOfWork, messages: list[tuple[Message, str, str]], *, source: str
) -> None:
    await uow.outbox.add_many(
        [
            (
                message.topic,
                Envelope(
                    correlation_id=message.request_id,
                    tenant=tenant,
                    source_system=source,
                    type=type(message).__name__,
                    key=seller,
                    body=message.model_dump(mode="json"),
                ).carrying(message),
            )
            for message, tenant, seller in messages
        ]
    )


async def _our_instructions(uow: SqlUnitOfWork, ids: list[str]) -> dict[str, tuple[str, str, str]]:
    if not ids:
        return {}
    rows = await uow.session.execute(
        select(
            _disbursements.c.id,
            _disbursements.c.request_id,
            _requests.c.tenant,
            _requests.c.seller_uscc,
        )
        .join(_requests, _requests.c.id == _disbursements.c.request_id)
        .where(_disbursements.c.id.in_(ids))
    )
    return {r.id: (r.request_id, r.tenant, r.seller_uscc) for r in rows}


async def _loans_named(uow: SqlUnitOfWork, tokens: list[str]) -> dict[str, tuple[str, str, str]]:
    """Loans whose request id or financed invoice is among `tokens`, keyed by both."""
    if not tokens:
        return {}
    rows = await uow.session.execute(
        select(_requests.c.id, _requests.c.invoice_key, _requests.c.tenant, _requests.c.seller_uscc)
        .join(_loans, _loans.c.request_id == _requests.c.id)
        .where(or_(_requests.c.id.in_(tokens), _requests.c.invoice_key.in_(tokens)))
    )
    found: dict[str, tuple[str, str, str]] = {}
    for r in rows:
        found[r.id] = found[r.invoice_key] = (r.id, r.tenant, r.seller_uscc)
    return found


def _tokens(entry: NotificationEntry) -> list[str]:
    texts = [entry.additional_info, *(line for t in entry.transactions for line in t.remittance)]
    texts += [t.end_to_end_id for t in entry.transactions]
    return [token for text in texts for token in _TOKEN.findall(text)]


def _name(entry: NotificationEntry) -> str:
    return entry.account_servicer_reference or entry.entry_reference or entry.bank_transaction_code
