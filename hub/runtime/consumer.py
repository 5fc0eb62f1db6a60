"""Runs one route over batches of envelopes: inbox, call, apply, outbox — effectively once.

For a batch: messages the group has already handled are dropped (inbox); the route's external
`call` runs for the rest concurrently, outside any transaction; then ONE transaction applies
every message and writes the batch's inbox claims, state changes and outbox rows as a handful
of executemany statements. If any message fails, that transaction is rolled back and the batch
is applied again with a savepoint per message, so one bad message spoils nothing else.
A message whose call or apply fails is retried with exponential backoff (tenacity); after the
last attempt, or at once for a permanent error, it goes to the dead-letter store.
A message an apply step returns as `Later` goes to the timers table instead of the outbox, in
the same transaction, with its own message id; the timekeeper publishes it when it is due.
With a `RouteMeter`, each batch records its duration once and adds its size to the consumed
count; only failures and retries are counted per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any

from opentelemetry.trace import Span
from sqlalchemy.exc import IntegrityError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from canonical import MESSAGE_TYPES, Envelope, Message
from canonical.envelope import new_message_id
from hub.persistence.requests import Cause
from hub.persistence.timers import Scheduled
from hub.persistence.uow import SqlUnitOfWork, UnitOfWorkFactory
from hub.runtime.retry import DEFAULT_RETRY, RetryPolicy, is_permanent
from hub.transport.base import Outgoing
from observability.messaging import consumer_span, fail
from observability.metrics import RouteMeter
from observability.tracing import activated, child_headers
from routes.later import Later
from routes.registry import Route, Services

__all__ = ["RouteConsumer", "derive", "emit_envelopes", "emit_now_and_later"]

log = logging.getLogger("factorhub.consumer")


@dataclass(slots=True)
class _Item:
    envelope: Envelope
    message: Message | None = None
    called: Any = None
    error: BaseException | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    span: Span | None = None
    """Its `process {topic}` CONSUMER span (tracing on): current while it is called and
    applied, so client spans and the outbox rows it writes descend from it."""


class _Isolate(Exception):
    """The batch cannot commit as a whole; handle its messages one savepoint at a time."""


class _RetryLater(Exception):
    """Some messages of the batch failed transiently; run them again after a backoff."""


def derive(parent: Envelope, message: Message) -> Envelope:
    """The envelope of a message emitted while handling `parent`: same request, same key.

    Built without re-validation: every field comes from a validated envelope or message.
    """
    return Envelope.model_construct(
        message_id=new_message_id(),
        correlation_id=message.request_id,
        causation_id=parent.message_id,
        tenant=parent.tenant,
        source_system="factorhub",
        type=type(message).__name__,
        schema_version=1,
        occurred_at=datetime.now(UTC),
        key=parent.key,
        headers=child_headers(parent.headers),
        body=message.model_dump(mode="json"),
    ).carrying(message)


def emit_envelopes(parent: Envelope, messages: Sequence[Message]) -> list[Outgoing]:
    return [(m.topic, derive(parent, m)) for m in messages]


def emit_now_and_later(
    parent: Envelope, emitted: Sequence[Message | Later]
) -> tuple[list[Outgoing], list[Scheduled]]:
    """What an apply step returned, as outbox rows and as timers (each with a fresh id)."""
    now: list[Outgoing] = []
    later: list[Scheduled] = []
    for item in emitted:
        if isinstance(item, Later):
            later.append((item.message.topic, derive(parent, item.message), item.due_at))
        else:
            now.append((item.topic, derive(parent, item)))
    return now, later


class RouteConsumer:
    """The batch handler the transport calls for one route's topic and group."""

    def __init__(
        self,
        route: Route,
        units: UnitOfWorkFactory,
        services: Services,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        call_concurrency: int = 64,
        messaging_system: str = "embedded",
        meter: RouteMeter | None = None,
    ) -> None:
        self.route = route
        self.messaging_system = messaging_system
        """`messaging.system` of its spans: the transport's name."""
        self._meter = meter
        self._units = units
        self._services = services
        self._retry = retry
        self._calls = asyncio.Semaphore(call_concurrency)
        self.handled = 0
        self.dead_lettered = 0

    async def __call__(self, envelopes: list[Envelope]) -> None:
        started = perf_counter()
        # A message can arrive twice in one batch (a restart's re-dispatch beside the relay, a
        # broker redelivery): handle it once; the inbox covers repeats across batches.
        unique = {e.message_id: e for e in envelopes}  # first occurrence order, one each
        items = [_Item(envelope=e) for e in unique.values()]
        pending = [i for i in items if self._decode(i)]
        dead = [i for i in items if i.message is None]
        for item in items:
            item.span = consumer_span(
                self.messaging_system,
                self.route.topic,
                self.route.group,
                item.envelope,
                item.message,
            )
        failure: BaseException | None = None
        try:
            await self._handle(items, pending, dead)
        except BaseException as error:
            failure = error
            raise
        finally:
            for item in items:
                if item.error is not None and failure is None:
                    failure = item.error  # the batch's first message that failed for good
                if item.span is not None:
                    if item.error is not None:
                        fail(item.span, item.error)
                    item.span.end()
            if self._meter is not None:
                self._meter.handled(len(envelopes), perf_counter() - started, failure)

    async def _handle(self, items: list[_Item], pending: list[_Item], dead: list[_Item]) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=wait_exponential(
                multiplier=self._retry.initial,
                exp_base=self._retry.multiplier,
                max=self._retry.maximum,
            ),
            retry=retry_if_exception_type(_RetryLater),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if self._meter is not None and attempt.retry_state.attempt_number > 1:
                        self._meter.retried(len(pending))
                    failed = await self._run(pending)
                    dead.extend(i for i in failed if i.error and is_permanent(i.error))
                    pending = [i for i in failed if not (i.error and is_permanent(i.error))]
                    if pending:
                        raise _RetryLater
        except _RetryLater:
            dead.extend(pending)
        if dead:
            await self._dead_letter(dead)

    def _decode(self, item: _Item) -> bool:
        cls = MESSAGE_TYPES.get(item.envelope.type)
        try:
            if cls is None or cls is not self.route.consumes:
                raise LookupError(f"{self.route.group} does not consume {item.envelope.type!r}")
            decoded = item.envelope.decoded
            item.message = (
                decoded
                if type(decoded) is cls
                else cls.model_validate(item.envelope.body, strict=False)
            )
        except Exception as error:
            self._failed(item, error)
            return False
        return True

    async def _run(self, items: list[_Item]) -> list[_Item]:
        """One pass over the batch; returns the items that failed (with `error` set)."""
        for item in items:
            item.attempts += 1
            item.error = None
        todo = items
        if self.route.call is not None or self.route.call_many is not None:
            async with self._units() as uow:
                seen = await uow.inbox.seen(
                    self.route.group, [i.envelope.message_id for i in items]
                )
            todo = [i for i in items if i.envelope.message_id not in seen]
            if self.route.call_many is not None:
                await self._call_many(todo)
            else:
                await asyncio.gather(*(self._call(i) for i in todo))
        ready = [i for i in todo if i.error is None]
        try:
            await self._apply(ready)
        except Exception as error:
            log.warning("%s: batch transaction failed: %s", self.route.group, error)
            for item in ready:
                self._failed(item, error)
        return [i for i in todo if i.error is not None]

    async def _call(self, item: _Item) -> None:
        assert self.route.call is not None
        async with self._calls:
            try:
                with activated(item.span):
                    item.called = await self.route.call(item.message, self._services)
            except Exception as error:
                self._failed(item, error)

    async def _call_many(self, items: list[_Item]) -> None:
        assert self.route.call_many is not None
        if not items:
            return
        try:
            with activated(_lead(items)):  # one call for the batch: under one message's span
                answers = await self.route.call_many([i.message for i in items], self._services)
            if len(answers) != len(items):
                raise RuntimeError(f"{len(answers)} answers to {len(items)} messages")
        except Exception as error:
            answers = [error] * len(items)
        for item, answer in zip(items, answers, strict=True):
            if isinstance(answer, Exception):
                self._failed(item, answer)
            else:
                item.called = answer

    async def _apply(self, items: list[_Item]) -> None:
        if not items:
            return
        try:
            await self._apply_together(items)
        except _Isolate:
            await self._apply_isolated(items)
        self.handled += sum(1 for i in items if i.error is None)

    async def _apply_together(self, items: list[_Item]) -> None:
        """The fast path: the whole batch in one transaction, its writes as a few executemany
        statements. Any failure rolls it all back and hands the batch to `_apply_isolated`."""
        group = self.route.group
        # The batch's own statements (inbox, outbox, commit) run under one message's span, as
        # a `call_many` does: one transaction serves them all.
        with activated(_lead(items)):
            async with self._units() as uow:
                seen = await uow.inbox.seen(group, [i.envelope.message_id for i in items])
                fresh = [i for i in items if i.envelope.message_id not in seen]
                await uow.expect(i.envelope.correlation_id for i in fresh)
                outgoing: list[Outgoing] = []
                timers: list[Scheduled] = []
                for item in fresh:
                    envelope = item.envelope
                    uow.requests.cause = Cause(envelope.message_id, envelope.type)
                    with activated(item.span):
                        try:
                            emitted = await self.route.apply(
                                item.message, item.called, uow, self._services
                            )
                        except Exception as error:
                            raise _Isolate from error
                        now, later = emit_now_and_later(envelope, emitted)
                    outgoing.extend(now)
                    timers.extend(later)
                try:
                    await uow.inbox.claim_many(group, [i.envelope.message_id for i in fresh])
                    await uow.outbox.add_many(outgoing)
                    await uow.timers.add_many(timers)
                    await uow.commit()
                except Exception as error:  # e.g. a concurrent consumer handled one meanwhile
                    raise _Isolate from error

    async def _apply_isolated(self, items: list[_Item]) -> None:
        """The careful path: one savepoint per message, so one failure spoils nothing else."""
        async with self._units() as uow:
            # Lock in the fast path's order (requests by id, then sellers by USCC).
            await uow.expect(i.envelope.correlation_id for i in items)
            for item in items:
                envelope = item.envelope
                try:
                    async with uow.session.begin_nested():
                        await uow.inbox.claim(self.route.group, envelope.message_id)
                        uow.requests.cause = Cause(envelope.message_id, envelope.type)
                        with activated(item.span):
                            emitted = await self.route.apply(
                                item.message, item.called, uow, self._services
                            )
                            await uow.flush()
                            now, later = emit_now_and_later(envelope, emitted)
                        await uow.outbox.add_many(now)
                        await uow.timers.add_many(later)
                except IntegrityError:
                    uow.forget()
                    continue  # already handled by this group: a redelivery
                except Exception as error:
                    uow.forget()
                    self._failed(item, error)
            await uow.commit()

    async def _dead_letter(self, items: list[_Item]) -> None:
        async with self._units() as uow:
            for item in items:
                try:
                    async with uow.session.begin_nested():
                        await uow.inbox.claim(self.route.group, item.envelope.message_id)
                        await uow.dead_letters.add(
                            self.route.group,
                            self.route.topic,
                            item.envelope,
                            "\n".join(item.errors[-5:]) or "unknown error",
                            item.attempts,
                        )
                except IntegrityError:
                    continue
                try:
                    async with uow.session.begin_nested():
                        with activated(item.span):
                            await self._compensate(uow, item)
                except Exception:  # the dead letter stands; the application waits, with its reason
                    uow.forget()
                    with activated(item.span):  # the log line carries the request's trace id
                        log.exception(
                            "%s: compensation of %s failed",
                            self.route.group,
                            item.envelope.message_id,
                        )
                with activated(item.span):
                    log.error(
                        "%s: dead-lettered %s after %d attempt(s): %s",
                        self.route.group,
                        item.envelope.message_id,
                        item.attempts,
                        item.errors[-1:] or "",
                    )
            await uow.commit()
        self.dead_lettered += len(items)

    def _failed(self, item: _Item, error: BaseException) -> None:
        """This attempt at `item` failed with `error` (kept for the retry decision, the dead
        letter's reason and the span)."""
        item.error = error
        item.errors.append(_describe(error))
        if self._meter is not None:
            self._meter.failed(error)

    async def _compensate(self, uow: SqlUnitOfWork, item: _Item) -> None:
        """Undo the earlier steps of an application whose message failed for good."""
        compensate = self.route.compensate
        if compensate is None or item.message is None:
            return
        if item.error is None or not is_permanent(item.error):
            return  # waits in the dead-letter store for a replay, with its reason
        uow.requests.cause = Cause(item.envelope.message_id, item.envelope.type)
        emitted = await compensate(
            item.message, uow, self._services, item.errors[-1] if item.errors else "unknown"
        )
        await uow.flush()
        await uow.outbox.add_many(emit_envelopes(item.envelope, emitted))


def _lead(items: Sequence[_Item]) -> Span | None:
    """The span a batch-wide step runs under: the first message's whose trace is recorded
    (under a sampler, a batch may mix sampled and dropped requests), else the first's."""
    return next((i.span for i in items if i.span is not None and i.span.is_recording()), None) or (
        items[0].span if items else None
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
