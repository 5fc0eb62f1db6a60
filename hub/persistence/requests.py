"""Financing requests and their history, written behind in batches.

A consumer handles a whole batch in one transaction, so this repository keeps the states it has
read (`preload` fetches a batch's in one query, locking the rows on PostgreSQL), checks each
transition against them, and queues the UPDATEs and history rows; `flush` writes the queue as
two executemany statements. Nobody else can change those rows meanwhile: SQLite has one writer
(BEGIN IMMEDIATE) and PostgreSQL holds the row locks until commit.

Each transition moves the application's receivable too (§4.2, `RECEIVABLE_MOVES`): checked
against the RECEIVABLE machine from the state stored beside the application's, written in the
same UPDATE, and recorded on the same history row (`receivable_from`, `_to`, `_event`): no
extra statement and no extra row per message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import FinancingRequest, FinancingState, IllegalTransition
from hub.persistence.lifecycles import Cause, Entity, LifecycleLog
from hub.persistence.money import to_fen
from hub.persistence.sql import execute_many
from hub.persistence.tables import RequestEventRow, RequestRow, table_of
from routes.lifecycle import ReceivableState, TransitionRefused, receivable_step
from routes.lifecycle.hub_states import HUB_PAIRS
from routes.ports import Clock, RequestRecord

__all__ = ["Cause", "HistoryEntry", "SqlRequestRepository"]

log = logging.getLogger("factorhub.requests")

_requests = table_of(RequestRow)
_PRELOAD = (
    select(
        _requests.c.id,
        _requests.c.state,
        _requests.c.reason,
        _requests.c.seller_uscc,
        _requests.c.buyer_uscc,
        _requests.c.receivable_state,
    )
    .where(_requests.c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(_requests.c.id)
)
_PRELOAD_LOCKED = _PRELOAD.with_for_update()
_events = table_of(RequestEventRow)
_IMPORTED = ReceivableState.IMPORTED.value

_INSERT_EVENTS = insert(_events)
_INSERT_REQUESTS = insert(_requests)
_UPDATE_STATE = (
    update(_requests)
    .where(_requests.c.id == bindparam("b_id"), _requests.c.state == bindparam("b_from"))
    .values(
        state=bindparam("state"),
        reason=bindparam("reason"),
        detail=bindparam("detail"),
        receivable_state=bindparam("receivable"),
        version=_requests.c.version + 1,
        updated_at=bindparam("updated_at"),
    )
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    state: str
    reason: str | None
    note: str | None
    message_id: str | None
    message_type: str | None
    at: datetime


class SqlRequestRepository:
    """Requests in SQL; transitions are checked against the current state, then recorded."""

    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        lifecycles: LifecycleLog,
        *,
        lock_rows: bool = False,
    ) -> None:
        self._session = session
        self._clock = clock
        self._lifecycles = lifecycles
        self._lock_rows = lock_rows
        self._states: dict[str, tuple[FinancingState, str | None]] = {}
        self._receivables: dict[str, str] = {}
        """Each request's receivable state (§4.2), as stored."""
        self._updates: list[dict[str, Any]] = []
        self._new_events: list[dict[str, Any]] = []

    @property
    def cause(self) -> Cause:
        """The message being handled: recorded with every move it causes, the application's
        and its receivable's, reservation's and registration's (one log for the unit)."""
        return self._lifecycles.cause

    @cause.setter
    def cause(self, cause: Cause) -> None:
        self._lifecycles.cause = cause

    async def add(self, request: FinancingRequest, *, source_system: str) -> bool:
        """Insert a new SUBMITTED request; False if this source document was already accepted."""
        (created,) = await self.add_many([(request, source_system)])
        return created

    async def add_many(self, requests: Sequence[tuple[FinancingRequest, str]]) -> list[bool]:
        """Insert new SUBMITTED requests in one statement; for each, False if its source
        document was already accepted (the request id is derived from it) or came earlier in
        the same call."""
        ids = [r.id for r, _ in requests]
        known = set(
            await self._session.scalars(select(_requests.c.id).where(_requests.c.id.in_(ids)))
        )
        now = self._clock()
        rows: list[dict[str, Any]] = []
        created: list[bool] = []
        for request, source_system in requests:
            if request.id in known:
                created.append(False)
                continue
            known.add(request.id)
            created.append(True)
            rows.append(_request_row(request, source_system, now))
            self._states[request.id] = (FinancingState.SUBMITTED, None)
            self._receivables[request.id] = _IMPORTED
            self._event(request.id, FinancingState.SUBMITTED, None, None, now)
        if rows:
            await execute_many(self._session, _INSERT_REQUESTS, rows)
        return created

    async def get(self, request_id: str) -> RequestRecord:
        row = (
            await self._session.execute(
                select(_requests.c.document, _requests.c.state, _requests.c.reason).where(
                    _requests.c.id == request_id
                )
            )
        ).one()
        current = self._states.get(request_id, (FinancingState(row.state), row.reason))
        return RequestRecord(
            request=FinancingRequest.model_validate_json(row.document),
            state=current[0],
            reason=current[1],
        )

    async def preload(self, request_ids: Iterable[str]) -> tuple[set[str], set[str]]:
        """Read (and on PostgreSQL lock, in id order) the states of a batch's requests in one
        query; returns the sellers and the buyers (USCC) of the requests it read."""
        ids = sorted(set(request_ids) - self._states.keys())
        if not ids:
            return set(), set()
        query = _PRELOAD_LOCKED if self._lock_rows else _PRELOAD
        sellers: set[str] = set()
        buyers: set[str] = set()
        for row in await self._session.execute(query, {"b_ids": ids}):
            self._states[row.id] = (FinancingState(row.state), row.reason)
            self._receivables[row.id] = row.receivable_state
            sellers.add(row.seller_uscc)
            buyers.add(row.buyer_uscc)
        return sellers, buyers

    async def state_of(self, request_id: str) -> tuple[FinancingState, str | None] | None:
        if request_id not in self._states:
            await self.preload([request_id])
        return self._states.get(request_id)

    async def transition(
        self,
        request_id: str,
        target: FinancingState,
        *,
        allowed_from: frozenset[FinancingState],
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        current = await self.state_of(request_id)
        if current is None:
            raise LookupError(f"no financing request {request_id}")
        state, _ = current
        if state not in allowed_from or (state, target) not in HUB_PAIRS:
            log.warning(
                "%s: refused %s -> %s (%s)",
                request_id,
                state.value,
                target.value,
                "not from this state" if state not in allowed_from else "no such move",
            )
            raise IllegalTransition("financing", state.value, target.value)
        before = self._receivables[request_id]
        try:
            step = receivable_step(state, target, reason, before)
        except TransitionRefused as refused:
            self._lifecycles.refused(Entity.RECEIVABLE, request_id, refused)
            raise
        receivable = before if step is None else step[0]
        now = self._clock()
        self._updates.append(
            {
                "b_id": request_id,
                "b_from": state.value,
                "state": target.value,
                "reason": reason,
                "detail": note,
                "receivable": receivable,
                "updated_at": now,
            }
        )
        self._states[request_id] = (target, reason)
        self._receivables[request_id] = receivable
        moved = None if step is None else (before, receivable, step[1])
        self._event(request_id, target, reason, note, now, moved)

    async def history(self, request_id: str) -> list[HistoryEntry]:
        await self.flush()
        rows = await self._session.execute(
            select(RequestEventRow)
            .where(RequestEventRow.request_id == request_id)
            .order_by(RequestEventRow.id)
        )
        return [
            HistoryEntry(r.state, r.reason, r.note, r.message_id, r.message_type, r.at)
            for r in rows.scalars()
        ]

    async def flush(self) -> None:
        """Write the queued transitions and history rows (in the order they happened)."""
        updates, self._updates = self._updates, []
        events, self._new_events = self._new_events, []
        if updates:
            # One UPDATE per step, in order, so a request moved twice in one batch lands on its
            # last state; each is guarded by the state it moved from.
            changed = await execute_many(self._session, _UPDATE_STATE, updates)
            dialect = self._session.get_bind().dialect
            if dialect.supports_sane_multi_rowcount and changed != len(updates):
                raise IllegalTransition("financing", "concurrently changed", "?")
        if events:
            await execute_many(self._session, _INSERT_EVENTS, events)

    def forget(self) -> None:
        """Drop what was read and queued (after a rollback)."""
        self._states.clear()
        self._receivables.clear()
        self._updates.clear()
        self._new_events.clear()

    def _event(
        self,
        request_id: str,
        state: FinancingState,
        reason: str | None,
        note: str | None,
        at: datetime,
        receivable: tuple[str, str, str] | None = None,
    ) -> None:
        """Queue a history row: the state entered and, when it moved, the receivable's (from,
        to, events)."""
        moved_from, moved_to, moved_on = receivable or (None, None, None)
        cause = self._lifecycles.cause
        self._new_events.append(
            {
                "request_id": request_id,
                "state": state.value,
                "reason": reason,
                "note": note,
                "message_id": cause.message_id,
                "message_type": cause.message_type,
                "at": at,
                "receivable_from": moved_from,
                "receivable_to": moved_to,
                "receivable_event": moved_on,
            }
        )


def _request_row(request: FinancingRequest, source_system: str, now: datetime) -> dict[str, Any]:
    return {
        "id": request.id,
        "tenant": request.tenant,
        "source_system": source_system,
        "source_document_id": request.invoice.provenance.source_document_id,
        "seller_uscc": request.seller.uscc,
        "buyer_uscc": request.buyer.uscc,
        "invoice_key": request.invoice.key,
        "total_fen": to_fen(request.invoice.total),
        "currency": request.invoice.total.currency,
        "state": FinancingState.SUBMITTED.value,
        "reason": None,
        "detail": None,
        "receivable_state": _IMPORTED,
        "document": request.model_dump_json(),
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
