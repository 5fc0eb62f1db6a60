"""Cancelling our 中登网 registrations once the financing is over (注销登记, §1.7 step 5).

A registration left standing after settlement still tells every later searcher that we hold the
receivable, so the seller cannot finance it elsewhere: the factor must cancel it, no later than
T + 10 working days after settlement. The same holds for an application that ended REJECTED or
CANCELLED after its registration was filed (the bank refused the payout, a later step failed
for good, an operator upheld another party's blanket registration): compensation undoes the
registration too. The daily job does it: every such application whose registration is not
cancelled yet is cancelled at the registry (outside any transaction; a
cancellation the registry already has is answered again, so a retry is harmless), then the
registration moved to CANCELLED (§4.4, recorded in its lifecycle) and a note added to the
application's history, in one transaction per page. A cancellation the registry
refuses or cannot take today stays pending and is tried at the next run; one still pending
past the deadline is listed as late.

Working days are Monday to Friday: the PRC holiday calendar (and its make-up working weekends)
is not modelled, so the deadline is at most a few days generous around public holidays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from canonical import FinancingState, Registration
from hub.persistence.requests import Cause
from hub.persistence.tables import RegistrationRow, RequestRow, table_of
from hub.persistence.uow import UnitOfWorkFactory
from routes.ports import RegistryGateway

__all__ = ["CANCEL_WITHIN_WORKING_DAYS", "Deregistration", "cancel_settled", "working_days_after"]

CANCEL_WITHIN_WORKING_DAYS = 10
"""§1.7: cancel no later than T + 10 working days after settlement."""

_CHINA = ZoneInfo("Asia/Shanghai")
_OVER = (FinancingState.SETTLED, FinancingState.REJECTED, FinancingState.CANCELLED)
_registrations = table_of(RegistrationRow)
_requests = table_of(RequestRow)
_PENDING = (
    select(
        _registrations.c.request_id,
        _registrations.c.registration_no,
        _registrations.c.modification_code,
        _registrations.c.registered_at,
        _requests.c.state,
        _requests.c.updated_at.label("ended_at"),
    )
    .join(_requests, _requests.c.id == _registrations.c.request_id)
    .where(
        _requests.c.state.in_([state.value for state in _OVER]),
        _registrations.c.cancelled_at.is_(None),
        _registrations.c.request_id > bindparam("b_after"),
    )
    .order_by(_registrations.c.request_id)
    .limit(bindparam("b_limit"))
)


@dataclass(slots=True)
class Deregistration:
    """What one run cancelled, could not cancel, and what is past its deadline."""

    cancelled: list[str] = field(default_factory=list)
    """Request ids whose registration the registry cancelled in this run."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(request id, why) of cancellations to try again at the next run."""
    late: list[str] = field(default_factory=list)
    """Request ids still registered past T + 10 working days after the application ended."""


def working_days_after(day: date, count: int) -> date:
    """The `count`-th working day (Monday-Friday) after `day`."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


async def cancel_settled(
    units: UnitOfWorkFactory,
    registry: RegistryGateway,
    as_of: date,
    *,
    now: datetime,
    page: int = 200,
) -> Deregistration:
    """Cancel the registration of every application settled, rejected or cancelled whose
    registration is not cancelled yet (see the module)."""
    outcome = Deregistration()
    after = ""
    while True:
        async with units() as uow:
            rows = list(await uow.session.execute(_PENDING, {"b_after": after, "b_limit": page}))
        if not rows:
            return outcome
        after = rows[-1].request_id
        registrations = [
            Registration(
                request_id=row.request_id,
                registration_no=row.registration_no,
                modification_code=row.modification_code,
                registered_at=row.registered_at,
            )
            for row in rows
        ]
        errors = await registry.cancel_many(registrations)
        await _record(units, rows, errors, now, as_of, outcome)


async def _record(
    units: UnitOfWorkFactory,
    rows: Sequence[Any],
    errors: Sequence[Exception | None],
    now: datetime,
    as_of: date,
    outcome: Deregistration,
) -> None:
    async with units() as uow:
        uow.requests.cause = Cause(message_type=f"jobs daily --as-of {as_of}")
        await uow.requests.preload([row.request_id for row in rows])
        uow.registrations.expect(row.request_id for row in rows)
        for row, error in zip(rows, errors, strict=True):
            request_id: str = row.request_id
            number: str = row.registration_no
            if error is None:
                state = FinancingState(row.state)
                why = (
                    "the financing is settled"
                    if state is FinancingState.SETTLED
                    else (f"the application ended {state.value}")
                )
                note = f"中登网 注销登记 of 登记证明编号 {number}: {why}"
                await uow.registrations.cancel(request_id, note=note, at=now)
                await uow.requests.transition(
                    request_id, state, allowed_from=frozenset({state}), note=note
                )
                outcome.cancelled.append(request_id)
                continue
            outcome.failed.append((request_id, f"{type(error).__name__}: {error}"[:300]))
            ended_at: datetime = row.ended_at
            ended_on = ended_at.astimezone(_CHINA).date()
            if as_of > working_days_after(ended_on, CANCEL_WITHIN_WORKING_DAYS):
                outcome.late.append(request_id)
        await uow.commit()
