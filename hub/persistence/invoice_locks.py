"""Duplicate-financing control: one application per tax invoice, across tenants and ERPs, but
for the same seller's top-ups within the invoice's advance-rate headroom (§2.2, §3.1).

Like the other repositories it works per batch: `expect` reads, in one query, who holds the
invoices of the batch's requests; claims are decided in memory and the new locks written by
`flush` as one INSERT. A concurrent unit of work that locked the same invoice first makes that
INSERT fail on the primary key; the consumer then re-applies its batch message by message and
the claim, reading the lock afresh, is refused.

A top-up (`top_up`) is rare and goes one statement at a time: it locks the invoice's lock row
(FOR UPDATE on PostgreSQL; SQLite has one writer), then reads in one query what every holder of
the invoice holds or owes, and records itself in `invoice_top_ups`; the principal it matched
for is recorded by `hold` in the same transaction. Two top-ups of one invoice are so decided
one after the other, the second seeing the first's share. Taking over the lock of a rejected
holder locks the row the same way and finds the top-ups that still hold the invoice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, func, insert, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import FinancingState, Money
from hub.persistence.money import from_fen, to_fen
from hub.persistence.sql import execute_many
from hub.persistence.tables import (
    InvoiceLockRow,
    InvoiceTopUpRow,
    LoanRow,
    RepaymentRow,
    RequestRow,
    ReservationRow,
    table_of,
)
from routes.lifecycle import LimitReservationState
from routes.ports import Clock, InvoiceFinancing

__all__ = ["FINANCED_STATES", "SqlInvoiceLocks", "invoice_fingerprint"]

FINANCED_STATES = frozenset(
    {
        FinancingState.LIMIT_RESERVED,
        FinancingState.REGISTRY_REVIEW,
        FinancingState.REGISTERED,
        FinancingState.DISBURSING,
        FinancingState.DISBURSED,
        FinancingState.PARTIALLY_REPAID,
        FinancingState.OVERDUE,
    }
)
"""Live financing a top-up may join: limit reserved, registered, paying out, or paid out and
not settled."""

_REJECTED = FinancingState.REJECTED.value
_FINANCED = frozenset(s.value for s in FINANCED_STATES)
_ON_LIMITS = frozenset(
    {
        LimitReservationState.RESERVED.value,
        LimitReservationState.CONSUMED.value,
        LimitReservationState.PARTIALLY_RELEASED.value,
    }
)

_locks = table_of(InvoiceLockRow)
_top_ups = table_of(InvoiceTopUpRow)
_requests = table_of(RequestRow)
_reservations = table_of(ReservationRow)
_loans = table_of(LoanRow)
_repayments = table_of(RepaymentRow)
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
_LOCK_ROW = (
    select(_locks.c.request_id)
    .where(_locks.c.fingerprint == bindparam("b_fingerprint"))
    .with_for_update()  # rendered on PostgreSQL only; SQLite has one writer
)
_LOCK_ROWS = (
    select(_locks.c.fingerprint)
    .where(_locks.c.fingerprint.in_(bindparam("b_fingerprints", expanding=True)))
    .order_by(_locks.c.fingerprint)
    .with_for_update()
)
_TOP_UP_HOLDERS = (
    select(_top_ups.c.request_id, _requests.c.state)
    .join(_requests, _requests.c.id == _top_ups.c.request_id)
    .where(_top_ups.c.fingerprint == bindparam("b_fingerprint"))
    .order_by(_top_ups.c.locked_at, _top_ups.c.request_id)
)
_ids = union(
    select(_locks.c.request_id.label("id")).where(
        _locks.c.fingerprint == bindparam("b_fingerprint")
    ),
    select(_top_ups.c.request_id.label("id")).where(
        _top_ups.c.fingerprint == bindparam("b_fingerprint")
    ),
).subquery("ids")
_debtor_paid = (
    select(func.coalesce(func.sum(_repayments.c.amount_fen), 0))
    .where(_repayments.c.request_id == _requests.c.id, _repayments.c.payer == "debtor")
    .scalar_subquery()
)
_FIGURES = (
    select(
        _requests.c.id,
        _requests.c.tenant,
        _requests.c.seller_uscc,
        _requests.c.state,
        _requests.c.currency,
        _top_ups.c.principal_fen,
        _reservations.c.amount_fen.label("reserved_fen"),
        _reservations.c.state.label("reservation"),
        _loans.c.outstanding_fen,
        _debtor_paid.label("paid_fen"),
    )
    .select_from(
        _ids.join(_requests, _requests.c.id == _ids.c.id)
        .outerjoin(_top_ups, _top_ups.c.request_id == _requests.c.id)
        .outerjoin(_reservations, _reservations.c.request_id == _requests.c.id)
        .outerjoin(_loans, _loans.c.request_id == _requests.c.id)
    )
    .order_by(_requests.c.id)
)
"""Every holder of the invoice (the lock's and the top-ups) with what it holds or owes and
what the debtor repaid on it, in one query."""
_INSERT_TOP_UP = insert(_top_ups)
_HOLD = (
    update(_top_ups)
    .where(_top_ups.c.request_id == bindparam("b_request"))
    .values(principal_fen=bindparam("principal_fen"))
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

    async def _lock_in_order(self, invoice_keys: list[str]) -> None:
        """On PostgreSQL, lock the batch's already-held invoices up front, in fingerprint
        order: a top-up or a takeover later locks its row again (its own lock, no wait), so two
        batches meeting on the same invoices in opposite orders cannot deadlock. The usual
        batch, whose invoices are all new, holds none and costs no statement."""
        if not invoice_keys or self._session.get_bind().dialect.name != "postgresql":
            return
        fingerprints = sorted({invoice_fingerprint(key) for key in invoice_keys})
        await self._session.execute(_LOCK_ROWS, {"b_fingerprints": fingerprints})

    def expect(self, request_ids: Iterable[str]) -> None:
        """The batch's requests: the first claim reads who holds all their invoices at once."""
        self._expected.update(request_ids)

    async def claim(self, invoice_key: str, request_id: str) -> str:
        """The request holding the invoice after this call: `request_id` when it was free, held
        by it already, or held by an application that was since rejected (taken over) and by
        no top-up that is not; else the lock's holder, or while that one is rejected, a top-up
        of it that is not (another than `request_id`)."""
        if self._expected:
            ids, self._expected = sorted(self._expected), set()
            held_keys: list[str] = []
            for key, holder, state in await self._session.execute(
                _HELD_FOR_REQUESTS, {"b_ids": ids}
            ):
                self._holders.setdefault(key, None if holder is None else (holder, state))
                if holder is not None:
                    held_keys.append(key)
            await self._lock_in_order(held_keys)
        if invoice_key not in self._holders:
            row = (await self._session.execute(_HELD, {"b_key": invoice_key})).one_or_none()
            self._holders[invoice_key] = None if row is None else (row.request_id, row.state)
        held = self._holders[invoice_key]
        fingerprint = invoice_fingerprint(invoice_key)
        lock: dict[str, Any] = {
            "fingerprint": fingerprint,
            "request_id": request_id,
            "invoice_key": invoice_key,
            "locked_at": self._clock(),
        }
        if held is None:
            self._new.append(lock)
        elif held[0] != request_id:
            if held[1] != _REJECTED:
                return held[0]
            other = await self._top_up_holding(fingerprint, request_id)
            if other is not None:  # §3.1: the rejected one's top-ups still finance the invoice
                return other
            self._taken.append({"b_fingerprint": fingerprint, "b_holder": held[0], **lock})
        self._holders[invoice_key] = (request_id, None)
        return request_id

    async def top_up(
        self, invoice_key: str, request_id: str, *, seller_uscc: str, tenant: str
    ) -> InvoiceFinancing | None:
        """Make the request a holder of the invoice beside the others when it is a top-up, and
        answer what they hold or owe; None when it is not (a duplicate). See the Protocol."""
        await self.flush()  # this unit's own locks and takeovers, before locking the row
        fingerprint = invoice_fingerprint(invoice_key)
        if (await self._session.execute(_LOCK_ROW, {"b_fingerprint": fingerprint})).first() is None:
            return None
        rows = (await self._session.execute(_FIGURES, {"b_fingerprint": fingerprint})).all()
        others = [r for r in rows if r.id != request_id and r.state != _REJECTED]
        if not any(r.id == request_id for r in rows):  # a new top-up: is it one?
            if not others or not any(r.state in _FINANCED for r in others):
                return None
            if any(r.seller_uscc != seller_uscc or r.tenant != tenant for r in others):
                return None
            await self._session.execute(
                _INSERT_TOP_UP,
                {
                    "request_id": request_id,
                    "fingerprint": fingerprint,
                    "principal_fen": None,
                    "locked_at": self._clock(),
                },
            )
        currency = rows[0].currency
        return InvoiceFinancing(
            holders=tuple(r.id for r in others),
            financed=from_fen(sum((_holds(r) for r in others), 0), currency),
            paid=from_fen(sum(int(r.paid_fen) for r in rows), currency),
        )

    async def hold(self, request_id: str, principal: Money) -> None:
        await self._session.execute(
            _HOLD, {"b_request": request_id, "principal_fen": to_fen(principal)}
        )

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

    async def _top_up_holding(self, fingerprint: str, request_id: str) -> str | None:
        """A top-up, not rejected, of the invoice whose lock holder was rejected, other than
        `request_id`; the lock row stays locked, so no top-up is added meanwhile. None when the
        request may take the lock over (it is the only holder left, or there is none)."""
        await self.flush()
        await self._session.execute(_LOCK_ROW, {"b_fingerprint": fingerprint})
        holding = (
            await self._session.execute(_TOP_UP_HOLDERS, {"b_fingerprint": fingerprint})
        ).all()
        return next(
            (r.request_id for r in holding if r.state != _REJECTED and r.request_id != request_id),
            None,
        )


def _holds(row: Any) -> int:
    """What one holder holds or owes, in fen: the principal outstanding once paid out; else
    what its limits hold; else (matched, not yet on the limits) what it matched for."""
    if row.outstanding_fen is not None:
        return int(row.outstanding_fen)
    if row.reservation is not None:
        return int(row.reserved_fen) if row.reservation in _ON_LIMITS else 0
    return int(row.principal_fen or 0)
