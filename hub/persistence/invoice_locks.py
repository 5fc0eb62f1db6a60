"""Duplicate-financing control: one application per tax invoice, across tenants and ERPs."""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import FinancingState
from hub.persistence.sql import execute_many, insert_ignoring_duplicates
from hub.persistence.tables import InvoiceLockRow, RequestRow, table_of
from routes.ports import Clock

__all__ = ["SqlInvoiceLocks", "invoice_fingerprint"]

_locks = table_of(InvoiceLockRow)
_requests = table_of(RequestRow)
_OWNER = (
    select(_locks.c.request_id, _requests.c.state)
    .outerjoin(_requests, _requests.c.id == _locks.c.request_id)
    .where(_locks.c.fingerprint == bindparam("b_fingerprint"))
)
_TAKE_OVER = (
    update(_locks)
    .where(_locks.c.fingerprint == bindparam("b_fingerprint"))
    .where(_locks.c.request_id == bindparam("b_owner"))
    .values(request_id=bindparam("request_id"), locked_at=bindparam("locked_at"))
)


def invoice_fingerprint(invoice_key: str) -> str:
    """SM3 of the tax identity (legacy code + number, or the 20-digit 数电 number)."""
    return hashlib.new("sm3", f"invoice:{invoice_key}".encode()).hexdigest()


class SqlInvoiceLocks:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def claim(self, invoice_key: str, request_id: str) -> str:
        """The request holding the invoice after this call: `request_id` when it was free, held
        by it already, or held by an application that was since rejected (taken over)."""
        fingerprint = invoice_fingerprint(invoice_key)
        row = {
            "fingerprint": fingerprint,
            "request_id": request_id,
            "invoice_key": invoice_key,
            "locked_at": self._clock(),
        }
        # On PostgreSQL a concurrent claim waits here for the other transaction, then sees its row.
        await execute_many(self._session, insert_ignoring_duplicates(self._session, _locks), [row])
        owner, state = (await self._session.execute(_OWNER, {"b_fingerprint": fingerprint})).one()
        if owner == request_id or state != FinancingState.REJECTED.value:
            return str(owner)
        taken = await execute_many(
            self._session,
            _TAKE_OVER,
            [{"b_fingerprint": fingerprint, "b_owner": owner, **row}],
        )
        return request_id if taken != 0 else str(owner)
