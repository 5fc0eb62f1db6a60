"""Registrations and disbursements: the records of what we asked partners to do."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import DisbursementInstruction, PaymentResult, PaymentStatus, Registration
from hub.persistence.money import to_fen
from hub.persistence.tables import DisbursementRow, RegistrationRow
from routes.ports import Clock

__all__ = ["SqlDisbursementRepository", "SqlRegistrationRepository"]

_FINAL = frozenset({PaymentStatus.SETTLED.value, PaymentStatus.REJECTED.value})


class SqlRegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, registration: Registration) -> None:
        if await self._session.get(RegistrationRow, registration.request_id) is not None:
            return
        await self._session.execute(
            insert(RegistrationRow).values(
                request_id=registration.request_id,
                registration_no=registration.registration_no,
                modification_code=registration.modification_code,
                registered_at=registration.registered_at,
            )
        )


class SqlDisbursementRepository:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(self, instruction: DisbursementInstruction) -> None:
        if await self._session.get(DisbursementRow, instruction.id) is not None:
            return
        now = self._clock()
        await self._session.execute(
            insert(DisbursementRow).values(
                id=instruction.id,
                request_id=instruction.request_id,
                message_id=instruction.message_id,
                amount_fen=to_fen(instruction.amount),
                currency=instruction.amount.currency,
                state=PaymentStatus.PENDING.value,
                instruction=instruction.model_dump_json(),
                created_at=now,
                updated_at=now,
            )
        )

    async def get(self, instruction_id: str) -> DisbursementInstruction:
        payload = await self._session.scalar(
            select(DisbursementRow.instruction).where(DisbursementRow.id == instruction_id)
        )
        if payload is None:
            raise LookupError(f"no disbursement {instruction_id}")
        return DisbursementInstruction.model_validate_json(payload)

    async def record_result(self, result: PaymentResult) -> bool:
        row = (
            await self._session.execute(
                select(DisbursementRow.state, DisbursementRow.bank_code).where(
                    DisbursementRow.id == result.instruction_id
                )
            )
        ).one_or_none()
        if row is None:
            raise LookupError(f"no disbursement {result.instruction_id}")
        if row.state in _FINAL or (
            row.state == result.status.value and row.bank_code == result.bank_code
        ):
            return False
        await self._session.execute(
            update(DisbursementRow)
            .where(DisbursementRow.id == result.instruction_id)
            .values(
                state=result.status.value,
                bank_code=result.bank_code,
                reason=result.reason[:140] or None,
                bank_reference=result.bank_reference[:64] or None,
                updated_at=self._clock(),
            )
        )
        return True
