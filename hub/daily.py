"""`factorhub jobs daily --as-of DATE`: the overdue review of every outstanding loan, and the
cancellation of settled financings' registrations (`hub/deregistration.py`).

Pages through the loans still owed money, one transaction per page: each loan is reviewed
by `routes.repayment.review_loan` (OVERDUE past the penalty grace window, non-performing past
90 days, early warnings), and the warnings go to the outbox in the same transaction, so the
relay publishes them on `risk.early-warning` for any system that subscribes. Running the job
twice for the same day changes nothing the second time: each warning level is announced once.

It also fires every timer due on or before that day (China time; `hub/timekeeping.py`), such
as the next-day 查验 retries, so a deployment run in batches needs no timekeeper running; a
timer fires once, whoever fires it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select

from canonical import EarlyWarning, Envelope, FinancingState
from hub.deregistration import Deregistration, cancel_settled
from hub.persistence.requests import Cause
from hub.persistence.tables import RequestRow, table_of
from hub.persistence.uow import UnitOfWorkFactory
from hub.timekeeping import end_of_day, fire_due
from routes.ports import RegistryGateway
from routes.repayment import review_loan

__all__ = ["DailyReport", "run_daily"]

_requests = table_of(RequestRow)


@dataclass(slots=True)
class DailyReport:
    as_of: date
    reviewed: int = 0
    became_overdue: list[str] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    warned: list[tuple[str, str, int]] = field(default_factory=list)
    """(request id, level, days past due) of every warning announced."""
    timers_fired: int = 0
    """Timers due on or before the day, moved to the outbox by this run."""
    deregistration: Deregistration = field(default_factory=Deregistration)
    """Registrations of settled financings cancelled at 中登网 (or still pending)."""


async def run_daily(
    units: UnitOfWorkFactory,
    as_of: date,
    *,
    registry: RegistryGateway | None = None,
    now: datetime | None = None,
    page: int = 500,
) -> DailyReport:
    """`registry`: where settled financings' registrations are cancelled (None: not now)."""
    report = DailyReport(as_of)
    report.timers_fired = await fire_due(units, due_by=end_of_day(as_of))
    await _review_loans(units, as_of, report, page)
    if registry is not None:
        report.deregistration = await cancel_settled(
            units, registry, as_of, now=now or datetime.now(UTC)
        )
    return report


async def _review_loans(
    units: UnitOfWorkFactory, as_of: date, report: DailyReport, page: int
) -> None:
    after = ""
    while True:
        async with units() as uow:
            ids = await uow.loans.outstanding_ids(after=after, limit=page)
            if not ids:
                return
            after = ids[-1]
            query = select(_requests.c.id, _requests.c.tenant).where(_requests.c.id.in_(ids))
            tenants = {row.id: row.tenant for row in await uow.session.execute(query)}
            await uow.requests.preload(ids)
            uow.requests.cause = Cause(message_type=f"jobs daily --as-of {as_of}")
            outgoing = []
            for request_id in ids:
                loan = await uow.loans.get(request_id)
                if loan is None:  # pragma: no cover - listed a moment ago in this transaction
                    continue
                report.reviewed += 1
                for message in await review_loan(loan, as_of, uow):
                    assert isinstance(message, EarlyWarning)
                    report.warnings[message.level] += 1
                    report.warned.append((request_id, message.level, message.days_past_due))
                    outgoing.append(
                        (
                            message.topic,
                            Envelope(
                                correlation_id=request_id,
                                tenant=tenants[request_id],
                                source_system="factorhub",
                                type=type(message).__name__,
                                key=loan.seller_uscc,
                                body=message.model_dump(mode="json"),
                            ).carrying(message),
                        )
                    )
                state = await uow.requests.state_of(request_id)
                overdue = state is not None and state[0] is FinancingState.OVERDUE
                if overdue and loan.state is not FinancingState.OVERDUE:
                    report.became_overdue.append(request_id)
            await uow.outbox.add_many(outgoing)
            await uow.commit()
