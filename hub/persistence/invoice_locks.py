"""Duplicate-financing control: one application per tax invoice, across tenants and ERPs.

Like the other repositories it works per batch: `expect` reads, in one query, who holds the
invoices of the batch's requests; claims are decided in memory and the new locks written by
`flush` as one INSERT. A concurrent unit of work that locked the same invoice first makes that
INSERT fail on the primary key; the consumer then re-applies its batch message by message and
the claim, reading the lock afresh, is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import FinancingState
from hub.persistence.sql import execute_many
from hub.persistence.tables import InvoiceLockRow, RequestRow, table_of
from routes.ports import Clock

__all__ = ["SqlInvoiceLocks", "invoice_fingerprint"]

_locks = table_of(InvoiceLockRow)
_requests = table_of(RequestRow)
_holders = _requests.alias("holders")
_claimants = _requests.alias("claimants")
_HELD_FOR_REQUESTS = (
    select(_claimants.c.invoice_key, _locks.c.request_id, _holders.c.state)
    .select_from(_claimants)
    .outerjoin(_locks, _locks.c.invoice_key == _claimants.c.invoice_key)
    .outerjoin(_holders, _holders.c.id == _locks.c.request_id)
    .where(_claimants.c.id.in_(bindparam("b_ids", expanding=True)))
)
_HELD = (
    select(_locks.c.invoice_key, _locks.c.request_id, _holders.c.state)
    .outerjoin(_holders, _holders.c.id == _locks.c.request_id)
    .where(_locks.c.invoice_key == bindparam("b_key"))
)
_INSERT = insert(_locks)
_TAKE_OVER = (
    update(_locks)
    .where(_locks.c.fingerprint == bindparam("b_fingerprint"))
    .where(_locks.c.request_id == bindparam("b_holder"))
    .values(request_id=bindparam("request_id"), locked_at=bindparam("locked_at"))
)


def invoice_fingerprint(invoice_key: str) -> str:
    """SM3 of the tax identity (legacy code + number, or the 20-digit 数电 number)."""
    return hashlib.new("sm3", f"invoice:{invoice_key}".encode()).hexdigest()


class SqlInvoiceLocks:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self._holders: dict[str, tuple[str, str | None] | None] = {}
        """invoice key -> (holding request, its state), or None when free, as this unit of
        work knows it."""
        self._new: list[dict[str, Any]] = []
        self._taken: list[dict[str, Any]] = []
        self._expected: set[str] = set()

    def expect(self, request_ids: Iterable[str]) -> None:
        """The batch's requests: the first claim reads who holds all their invoices at once."""
        self._expected.update(request_ids)

    async def claim(self, invoice_key: str, request_id: str) -> str:
        """The request holding the invoice after this call: `request_id` when it was free, held
        by it already, or held by an application that was since rejected (taken over)."""
        if self._expected:
            ids, self._expected = sorted(self._expected), set()
            for key, holder, state in await self._session.execute(
                _HELD_FOR_REQUESTS, {"b_ids": ids}
            ):
                self._holders.setdefault(key, None if holder is None else (holder, state))
        if invoice_key not in self._holders:
            row = (await self._session.execute(_HELD, {"b_key": invoice_key})).one_or_none()
            self._holders[invoice_key] = None if row is None else (row.request_id, row.state)
        held = self._holders[invoice_key]
        lock = {
            "fingerprint": invoice_fingerprint(invoice_key),
            "request_id": request_id,
            "invoice_key": invoice_key,
            "locked_at": self._clock(),
        }
        if held is None:
            self._new.append(lock)
        elif held[0] != request_id:
            if held[1] != FinancingState.REJECTED.value:
                return held[0]
            self._taken.append({"b_fingerprint": lock["fingerprint"], "b_holder": held[0], **lock})
        self._holders[invoice_key] = (request_id, None)
        return request_id

    async def flush(self) -> None:
        new, self._new = self._new, []
        taken, self._taken = self._taken, []
        if new:
            await execute_many(self._session, _INSERT, new)
        if taken:
            changed = await execute_many(self._session, _TAKE_OVER, taken)
            if changed not in (-1, len(taken)):  # another unit took one over first
                raise RuntimeError("an invoice lock changed hands concurrently; retry")

    def forget(self) -> None:
        self._expected.clear()
        self._holders.clear()
        self._new.clear()
        self._taken.clear()
