"""Inbox, outbox and dead letters: the tables that make every hop effectively-once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import Envelope
from hub.persistence.sql import execute_many
from hub.persistence.tables import DeadLetterRow, InboxRow, OutboxRow, table_of
from hub.transport.base import Outgoing
from observability.tracing import child_headers, current
from routes.ports import Clock

__all__ = ["DeadLetter", "SqlDeadLetters", "SqlInbox", "SqlOutbox"]

_inbox = table_of(InboxRow)
_INSERT_INBOX = insert(_inbox)
_SEEN = select(_inbox.c.message_id).where(
    _inbox.c.consumer == bindparam("b_consumer"),
    _inbox.c.message_id.in_(bindparam("b_ids", expanding=True)),
)
_INSERT_OUTBOX = insert(table_of(OutboxRow))


class SqlInbox:
    """Which messages each consumer group has handled."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def seen(self, consumer: str, message_ids: Iterable[str]) -> set[str]:
        ids = list(message_ids)
        if not ids:
            return set()
        rows = await self._session.execute(_SEEN, {"b_consumer": consumer, "b_ids": ids})
        return {row[0] for row in rows}

    async def claim(self, consumer: str, message_id: str) -> None:
        """Record the message as handled; a duplicate raises IntegrityError (run in a savepoint)."""
        await self.claim_many(consumer, [message_id])

    async def claim_many(self, consumer: str, message_ids: Sequence[str]) -> None:
        """Record a batch as handled in one statement; any duplicate raises IntegrityError."""
        if not message_ids:
            return
        now = self._clock()
        await execute_many(
            self._session,
            _INSERT_INBOX,
            [{"consumer": consumer, "message_id": m, "processed_at": now} for m in message_ids],
        )

    async def forget(self, consumer: str, message_id: str) -> None:
        await self._session.execute(
            delete(InboxRow).where(InboxRow.consumer == consumer, InboxRow.message_id == message_id)
        )


class SqlOutbox:
    """Messages written with the state change that emitted them; `written` lists this txn's."""

    def __init__(self, session: AsyncSession, clock: Clock, *, dispatched: bool = False) -> None:
        """`dispatched`: this process hands its rows to the transport itself on commit (the
        embedded transport), so they are written as published; rows other processes write
        stay unpublished for the relay to find."""
        self._session = session
        self._clock = clock
        self._dispatched = dispatched
        self.written: list[Outgoing] = []

    async def add(self, topic: str, envelope: Envelope) -> None:
        await self.add_many([(topic, envelope)])

    async def add_many(self, messages: Sequence[Outgoing]) -> None:
        if not messages:
            return
        if current() is not None:  # a row written without a trace context: the current span's
            messages = [
                (
                    topic,
                    envelope
                    if "traceparent" in envelope.headers
                    else envelope.model_copy(update={"headers": child_headers(envelope.headers)}),
                )
                for topic, envelope in messages
            ]
        now = self._clock()
        await execute_many(
            self._session,
            _INSERT_OUTBOX,
            [
                {
                    "message_id": e.message_id,
                    "topic": topic,
                    "key": e.key,
                    "payload": e.model_dump_json(),
                    "created_at": now,
                    "published_at": now if self._dispatched else None,
                }
                for topic, e in messages
            ],
        )
        self.written.extend(messages)

    async def unpublished(self, limit: int) -> list[tuple[int, str, str]]:
        """(id, topic, payload) of the oldest rows not yet published."""
        rows = await self._session.execute(
            select(OutboxRow.id, OutboxRow.topic, OutboxRow.payload)
            .where(OutboxRow.published_at.is_(None))
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        return [(r.id, r.topic, r.payload) for r in rows]

    async def mark_published(self, ids: Sequence[int], at: datetime) -> None:
        await self._session.execute(
            update(OutboxRow).where(OutboxRow.id.in_(ids)).values(published_at=at)
        )

    async def undelivered(self, topic: str, consumer: str) -> list[str]:
        """Payloads on `topic` that `consumer` has not handled: what the embedded transport
        must dispatch again after a restart."""
        rows = await self._session.scalars(
            select(OutboxRow.payload)
            .where(
                OutboxRow.topic == topic,
                ~exists().where(
                    InboxRow.consumer == consumer, InboxRow.message_id == OutboxRow.message_id
                ),
            )
            .order_by(OutboxRow.id)
        )
        return list(rows)

    async def pending_count(self) -> int:
        rows = await self._session.scalars(
            select(OutboxRow.id).where(OutboxRow.published_at.is_(None))
        )
        return len(list(rows))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    consumer: str
    message_id: str
    topic: str
    envelope: Envelope
    error: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None


class SqlDeadLetters:
    """Messages a consumer gave up on, kept with the error for inspection and replay."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def add(
        self, consumer: str, topic: str, envelope: Envelope, error: str, attempts: int
    ) -> None:
        await self._session.execute(
            insert(DeadLetterRow).values(
                consumer=consumer,
                message_id=envelope.message_id,
                topic=topic,
                envelope=envelope.model_dump_json(),
                error=error,
                attempts=attempts,
                created_at=self._clock(),
            )
        )

    async def list(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        query = select(DeadLetterRow).order_by(DeadLetterRow.id)
        if not include_replayed:
            query = query.where(DeadLetterRow.replayed_at.is_(None))
        return [_dead_letter(r) for r in (await self._session.scalars(query))]

    async def count(self) -> int:
        """Dead letters not yet replayed."""
        total = await self._session.scalar(
            select(func.count())
            .select_from(DeadLetterRow)
            .where(DeadLetterRow.replayed_at.is_(None))
        )
        return int(total or 0)

    async def get(self, dead_letter_id: int) -> DeadLetter | None:
        row = await self._session.get(DeadLetterRow, dead_letter_id)
        return None if row is None else _dead_letter(row)

    async def mark_replayed(self, dead_letter_id: int) -> None:
        await self._session.execute(
            update(DeadLetterRow)
            .where(DeadLetterRow.id == dead_letter_id)
            .values(replayed_at=self._clock())
        )


def _dead_letter(row: DeadLetterRow) -> DeadLetter:
    return DeadLetter(
        id=row.id,
        consumer=row.consumer,
        message_id=row.message_id,
        topic=row.topic,
        envelope=Envelope.model_validate_json(row.envelope),
        error=row.error,
        attempts=row.attempts,
        created_at=row.created_at,
        replayed_at=row.replayed_at,
    )
