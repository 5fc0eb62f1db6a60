"""`factorhub bench pipeline`: end-to-end invoices/s and latency, from the ingress commit to
the bank's acceptance (the DISBURSED step), on one transport.

Invoices are accepted in-process through the same intake the HTTP ingress uses (so the figure
is the pipeline's, not the HTTP server's), with the registry and bank simulators in a child
process on loopback (partners do not share the hub's CPU in production either).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from statistics import median, quantiles

import httpx
from sqlalchemy import select

from hub.app import Hub
from hub.bench_namespace import bench_namespace
from hub.config import Settings
from hub.demo import facility_terms
from hub.operations import count_states, open_facilities
from hub.persistence.tables import RequestEventRow
from simulators.erp.dataset import Companies, generate_companies, generate_invoices
from simulators.erp.payloads import render
from simulators.process import simulators_in_process

__all__ = ["BenchStalled", "Overhead", "PipelineResult", "bench_pipeline", "overhead"]


NO_LIMIT = Decimal("1000000000000.00")
"""Facilities large enough that every invoice is financed: the bench measures the whole path."""


class BenchStalled(RuntimeError):
    """The pipeline stopped making progress before every request settled."""


@dataclass(frozen=True, slots=True)
class PipelineResult:
    transport: str
    count: int
    disbursed: int
    dead_lettered: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float = 0.0
    """CPU the hub's process used meanwhile (all its threads): steadier than the rate on a
    machine whose neighbours come and go."""

    @property
    def cpu_us_per_invoice(self) -> float:
        return self.cpu_seconds / self.count * 1e6 if self.count else 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@dataclass(frozen=True, slots=True)
class Overhead:
    """What switching something on (tracing) costs, from alternating runs: the medians."""

    off_per_second: float
    on_per_second: float
    off_cpu_us: float
    on_cpu_us: float

    @property
    def throughput(self) -> float:
        """The share of invoices/s lost: 0.15 means 15 % fewer invoices per second."""
        return 1 - self.on_per_second / self.off_per_second if self.off_per_second else 0.0

    @property
    def cpu(self) -> float:
        """The hub's extra CPU per invoice, as a share of what it uses without."""
        return self.on_cpu_us / self.off_cpu_us - 1 if self.off_cpu_us else 0.0


def overhead(off: Sequence[PipelineResult], on: Sequence[PipelineResult]) -> Overhead:
    """Medians of each side (robust to one run caught by a noisy neighbour)."""
    return Overhead(
        off_per_second=median(r.per_second for r in off),
        on_per_second=median(r.per_second for r in on),
        off_cpu_us=median(r.cpu_us_per_invoice for r in off),
        on_cpu_us=median(r.cpu_us_per_invoice for r in on),
    )


async def bench_pipeline(
    settings: Settings,
    *,
    count: int,
    seed: int = 3,
    concurrency: int = 64,
    stall_seconds: float = 60.0,
    verify: bool = False,
) -> PipelineResult:
    """`verify`: the VAT platform simulator runs too and every invoice is verified."""
    companies = generate_companies(seed, sellers=8, buyers=32)
    cases = generate_invoices(
        seed, count, companies, {"order_amount_mismatch": 0, "quantity_over_delivery": 0}
    )
    bodies = [(c.vendor, render(c)) for c in cases]
    async with bench_namespace(settings) as private:
        return await _run_pipeline(
            private,
            bodies,
            companies,
            seed=seed,
            concurrency=concurrency,
            stall=stall_seconds,
            verify=verify,
        )


async def _run_pipeline(
    settings: Settings,
    bodies: Sequence[tuple[str, bytes]],
    companies: Companies,
    *,
    seed: int,
    concurrency: int,
    stall: float,
    verify: bool = False,
) -> PipelineResult:
    count, stall_seconds = len(bodies), stall
    names = ["registry", "bank", *(["vat"] if verify else [])]
    async with simulators_in_process(names, seed=seed) as urls:
        settings = replace(
            settings,
            registry_url=urls["registry"],
            bank_url=urls["bank"],
            vat_url=urls.get("vat"),
        )
        if verify:  # the platform holds the invoices the bench pushes
            dataset = {"count": count, "sellers": 8, "buyers": 32, "anomaly_rate": 0}
            async with httpx.AsyncClient(base_url=urls["vat"]) as admin:
                answer = await admin.post("/admin/scenario", json={"dataset": dataset})
                answer.raise_for_status()
        async with Hub(settings) as hub:
            await open_facilities(
                hub.units, facility_terms(companies.sellers, one_small=False, limit=NO_LIMIT)
            )
            gate = asyncio.Semaphore(concurrency)

            async def accept(vendor: str, raw: bytes) -> None:
                async with gate:
                    await hub.intake.accept(source=vendor, raw=raw, tenant="bench", now=hub.clock())

            started, cpu_started = time.perf_counter(), time.process_time()
            await asyncio.gather(*(accept(v, b) for v, b in bodies))
            counts = await count_states(hub.units)
            progress, last_change = (counts.at_rest, counts.dead_letters), time.perf_counter()
            # Poll the database (the source of truth) until every request has settled or
            # dead-lettered; give up when nothing moves for `stall_seconds`.
            while counts.at_rest + counts.dead_letters < count:
                await asyncio.sleep(0.05)
                counts = await count_states(hub.units)
                if (counts.at_rest, counts.dead_letters) != progress:
                    progress, last_change = (
                        (counts.at_rest, counts.dead_letters),
                        time.perf_counter(),
                    )
                elif time.perf_counter() - last_change > stall_seconds:
                    raise BenchStalled(
                        f"no progress for {stall_seconds:.0f} s: {counts.at_rest} of {count} "
                        f"settled, {counts.dead_letters} dead-lettered"
                    )
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            latencies = await _latencies_ms(hub)
    cuts = quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    return PipelineResult(
        transport=settings.transport,
        count=count,
        disbursed=counts.by_state.get("DISBURSED", 0),
        dead_lettered=counts.dead_letters,
        seconds=seconds,
        p50_ms=cuts[49],
        p99_ms=cuts[98],
        cpu_seconds=cpu_seconds,
    )


async def _latencies_ms(hub: Hub) -> list[float]:
    async with hub.units() as uow:
        rows = (
            await uow.session.execute(
                select(RequestEventRow.request_id, RequestEventRow.state, RequestEventRow.at).where(
                    RequestEventRow.state.in_(["SUBMITTED", "DISBURSED"])
                )
            )
        ).all()
    submitted = {r.request_id: r.at for r in rows if r.state == "SUBMITTED"}
    return [
        (r.at - submitted[r.request_id]).total_seconds() * 1000
        for r in rows
        if r.state == "DISBURSED" and r.request_id in submitted
    ]
