"""`factorhub bench hop`: one hub hop on a broker, to set beside the raw pass-through.

A hop is what the hub does per message between two topics: decode the envelope, skip what the
inbox has seen, apply the route in one transaction with its inbox claim and outbox rows, then
relay the outbox to the next topic. The route measured is `reserve-limit` (DocumentsMatched ->
LimitReserved, about 1 KiB each way, like the raw bench's payload). Its input is loaded onto
the topic before the consumer starts, as the raw bench does; the clock runs from the end of the
first batch to the last emitted message confirmed by the broker (the steady rate).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import func, select, update

from canonical import DocumentsMatched, Envelope, FinancingState
from hub.app import Hub
from hub.bench import NO_LIMIT
from hub.bench_namespace import bench_namespace
from hub.config import Settings
from hub.demo import facility_terms
from hub.intake import ERP_MAPPERS, build_request
from hub.operations import open_facilities
from hub.persistence.tables import InboxRow, OutboxRow, RequestRow
from routes.flow import ROUTES
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

__all__ = ["HopResult", "bench_hop"]

ROUTE = next(r for r in ROUTES if r.group == "reserve-limit")


@dataclass(frozen=True, slots=True)
class HopResult:
    transport: str
    route: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def bench_hop(
    settings: Settings, *, count: int, seed: int = 3, give_up_after: float = 600.0
) -> HopResult:
    async with bench_namespace(settings) as private:
        return await _run_hop(private, count=count, seed=seed, give_up_after=give_up_after)


async def _run_hop(settings: Settings, *, count: int, seed: int, give_up_after: float) -> HopResult:
    companies = generate_companies(seed, sellers=8, buyers=32)
    cases = generate_invoices(
        seed, count, companies, {"order_amount_mismatch": 0, "quantity_over_delivery": 0}
    )
    # Load: requests stored and MATCHED, their DocumentsMatched on the route's topic.
    async with Hub(settings, consume=False) as loader:
        await open_facilities(
            loader.units, facility_terms(companies.sellers, one_small=False, limit=NO_LIMIT)
        )
        # Stored directly (no outbox rows): the hop under test must not also publish the
        # loader's own FinancingSubmitted messages.
        now = loader.clock()
        requests = [
            build_request(
                ERP_MAPPERS[c.vendor](render(c), received_at=now),
                tenant="bench",
                source=c.vendor,
                now=now,
            )
            for c in cases
        ]
        async with loader.units() as uow:
            await uow.requests.add_many(
                [(r, c.vendor) for r, c in zip(requests, cases, strict=True)]
            )
            await uow.flush()
            await uow.session.execute(
                update(RequestRow)
                .where(RequestRow.id.in_([r.id for r in requests]))
                .values(state=FinancingState.MATCHED.value)
            )
            await uow.commit()
        inputs = []
        for request in requests:
            message = DocumentsMatched(
                request_id=request.id,
                seller=request.seller,
                buyer=request.buyer,
                invoice_key=request.invoice.key,
                principal=(request.invoice.total * Decimal("0.8")).round_down(),
            )
            envelope = Envelope(
                correlation_id=request.id,
                tenant="bench",
                source_system="bench",
                type="DocumentsMatched",
                key=request.seller.uscc,
                body=message.model_dump(mode="json"),
            )
            inputs.append((message.topic, envelope))
        for start in range(0, len(inputs), 500):
            await loader.transport.publish(inputs[start : start + 500])
    # Run: one hop, until every emitted message is confirmed by the broker.
    async with Hub(replace(settings), routes=(ROUTE,)) as hub:
        deadline = time.monotonic() + give_up_after
        while not await _settled(hub, count):
            if time.monotonic() > deadline:
                raise TimeoutError(f"hop bench: not done within {give_up_after:.0f} s")
            await asyncio.sleep(0.05)
        measured, seconds = await _span(hub)
    return HopResult(settings.transport, ROUTE.group, measured, seconds)


async def _settled(hub: Hub, count: int) -> bool:
    """Every input handled and everything it emitted confirmed by the broker."""
    async with hub.units() as uow:
        handled = await uow.session.scalar(
            select(func.count()).select_from(InboxRow).where(InboxRow.consumer == ROUTE.group)
        )
        unpublished = await uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.published_at.is_(None))
        )
    return int(handled or 0) >= count and not unpublished


async def _span(hub: Hub) -> tuple[int, float]:
    """(messages, seconds) from the end of the first batch to the last confirmed publish.

    The first batch's own work falls before the first timestamp we have, so it is left out
    of both numbers: the rate is the steady one.
    """
    async with hub.units() as uow:
        claimed = list(
            await uow.session.scalars(
                select(InboxRow.processed_at).where(InboxRow.consumer == ROUTE.group)
            )
        )
        last = await uow.session.scalar(select(func.max(OutboxRow.published_at)))
    if not claimed or last is None:
        return 0, 0.0
    first = min(claimed)
    return sum(1 for at in claimed if at > first), (last - first).total_seconds()
