"""Reconciliation (对账): our disbursements against what the bank booked on the paying account.

The bank's camt.054 is the proof of booking (formats-outbound §1.3): a booked debit whose
transaction carries our instruction id as its EndToEndId is money that left the account. The
comparison is pure and exact (integer fen against Decimal): `reconcile` names every difference
with a stable code, `run_reconciliation` feeds it from the database and the bank.

    MISSING_AT_BANK    we hold it SETTLED, the bank booked nothing
    UNKNOWN_TO_US      the bank booked an EndToEndId we have no instruction for
    AMOUNT_MISMATCH    a booking's amount differs from our instruction's
    CURRENCY_MISMATCH  a booking's currency differs from our instruction's
    DUPLICATE_BOOKING  one EndToEndId booked more than once: a double payment
    STATE_MISMATCH     we hold it PENDING or REJECTED, the bank booked it
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select

from canonical import DisbursementInstruction, MappingError, Money, PaymentStatus, Problem
from canonical.payments import (
    DebitCreditNotification,
    EntryDirection,
    EntryStatus,
    NotificationEntry,
)
from hub.persistence.money import from_fen
from hub.persistence.tables import DisbursementRow
from hub.persistence.uow import SqlUnitOfWork

__all__ = [
    "Booking",
    "Difference",
    "DifferenceCode",
    "DisbursementRecord",
    "Report",
    "Statements",
    "booked_debits",
    "reconcile",
    "run_reconciliation",
]

NOT_PROVIDED = "NOTPROVIDED"
"""The ISO placeholder EndToEndId of a payment that had none: not one of our instructions."""


class DifferenceCode(StrEnum):
    """What kind of difference; the order of the members is the order of a report."""

    DUPLICATE_BOOKING = "DUPLICATE_BOOKING"
    """The bank booked one EndToEndId more than once: the seller was paid twice."""
    UNKNOWN_TO_US = "UNKNOWN_TO_US"
    """The bank booked a payment we have no instruction for."""
    MISSING_AT_BANK = "MISSING_AT_BANK"
    """We hold the disbursement SETTLED but the bank booked nothing for it."""
    STATE_MISMATCH = "STATE_MISMATCH"
    """We hold the disbursement PENDING or REJECTED but the bank booked it."""
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    """The bank booked it in another currency than we instructed."""
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    """The bank booked another amount than we instructed."""


_ORDER = {code: n for n, code in enumerate(DifferenceCode)}


class DisbursementRecord(Protocol):
    """What reconciliation reads of our disbursement (a `DisbursementRow` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def amount_fen(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def state(self) -> str: ...


class Statements(Protocol):
    """The bank's booking notifications of an account (`connectors.bank_statements`)."""

    async def notifications(self, account: str) -> Sequence[DebitCreditNotification]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Booking:
    """One payment the bank booked: a debit transaction carrying an EndToEndId."""

    end_to_end_id: str
    amount: Money
    entry_reference: str = ""
    """The bank's entry number (NtryRef), to find the booking in its statement."""
    account_servicer_reference: str = ""
    booking_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """One difference between our books and the bank's, for one EndToEndId."""

    code: DifferenceCode
    end_to_end_id: str
    our_amount: Money | None = None
    bank_amount: Money | None = None
    our_state: str | None = None
    entry_references: tuple[str, ...] = ()
    """The bank entries concerned (all of them for a duplicate booking)."""
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, amounts as decimal strings."""
        return {
            "code": self.code.value,
            "end_to_end_id": self.end_to_end_id,
            "our_amount": _money_json(self.our_amount),
            "bank_amount": _money_json(self.bank_amount),
            "our_state": self.our_state,
            "entry_references": list(self.entry_references),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The outcome of one reconciliation of one debtor account."""

    account: str
    ours: int
    """Our disbursements from the account."""
    booked: int
    """Payments the bank booked on the account (reversed ones netted out)."""
    differences: tuple[Difference, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, object]:
        return {
            "account": self.account,
            "ours": self.ours,
            "booked": self.booked,
            "differences": [d.as_dict() for d in self.differences],
        }


def booked_debits(notifications: Iterable[DebitCreditNotification]) -> list[Booking]:
    """The payments that stand booked: BOOK debits, less the reversals of debits (returns).

    Pending, information-only and future entries are not bookings yet. Transactions without an
    EndToEndId (bank fees, for instance) are not instructions of anyone's, so are left out.
    Raises MappingError when a batch entry does not say how much each transaction paid.
    """
    bookings: list[Booking] = []
    reversals: list[Booking] = []
    problems: list[Problem] = []
    for i, message in enumerate(notifications):
        for j, block in enumerate(message.notifications):
            for k, entry in enumerate(block.entries):
                if entry.status is not EntryStatus.BOOKED:
                    continue
                if (entry.direction is EntryDirection.DEBIT) == entry.reversal:
                    continue  # a repayment, or the reversal of one: not a disbursement
                path = f"[{i}].notifications[{j}].entries[{k}]"
                found = _entry_bookings(entry, path, problems)
                (reversals if entry.reversal else bookings).extend(found)
    if problems:
        raise MappingError(problems, source="camt.054 bookings")
    for reversal in reversals:
        _net_out(bookings, reversal)
    return bookings


def reconcile(ours: Iterable[DisbursementRecord], booked: Iterable[Booking]) -> list[Difference]:
    """Every difference between our disbursements and the bank's bookings, in a stable order.

    A disbursement PENDING or REJECTED that the bank did not book is no difference: it is in
    flight, or it was refused. Raises ValueError when `ours` names one id twice.
    """
    by_id: dict[str, DisbursementRecord] = {}
    for record in ours:
        if record.id in by_id:
            raise ValueError(f"disbursement {record.id} is listed twice")
        by_id[record.id] = record
    bookings: defaultdict[str, list[Booking]] = defaultdict(list)
    for booking in booked:
        bookings[booking.end_to_end_id].append(booking)
    differences: list[Difference] = []
    for end_to_end_id in sorted(by_id.keys() | bookings.keys()):
        differences += _compare(end_to_end_id, by_id.get(end_to_end_id), bookings[end_to_end_id])
    return differences


async def run_reconciliation(
    units: Callable[[], SqlUnitOfWork], statements: Statements, account: str
) -> Report:
    """Reconcile `account`: the bank's bookings first, then our disbursements.

    In this order a payment sent meanwhile cannot show up as UNKNOWN_TO_US: its row was
    persisted before it was sent, so before the bank could book it. Our side is only read
    (the unit of work is left without a commit).
    """
    booked = booked_debits(await statements.notifications(account))
    async with units() as uow:
        rows = await _disbursements_from(uow, account)
    return Report(
        account=account,
        ours=len(rows),
        booked=len(booked),
        differences=tuple(reconcile(rows, booked)),
    )


# --- private helpers -----------------------------------------------------------------------


def _compare(
    end_to_end_id: str, record: DisbursementRecord | None, bookings: list[Booking]
) -> list[Difference]:
    found: list[Difference] = []
    references = tuple(b.entry_reference for b in bookings)
    if len(bookings) > 1:
        found.append(
            Difference(
                code=DifferenceCode.DUPLICATE_BOOKING,
                end_to_end_id=end_to_end_id,
                our_amount=None if record is None else _amount(record),
                our_state=None if record is None else record.state,
                entry_references=references,
                detail=f"booked {len(bookings)} times",
            )
        )
    if record is None:
        found += [
            Difference(
                code=DifferenceCode.UNKNOWN_TO_US,
                end_to_end_id=end_to_end_id,
                bank_amount=b.amount,
                entry_references=(b.entry_reference,),
                detail="booked by the bank, no instruction of ours",
            )
            for b in bookings
        ]
        return _sorted(found)
    ours = _amount(record)
    if not bookings:
        if record.state == PaymentStatus.SETTLED.value:
            found.append(
                Difference(
                    code=DifferenceCode.MISSING_AT_BANK,
                    end_to_end_id=end_to_end_id,
                    our_amount=ours,
                    our_state=record.state,
                    detail="settled for us, not booked by the bank",
                )
            )
        return found
    if record.state != PaymentStatus.SETTLED.value:
        found.append(
            Difference(
                code=DifferenceCode.STATE_MISMATCH,
                end_to_end_id=end_to_end_id,
                our_amount=ours,
                bank_amount=bookings[0].amount,
                our_state=record.state,
                entry_references=references,
                detail=f"{record.state} for us, booked by the bank",
            )
        )
    for booking in bookings:
        code = _amount_code(ours, booking.amount)
        if code is not None:
            found.append(
                Difference(
                    code=code,
                    end_to_end_id=end_to_end_id,
                    our_amount=ours,
                    bank_amount=booking.amount,
                    our_state=record.state,
                    entry_references=(booking.entry_reference,),
                    detail=f"instructed {_text(ours)}, booked {_text(booking.amount)}",
                )
            )
    return _sorted(found)


def _entry_bookings(entry: NotificationEntry, path: str, problems: list[Problem]) -> list[Booking]:
    """The bookings of one outgoing entry, one per transaction that names an EndToEndId."""
    found: list[Booking] = []
    for m, tx in enumerate(entry.transactions):
        if tx.end_to_end_id in ("", NOT_PROVIDED):
            continue
        amount = tx.amount
        if amount is None and len(entry.transactions) == 1:
            amount = entry.amount
        if amount is None:
            problems.append(
                Problem(
                    path=f"{path}.transactions[{m}].amount",
                    reason="a batch entry must give each transaction's amount",
                    value=tx.end_to_end_id,
                )
            )
            continue
        found.append(
            Booking(
                end_to_end_id=tx.end_to_end_id,
                amount=amount,
                entry_reference=entry.entry_reference,
                account_servicer_reference=entry.account_servicer_reference,
                booking_date=entry.booking_date,
            )
        )
    return found


def _amount_code(ours: Money, booked: Money) -> DifferenceCode | None:
    if ours.currency != booked.currency:
        return DifferenceCode.CURRENCY_MISMATCH
    if ours.amount != booked.amount:  # Decimal equality: 1000.00 == 1000.0, nothing rounded
        return DifferenceCode.AMOUNT_MISMATCH
    return None


def _net_out(bookings: list[Booking], reversal: Booking) -> None:
    """Remove the booking a reversal undoes: the same EndToEndId, the same amount if any."""
    same = [b for b in bookings if b.end_to_end_id == reversal.end_to_end_id]
    if not same:
        return  # nothing of it stands booked on this statement: nothing to net out
    exact = [b for b in same if b.amount == reversal.amount]
    bookings.remove((exact or same)[-1])


def _sorted(differences: list[Difference]) -> list[Difference]:
    return sorted(differences, key=lambda d: (_ORDER[d.code], d.entry_references))


def _amount(record: DisbursementRecord) -> Money:
    return from_fen(record.amount_fen, record.currency)


def _text(money: Money) -> str:
    return f"{format(money.amount, 'f')} {money.currency}"


def _money_json(money: Money | None) -> dict[str, str] | None:
    if money is None:
        return None
    return {"amount": format(money.amount, "f"), "currency": money.currency}


async def _disbursements_from(uow: SqlUnitOfWork, account: str) -> list[DisbursementRow]:
    """Our disbursements paid from `account` (the debtor account of their instruction)."""
    # The text filter only narrows the rows to parse; the parsed instruction decides.
    statement = (
        select(DisbursementRow)
        .where(DisbursementRow.instruction.contains(f'"{account}"', autoescape=True))
        .order_by(DisbursementRow.id)
    )
    rows = (await uow.session.scalars(statement)).all()
    return [
        row
        for row in rows
        if DisbursementInstruction.model_validate_json(row.instruction).debtor_account.number
        == account
    ]
