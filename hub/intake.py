"""Accepting an ERP push: map it, store the request and its first message in ONE transaction.

The request id is derived from (tenant, source system, source document id), so the same
document pushed twice gets the same id and creates nothing new.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from opentelemetry import trace
from sqlalchemy.exc import IntegrityError

from canonical import Envelope, FinancingRequest, FinancingSubmitted, Receivable
from hub.mapping_pool import ERP_MAPPERS, MappingPool, map_push
from hub.persistence.uow import UnitOfWorkFactory
from hub.transport.base import Outgoing
from hub.transport.batching import top_up
from mappings.erp import InvoicePush
from observability.tracing import child_headers, current

__all__ = [
    "ERP_MAPPERS",
    "Accepted",
    "Intake",
    "request_id_for",
    "submission",
]


DEFAULT_TERMS = timedelta(days=90)
"""Due date assumed when the ERP sends none (a receivable always has one)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    request_id: str
    created: bool


def request_id_for(tenant: str, source_system: str, document_id: str) -> str:
    digest = hashlib.new("sm3", f"{tenant}\x1f{source_system}\x1f{document_id}".encode())
    return "FR" + digest.hexdigest()[:30].upper()


def build_request(
    push: InvoicePush,
    *,
    tenant: str,
    source: str,
    now: datetime,
    requested: Decimal | None = None,
) -> FinancingRequest:
    """The request a push makes; `requested`: the most the seller asks to be financed (in the
    invoice's currency; the principal never exceeds it)."""
    invoice = push.invoice
    request_id = request_id_for(tenant, source, invoice.provenance.source_document_id)
    due: date = invoice.due_date or invoice.issue_date + DEFAULT_TERMS
    return FinancingRequest(
        id=request_id,
        tenant=tenant,
        seller=invoice.seller,
        buyer=invoice.buyer,
        invoice=invoice,
        orders=push.orders,
        receivable=Receivable(
            id=request_id,
            seller=invoice.seller,
            buyer=invoice.buyer,
            face=invoice.total,
            issue_date=invoice.issue_date,
            due_date=due,
            invoice_keys=(invoice.key,),
        ),
        submitted_at=now,
        requested_amount=None
        if requested is None
        else invoice.total.model_copy(update={"amount": requested}),
    )


def submission(
    push: InvoicePush,
    *,
    tenant: str,
    source: str,
    now: datetime,
    requested: Decimal | None = None,
) -> tuple[FinancingRequest, Outgoing]:
    """The request a push creates and the first message it emits."""
    request = build_request(push, tenant=tenant, source=source, now=now, requested=requested)
    message = FinancingSubmitted(request_id=request.id, request=request)
    envelope = Envelope(
        correlation_id=request.id,
        tenant=tenant,
        source_system=source,
        type=type(message).__name__,
        key=request.seller.uscc,
        headers=child_headers({}),  # the push's span is the parent of the whole journey
        body=message.model_dump(mode="json"),
    ).carrying(message)
    if current() is not None:
        span = trace.get_current_span()
        span.set_attribute("factorhub.request_id", request.id)
        span.set_attribute("factorhub.tenant", tenant)
        span.set_attribute("factorhub.invoice_number", request.invoice.number)
    return request, (message.topic, envelope)


async def _store_one(
    units: UnitOfWorkFactory, request: FinancingRequest, source: str, outgoing: Outgoing
) -> Accepted:
    try:
        async with units() as uow:
            created = await uow.requests.add(request, source_system=source)
            if created:
                await uow.outbox.add_many([outgoing])
                await uow.commit()
    except IntegrityError:  # the same document raced in concurrently: it is stored once
        created = False
    return Accepted(request.id, created)


@dataclass(slots=True)
class _Pending:
    request: FinancingRequest
    source: str
    outgoing: Outgoing
    answer: asyncio.Future[Accepted]


class Intake:
    """Accepts ERP pushes with group commit: pushes arriving together share one transaction.

    Each push is mapped on its own (bad input fails alone, before anything is queued); the
    stored ones wait for the shared commit, so every 202 still means "durably stored". A
    batch that cannot commit whole (another process stored one of its documents meanwhile)
    is stored one push at a time instead.
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        mapping: MappingPool | None = None,
        max_batch: int = 200,
        linger: float = 0.002,
    ) -> None:
        """`mapping`: worker processes to map pushes in (None: map in this process)."""
        self._units = units
        self._mapping = mapping
        self._max_batch = max_batch
        self._linger = linger
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def accept(
        self,
        *,
        source: str,
        raw: bytes,
        tenant: str,
        now: datetime,
        requested: Decimal | None = None,
    ) -> Accepted:
        """Map (MappingError on bad input: nothing stored), then store durably with others."""
        if self._mapping is None:
            push = map_push(source, raw, now)
        else:
            push = await self._mapping.map(source, raw, now)
        return await self.accept_push(
            push, source=source, tenant=tenant, now=now, requested=requested
        )

    async def accept_push(
        self,
        push: InvoicePush,
        *,
        source: str,
        tenant: str,
        now: datetime,
        requested: Decimal | None = None,
    ) -> Accepted:
        """Store an already mapped push durably, together with the pushes arriving with it."""
        request, outgoing = submission(
            push, tenant=tenant, source=source, now=now, requested=requested
        )
        answer: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(request, source, outgoing, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever(), name="intake-writer")
        return await answer

    async def start(self) -> None:
        if self._mapping is not None:
            await self._mapping.start()

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        while not self._queue.empty():
            self._queue.get_nowait().answer.cancel()
        if self._mapping is not None:
            await self._mapping.aclose()

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            try:
                await top_up(self._queue, batch, max_batch=self._max_batch, linger=self._linger)
                live = [p for p in batch if not p.answer.done()]  # the client went away
                if live:
                    await self._write(live)
            finally:  # never leave a push waiting, whatever happened (cancelled on close)
                for p in batch:
                    if not p.answer.done():
                        p.answer.cancel()

    async def _write(self, batch: list[_Pending]) -> None:
        """Store the batch in one transaction, or push by push if that fails; answer each."""
        try:
            async with self._units() as uow:
                created = await uow.requests.add_many([(p.request, p.source) for p in batch])
                fresh = [p.outgoing for p, new in zip(batch, created, strict=True) if new]
                await uow.outbox.add_many(fresh)
                await uow.commit()
        except Exception:  # e.g. another process stored one of these documents meanwhile
            for p in batch:
                try:
                    result = await _store_one(self._units, p.request, p.source, p.outgoing)
                except Exception as error:
                    if not p.answer.done():
                        p.answer.set_exception(error)
                else:
                    if not p.answer.done():
                        p.answer.set_result(result)
            return
        for p, new in zip(batch, created, strict=True):
            if not p.answer.done():
                p.answer.set_result(Accepted(p.request.id, new))
