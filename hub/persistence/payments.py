"""Registrations and disbursements: the records of what we asked partners to do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import DisbursementInstruction, Money, PaymentResult, PaymentStatus, Registration
from hub.persistence.lifecycles import Entity, LifecycleLog
from hub.persistence.money import from_fen, to_fen
from hub.persistence.sql import execute_many, insert_ignoring_duplicates
from hub.persistence.tables import DisbursementRow, RegistrationRow, table_of
from routes.lifecycle import (
    REGISTRATION,
    RegistrationContext,
    RegistrationEvent,
    RegistrationState,
    TransitionRefused,
)
from routes.ports import Clock, Payout

__all__ = ["SqlDisbursementRepository", "SqlRegistrationRepository"]

_FINAL = frozenset({PaymentStatus.SETTLED.value, PaymentStatus.REJECTED.value})
_SETTLED = PaymentStatus.SETTLED.value

_registrations = table_of(RegistrationRow)
_GET_REGISTRATIONS = select(
    _registrations.c.request_id, _registrations.c.registration_no, _registrations.c.state
).where(_registrations.c.request_id.in_(bindparam("b_requests", expanding=True)))
_CANCEL = (
    update(_registrations)
    .where(_registrations.c.request_id == bindparam("b_request"))
    .values(state=bindparam("state"), cancelled_at=bindparam("cancelled_at"))
)
_G = RegistrationState
_E = RegistrationEvent
_FACTS = RegistrationContext()
"""Filing, confirming and cancelling have no guards; no date facts are needed."""
_FILED = f"{_E.SUBMIT.value}, {_E.CONFIRM.value}"
"""The hub files and the registry confirms in one call (批量登记 answers the numbers)."""
_STATES = {state.value: state for state in _G}


def _file(state: RegistrationState) -> RegistrationState:
    """Filed and confirmed from `state`, or `TransitionRefused`."""
    return REGISTRATION.next_state(
        REGISTRATION.next_state(state, _E.SUBMIT, _FACTS), _E.CONFIRM, _FACTS
    )


_FILED_FROM_DRAFT = _file(_G.DRAFT)
"""The machine is pure: its answer for a registration not filed yet, worked out once."""
_disbursements = table_of(DisbursementRow)

_PAYMENT = select(
    _disbursements.c.id,
    _disbursements.c.state,
    _disbursements.c.bank_code,
    _disbursements.c.amount_fen,
    _disbursements.c.currency,
    _disbursements.c.principal_fen,
    _disbursements.c.base_fen,
    _disbursements.c.upfront_interest_fen,
    _disbursements.c.presumed,
)
_BY_ID = _PAYMENT.where(_disbursements.c.id == bindparam("b_id"))
_BY_REQUESTS = _PAYMENT.where(
    _disbursements.c.request_id.in_(bindparam("b_requests", expanding=True))
)
_SET_RESULT = (
    update(_disbursements)
    .where(_disbursements.c.id == bindparam("b_id"))
    .values(
        state=bindparam("state"),
        bank_code=bindparam("bank_code"),
        reason=bindparam("reason"),
        bank_reference=bindparam("bank_reference"),
        presumed=bindparam("presumed"),
        updated_at=bindparam("updated_at"),
    )
)


@dataclass(slots=True)
class _Filed:
    """A registration as this unit of work sees it."""

    number: str
    state: RegistrationState
    row: dict[str, Any] | None = None
    """Its INSERT, when it was filed in this unit of work (still queued)."""


class SqlRegistrationRepository:
    """Registrations, written behind: `flush` inserts the unit of work's in one statement and
    writes its cancellations in another. Each moves as the §4.4 machine (REGISTRATION) allows:
    filed and confirmed (DRAFT -> REGISTERED), cancelled (-> CANCELLED), every move recorded in
    the lifecycle log with the message that caused it. A batch's registrations are read in one
    query the first time one is needed (`expect` names the batch)."""

    def __init__(self, session: AsyncSession, clock: Clock, lifecycles: LifecycleLog) -> None:
        self._session = session
        self._clock = clock
        self._lifecycles = lifecycles
        self._known: dict[str, _Filed | None] = {}
        self._expected: set[str] = set()
        self._new: list[dict[str, Any]] = []
        self._queued: list[_Filed] = []
        self._cancelled: list[dict[str, Any]] = []

    def expect(self, request_ids: Iterable[str]) -> None:
        """The requests this unit of work will handle: their registrations load together."""
        self._expected.update(request_ids)

    async def add(self, registration: Registration) -> None:
        """Record the registration (filed and confirmed by the registry); recording the same
        registration again changes nothing (filed again after a review, the registry answers
        with the same one)."""
        request_id = registration.request_id
        filed = await self._filed(request_id)
        if filed is not None and filed.number == registration.registration_no:
            return
        state = _G.DRAFT if filed is None else filed.state
        try:
            target = _FILED_FROM_DRAFT if state is _G.DRAFT else _file(state)
        except TransitionRefused as refused:
            self._lifecycles.refused(Entity.REGISTRATION, request_id, refused)
            raise
        row = {
            "request_id": request_id,
            "registration_no": registration.registration_no,
            "modification_code": registration.modification_code,
            "registered_at": registration.registered_at,
            "state": target.value,
            "cancelled_at": None,
        }
        self._new.append(row)
        self._known[request_id] = filed = _Filed(registration.registration_no, target, row)
        self._queued.append(filed)
        self._lifecycles.record(
            Entity.REGISTRATION,
            request_id,
            state.value,
            target.value,
            _FILED,
            note=f"登记证明编号 {registration.registration_no}",
        )

    async def cancel(
        self, request_id: str, *, note: str | None = None, at: datetime | None = None
    ) -> None:
        """Record that the registry cancelled the request's registration (注销登记); cancelling
        again changes nothing, cancelling what was never filed is refused."""
        filed = await self._filed(request_id)
        state = _G.DRAFT if filed is None else filed.state
        if state is _G.CANCELLED:
            return
        try:
            target = REGISTRATION.next_state(state, _E.CANCEL, _FACTS)
        except TransitionRefused as refused:
            self._lifecycles.refused(Entity.REGISTRATION, request_id, refused)
            raise
        assert filed is not None  # a DRAFT (nothing filed) refuses `cancel`
        when = at or self._clock()
        if filed.row is not None:  # filed in this unit of work: insert it cancelled
            filed.row.update(state=target.value, cancelled_at=when)
        else:
            self._cancelled.append(
                {"b_request": request_id, "state": target.value, "cancelled_at": when}
            )
        filed.state = target
        self._lifecycles.record(
            Entity.REGISTRATION,
            request_id,
            state.value,
            target.value,
            _E.CANCEL.value,
            note=note,
            at=when,
        )

    async def flush(self) -> None:
        new, self._new = self._new, []
        cancelled, self._cancelled = self._cancelled, []
        for filed in self._queued:  # inserted now: a later cancellation updates the row
            filed.row = None
        self._queued.clear()
        if new:
            await execute_many(
                self._session, insert_ignoring_duplicates(self._session, _registrations), new
            )
        if cancelled:
            await execute_many(self._session, _CANCEL, cancelled)

    def forget(self) -> None:
        self._known.clear()
        self._expected.clear()
        self._new.clear()
        self._queued.clear()
        self._cancelled.clear()

    async def _filed(self, request_id: str) -> _Filed | None:
        if request_id not in self._known:
            wanted = sorted((self._expected | {request_id}) - self._known.keys())
            self._expected.clear()
            found = {
                row.request_id: _Filed(row.registration_no, _STATES[row.state])
                for row in await self._session.execute(_GET_REGISTRATIONS, {"b_requests": wanted})
            }
            for wanted_id in wanted:
                self._known[wanted_id] = found.get(wanted_id)
        return self._known[request_id]


@dataclass(slots=True)
class _Payment:
    state: str
    bank_code: str | None
    payout: Payout
    presumed: bool = False


class SqlDisbursementRepository:
    """Disbursements, written behind; a batch's rows are read in one query when first needed."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self._known: dict[str, _Payment] = {}
        self._expected: set[str] = set()
        self._new: list[dict[str, Any]] = []
        self._results: list[dict[str, Any]] = []

    def expect(self, request_ids: Iterable[str]) -> None:
        """The requests this unit of work will handle: their disbursements load together."""
        self._expected.update(request_ids)

    async def add(self, instruction: DisbursementInstruction) -> None:
        """Persist the instruction; adding the same instruction again changes nothing."""
        now = self._clock()
        self._new.append(
            {
                "id": instruction.id,
                "request_id": instruction.request_id,
                "message_id": instruction.message_id,
                "amount_fen": to_fen(instruction.amount),
                "currency": instruction.amount.currency,
                "state": PaymentStatus.PENDING.value,
                "bank_code": None,
                "reason": None,
                "bank_reference": None,
                "instruction": instruction.model_dump_json(),
                "created_at": now,
                "updated_at": now,
                "principal_fen": _fen(instruction.principal),
                "base_fen": _fen(instruction.eligible_base),
                "upfront_interest_fen": _fen(instruction.upfront_interest),
                "presumed": False,
            }
        )
        payout = Payout(
            amount=instruction.amount,
            principal=instruction.principal or instruction.amount,
            eligible_base=instruction.eligible_base,
            upfront_interest=instruction.upfront_interest,
        )
        self._known.setdefault(
            instruction.id, _Payment(PaymentStatus.PENDING.value, None, payout)
        )

    async def record_result(self, result: PaymentResult) -> Payout | None:
        """A final verdict is final, but for a presumed success (e-CNY PR03): its confirmation
        is recorded (nothing for the flow to do), its correction to a failure is recorded and
        returned marked `corrects_presumed`, for the flow to undo the settlement."""
        payment = await self._payment(result.instruction_id)
        if payment is None:
            raise LookupError(f"no disbursement {result.instruction_id}")
        presumed_paid = payment.state == _SETTLED and payment.presumed
        if payment.state in _FINAL and not presumed_paid:
            return None
        if payment.state == result.status.value and payment.bank_code == result.bank_code:
            return None
        if presumed_paid and result.status is PaymentStatus.PENDING:
            return None  # older news than the presumed settlement
        self._record(payment, result)
        if not presumed_paid:
            return payment.payout
        if result.status is PaymentStatus.SETTLED:
            return None  # confirmed: the flow already booked it
        return replace(payment.payout, corrects_presumed=True)

    def _record(self, payment: _Payment, result: PaymentResult) -> None:
        payment.state, payment.bank_code = result.status.value, result.bank_code
        payment.presumed = result.presumed
        self._results.append(
            {
                "b_id": result.instruction_id,
                "state": result.status.value,
                "bank_code": result.bank_code,
                "reason": result.reason[:140] or None,
                "bank_reference": result.bank_reference[:64] or None,
                "presumed": result.presumed,
                "updated_at": self._clock(),
            }
        )

    async def flush(self) -> None:
        new, self._new = self._new, []
        results, self._results = self._results, []
        if new:
            await execute_many(
                self._session, insert_ignoring_duplicates(self._session, _disbursements), new
            )
        if results:
            await execute_many(self._session, _SET_RESULT, results)

    def forget(self) -> None:
        self._known.clear()
        self._new.clear()
        self._results.clear()

    async def _payment(self, instruction_id: str) -> _Payment | None:
        if instruction_id not in self._known and self._expected:
            requests, self._expected = sorted(self._expected), set()
            self._remember(await self._session.execute(_BY_REQUESTS, {"b_requests": requests}))
        if instruction_id not in self._known:
            self._remember(await self._session.execute(_BY_ID, {"b_id": instruction_id}))
        return self._known.get(instruction_id)

    def _remember(self, rows: Any) -> None:
        for row in rows:
            amount = from_fen(row.amount_fen, row.currency)
            payout = Payout(
                amount=amount,
                principal=_money(row.principal_fen, row.currency) or amount,
                eligible_base=_money(row.base_fen, row.currency),
                upfront_interest=_money(row.upfront_interest_fen, row.currency),
            )
            presumed = bool(row.presumed)
            self._known.setdefault(row.id, _Payment(row.state, row.bank_code, payout, presumed))


def _fen(money: Money | None) -> int | None:
    return None if money is None else to_fen(money)


def _money(fen: int | None, currency: str) -> Money | None:
    return None if fen is None else from_fen(fen, currency)
