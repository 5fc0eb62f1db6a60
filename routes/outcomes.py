"""How a step ends an application it cannot take further: REJECTED with a stable reason, or
waiting in MATCH_REVIEW for an operator. One place, so every rejection is recorded and
announced the same way (the transition with its reason and detail, then `FinancingRejected`)."""

from __future__ import annotations

from canonical import FinancingRejected, FinancingState, Message
from routes.ports import UnitOfWork

__all__ = ["hold_for_review", "reject"]


async def reject(
    uow: UnitOfWork,
    request_id: str,
    reason: str,
    detail: str,
    *,
    step: str,
    allowed_from: frozenset[FinancingState],
) -> list[Message]:
    """End the application REJECTED with `reason`; the message that announces it."""
    await uow.requests.transition(
        request_id,
        FinancingState.REJECTED,
        allowed_from=allowed_from,
        reason=reason,
        note=detail,
    )
    return [FinancingRejected(request_id=request_id, reason=reason, detail=detail, step=step)]


async def hold_for_review(
    uow: UnitOfWork,
    request_id: str,
    reason: str,
    detail: str,
    *,
    allowed_from: frozenset[FinancingState],
) -> list[Message]:
    """Park the application in MATCH_REVIEW with the finding; nothing is announced until an
    operator decides (`factorhub review`)."""
    await uow.requests.transition(
        request_id,
        FinancingState.MATCH_REVIEW,
        allowed_from=allowed_from,
        reason=reason,
        note=detail,
    )
    return []
