"""Registrations and disbursements: the records of what we asked partners to do."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import DisbursementInstruction, Money, PaymentResult, PaymentStatus, Registration
from hub.persistence.money import from_fen, to_fen
from hub.persistence.sql import insert_ignoring_duplicates
from hub.persistence.tables import DisbursementRow, RegistrationRow, table_of
from routes.ports import Clock

__all__ = ["SqlDisbursementRepository", "SqlRegistrationRepository"]

_FINAL = frozenset({PaymentStatus.SETTLED.value, PaymentStatus.REJECTED.value})

_registrations = table_of(RegistrationRow)
_disbursements = table_of(DisbursementRow)

_GET_STATE = select(
    _disbursements.c.state,
    _disbursements.c.bank_code,
    _disbursements.c.amount_fen,
    _disbursements.c.currency,
).where(_disbursements.c.id == bindparam("b_id"))
_SET_RESULT = (
    update(_disbursements)
    .where(_disbursements.c.id == bindparam("b_id"))
    .values(
        state=bindparam("state"),
        bank_code=bindparam("bank_code"),
        reason=bindparam("reason"),
        bank_reference=bindparam("bank_reference"),
        updated_at=bindparam("updated_at"),
    )
)


class SqlRegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, registration: Registration) -> None:
        """Record the registration; recording the same request's again changes nothing."""
        await self._session.execute(
            insert_ignoring_duplicates(self._session, _registrations),
            {
                "request_id": registration.request_id,
                "registration_no": registration.registration_no,
                "modification_code": registration.modification_code,
                "registered_at": registration.registered_at,
            },
        )


class SqlDisbursementRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(self, instruction: DisbursementInstruction) -> None:
        """Persist the instruction; adding the same instruction again changes nothing."""
        now = self._clock()
        await self._session.execute(
            insert_ignoring_duplicates(self._session, _disbursements),
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
            },
        )

    async def get(self, instruction_id: str) -> DisbursementInstruction:
        payload = await self._session.scalar(
            select(_disbursements.c.instruction).where(_disbursements.c.id == instruction_id)
        )
        if payload is None:
            raise LookupError(f"no disbursement {instruction_id}")
        return DisbursementInstruction.model_validate_json(payload)

    async def record_result(self, result: PaymentResult) -> Money | None:
        row = (
            await self._session.execute(_GET_STATE, {"b_id": result.instruction_id})
        ).one_or_none()
        if row is None:
            raise LookupError(f"no disbursement {result.instruction_id}")
        if row.state in _FINAL or (
            row.state == result.status.value and row.bank_code == result.bank_code
        ):
            return None
        await self._session.execute(
            _SET_RESULT,
            {
                "b_id": result.instruction_id,
                "state": result.status.value,
                "bank_code": result.bank_code,
                "reason": result.reason[:140] or None,
                "bank_reference": result.bank_reference[:64] or None,
                "updated_at": self._clock(),
            },
        )
        return from_fen(row.amount_fen, row.currency)
