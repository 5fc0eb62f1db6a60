"""In-memory stand-ins for the unit of work's request and invoice-lock repositories, for route
tests that drive `match_documents` without a database."""

from __future__ import annotations

from typing import Any

from canonical import FinancingState

__all__ = ["FakeLocks", "FakeRequests", "FakeUow"]


class FakeRequests:
    """One application's state, and every move made, as (target, reason, note)."""

    def __init__(self, state: FinancingState = FinancingState.SUBMITTED) -> None:
        self.state = state
        self.moves: list[tuple[FinancingState, str | None, str | None]] = []

    async def state_of(self, request_id: str) -> tuple[FinancingState, str | None]:
        return self.state, None

    async def transition(
        self, request_id: str, target: FinancingState, *, allowed_from: Any, reason=None, note=None
    ) -> None:
        assert self.state in allowed_from
        self.state = target
        self.moves.append((target, reason, note))


class FakeLocks:
    """The first application to claim an invoice holds it."""

    def __init__(self) -> None:
        self.holder: dict[str, str] = {}

    async def claim(self, invoice_key: str, request_id: str, **_: Any) -> str:
        return self.holder.setdefault(invoice_key, request_id)


class FakeUow:
    def __init__(self) -> None:
        self.requests = FakeRequests()
        self.invoice_locks = FakeLocks()
