"""Compensation: a step that fails for good undoes what the steps before it did.

When a message is dead-lettered with a permanent error, its route's `compensate` runs in the
same transaction: the limit held for the application is released and the application ends
REJECTED with a reason naming the step, instead of waiting forever in a middle state. Our own
中登网 registration, if one was filed, is cancelled at the registry by the daily job
(`factorhub jobs daily`, hub/deregistration.py), outside any transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from canonical import FinancingState, Message
from routes.outcomes import reject
from routes.ports import UnitOfWork
from routes.registry import CompensateStep, Services

__all__ = ["abandon"]

_OPEN = frozenset(s for s in FinancingState if not s.terminal)


def abandon(step: str, reason: str) -> CompensateStep:
    """Release the application's limit and reject it with `reason` (if it is still open)."""

    async def compensate(
        msg: Message, uow: UnitOfWork, services: Services, why: str
    ) -> Sequence[Message]:
        request_id = msg.request_id
        current = await uow.requests.state_of(request_id)
        if current is None or current[0].terminal:
            return []
        await uow.facilities.release(request_id)
        detail = f"{step} failed for good: {why}"[:500]
        return await reject(uow, request_id, reason, detail, step=step, allowed_from=_OPEN)

    return compensate
