"""Payment status reports the bank sends on its own (asynchronous pain.002 callbacks).

Each result about one of our instructions becomes a `PaymentReported` message in the outbox,
committed before the bank is answered, and the `apply-payment-result` route applies it exactly
as it applies the answer to our own submission: a duplicate, a late or an out-of-order report
changes nothing (the disbursement's state only moves forward). A report the bank sends about a
whole payment file rejected without transaction details names every instruction of that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import Envelope, PaymentReported, PaymentResult, PaymentStatus
from hub.persistence.tables import DisbursementRow, RequestRow, table_of
from hub.persistence.uow import UnitOfWorkFactory
from mappings.pain002 import Pain002Report, pain002_to_canonical

__all__ = ["ReportOutcome", "accept_status_report"]

_disbursements = table_of(DisbursementRow)
_requests = table_of(RequestRow)
_JOINED = select(
    _disbursements.c.id,
    _disbursements.c.request_id,
    _requests.c.tenant,
    _requests.c.seller_uscc,
).join(_requests, _requests.c.id == _disbursements.c.request_id)


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    reported: int
    """Results handed to the flow (each applied once, whatever repeats later)."""
    unknown: tuple[str, ...]
    """Instruction ids the report names that are not ours."""


async def accept_status_report(
    units: UnitOfWorkFactory, raw: bytes, *, now: datetime
) -> ReportOutcome:
    """Map the pain.002 (MappingError on bad input: nothing stored), then queue its results."""
    report = pain002_to_canonical(raw, reported_at=now)
    async with units() as uow:
        results = list(report.results) or await _whole_file(uow.session, report, now)
        ids = [r.instruction_id for r in results]
        rows = {
            row.id: row
            for row in await uow.session.execute(_JOINED.where(_disbursements.c.id.in_(ids)))
        }
        outgoing = []
        for result in results:
            row = rows.get(result.instruction_id)
            if row is None:
                continue
            message = PaymentReported(request_id=row.request_id, result=result)
            envelope = Envelope(
                correlation_id=row.request_id,
                tenant=row.tenant,
                source_system="bank",
                type=type(message).__name__,
                key=row.seller_uscc,
                body=message.model_dump(mode="json"),
            ).carrying(message)
            outgoing.append((message.topic, envelope))
        await uow.outbox.add_many(outgoing)
        await uow.commit()
    unknown = tuple(i for i in ids if i not in rows)
    return ReportOutcome(reported=len(outgoing), unknown=unknown)


async def _whole_file(
    session: AsyncSession, report: Pain002Report, now: datetime
) -> list[PaymentResult]:
    """A file rejected as a whole: every instruction it carried is rejected. (Found by the
    instruction's own message id: a file of one. A multi-instruction file's id is not kept.)"""
    if not report.rejected_as_a_whole:
        return []
    rows = await session.execute(
        select(_disbursements.c.id).where(_disbursements.c.message_id == report.original_message_id)
    )
    return [
        PaymentResult(
            instruction_id=row.id,
            status=PaymentStatus.REJECTED,
            bank_code="RJCT",
            reason="; ".join(report.group_reasons)[:200],
            reported_at=now,
        )
        for row in rows
    ]
