"""A presumed outcome (e-CNY PR03 推定成功) is booked, but stays open to the operator's
correction: a later failure undoes it once, a later success only confirms it, and a final
outcome that was never presumed stays final."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from canonical import PaymentResult, PaymentStatus
from hub.persistence import Database, UnitOfWorkFactory
from tests.builders import NOW, instruction


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


def _result(status: PaymentStatus, code: str, *, presumed: bool = False) -> PaymentResult:
    return PaymentResult(
        instruction_id=PAID.id,
        status=status,
        bank_code=code,
        reported_at=NOW + timedelta(minutes=1),
        presumed=presumed,
    )


PAID = instruction(1, "361600.00")
PRESUMED = _result(PaymentStatus.SETTLED, "PR03", presumed=True)
CORRECTED = _result(PaymentStatus.REJECTED, "PR01")
CONFIRMED = _result(PaymentStatus.SETTLED, "PR00")


async def _apply(units: UnitOfWorkFactory, *results: PaymentResult) -> list[object]:
    """Each result in its own unit of work (as the route applies them), read back fresh."""
    async with units() as uow:
        await uow.disbursements.add(PAID)
        await uow.commit()
    answers: list[object] = []
    for result in results:
        async with units() as uow:
            answers.append(await uow.disbursements.record_result(result))
            await uow.commit()
    return answers


async def test_a_presumed_success_corrected_to_a_failure_is_handed_back_once(units):
    booked, corrected, again = await _apply(units, PRESUMED, CORRECTED, CORRECTED)
    assert booked is not None
    assert not booked.corrects_presumed  # type: ignore[attr-defined]
    assert corrected is not None
    assert corrected.corrects_presumed  # type: ignore[attr-defined]
    assert corrected.principal == PAID.amount  # type: ignore[attr-defined]
    assert again is None  # the correction is final


async def test_a_presumed_success_confirmed_changes_nothing_in_the_flow(units):
    booked, confirmed, late_failure = await _apply(units, PRESUMED, CONFIRMED, CORRECTED)
    assert booked is not None
    assert confirmed is None  # recorded, nothing to do
    assert late_failure is None  # confirmed: no longer presumed, so final


async def test_a_settlement_never_presumed_is_final(units):
    booked, failure = await _apply(units, _result(PaymentStatus.SETTLED, "PR00"), CORRECTED)
    assert booked is not None
    assert failure is None
