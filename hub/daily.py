"""`factorhub jobs daily --as-of DATE`: the overdue review of every outstanding loan.

Pages through the loans still owed money, one transaction per page: each loan is reviewed
by `routes.repayment.review_loan` (OVERDUE past the penalty grace window, non-performing past
90 days, early warnings), and the warnings go to the outbox in the same transaction, so the
relay publishes them on `risk.early-warning` for any system that subscribes. Running the job
twice for the same day changes nothing the second time: each warning level is announced once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from canonical import EarlyWarning, Envelope, FinancingState
from hub.persistence.requests import Cause
from hub.persistence.tables import RequestRow, table_of
from hub.persistence.uow import UnitOfWorkFactory
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


async def run_daily(units: UnitOfWorkFactory, as_of: date, *, page: int = 500) -> DailyReport:
    report = DailyReport(as_of)
    after = ""
    while True:
        async with units() as uow:
            ids = await uow.loans.outstanding_ids(after=after, limit=page)
            if not ids:
                return report
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
