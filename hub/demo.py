"""`factorhub demo`: the whole flow on one machine, from ERP pushes to bank payments.

Starts the registry and bank simulators and the hub (embedded transport and SQLite unless told
otherwise), opens facilities for the generated sellers, pushes generated Kingdee and Yonyou
invoices through the HTTP ingress, and waits until every request is in a terminal state.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from canonical import BankAccount, Money, Party, PartyRole
from hub.app import Hub
from hub.config import Settings
from hub.operations import StateCounts, count_states, open_facilities
from hub.persistence.facilities import FacilityTerms
from hub.serving import running_ingress
from simulators.erp.dataset import Company, generate_companies, generate_invoices
from simulators.erp.pusher import PushResult, push_cases
from simulators.runner import running_simulators

__all__ = ["DemoResult", "run_demo"]

DEMO_DATABASE = Path("var/demo.db")
SMALL_LIMIT = Decimal("2000000.00")
"""One seller gets a small facility, so the demo shows limit rejections too."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    pushed: int
    accepted: int
    refused: int
    counts: StateCounts
    seconds: float
    database_url: str
    sample_request: str | None

    @property
    def complete(self) -> bool:
        return self.counts.at_rest == self.accepted and self.refused == 0


def facility_terms(
    sellers: tuple[Company, ...],
    *,
    one_small: bool = True,
    limit: Decimal = Decimal("500000000.00"),
) -> list[FacilityTerms]:
    """A facility of `limit` per seller; with `one_small`, the last one is small enough to
    run out."""
    terms = []
    for i, company in enumerate(sellers):
        small = one_small and i == len(sellers) - 1
        limit_here = SMALL_LIMIT if small else limit
        terms.append(
            FacilityTerms(
                seller=Party(name=company.name, uscc=company.uscc, role=PartyRole.SELLER),
                limit=Money(amount=limit_here),
                account=BankAccount(
                    number=company.bank_account,
                    name=company.name,
                    bank_name=company.bank_name,
                    cnaps_code=company.cnaps_code,
                ),
            )
        )
    return terms


async def run_demo(
    settings: Settings,
    *,
    count: int,
    seed: int = 7,
    concurrency: int = 32,
    deadline_s: float = 600.0,
    console: Console | None = None,
) -> DemoResult:
    """Run the demo; the caller owns the database (a fresh one gives a clean summary)."""
    console = console or Console()
    companies = generate_companies(seed, sellers=6, buyers=24)
    cases = generate_invoices(seed, count, companies)
    async with running_simulators(["registry", "bank"], seed=seed) as sims:
        settings = replace(
            settings, registry_url=sims["registry"].base_url, bank_url=sims["bank"].base_url
        )
        async with Hub(settings) as hub:
            await open_facilities(hub.units, facility_terms(companies.sellers))
            async with running_ingress(hub) as base_url:
                started = time.perf_counter()
                pushing = asyncio.create_task(push_cases(base_url, cases, concurrency=concurrency))
                counts = await _follow(hub, pushing, count, deadline_s, console)
                results = await pushing
                counts = await count_states(hub.units)
                seconds = time.perf_counter() - started
    accepted = [r for r in results if r.ok]
    return DemoResult(
        pushed=len(results),
        accepted=len({_request_id(r) for r in accepted}),
        refused=len(results) - len(accepted),
        counts=counts,
        seconds=seconds,
        database_url=settings.database_url,
        sample_request=_request_id(accepted[0]) if accepted else None,
    )


async def _follow(
    hub: Hub,
    pushing: asyncio.Task[list[PushResult]],
    count: int,
    deadline_s: float,
    console: Console,
) -> StateCounts:
    deadline = time.monotonic() + deadline_s
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("invoices settled", total=count)
        while True:
            counts = await count_states(hub.units)
            progress.update(task, completed=counts.at_rest)
            if pushing.done() and counts.at_rest >= counts.total:
                return counts
            if time.monotonic() > deadline:
                return counts
            await asyncio.sleep(0.25)


def _request_id(result: PushResult) -> str:
    body = result.body
    return str(body.get("request_id")) if isinstance(body, dict) else ""


def render_summary(result: DemoResult, console: Console) -> None:
    counts = result.counts
    table = Table(title="FactorHub demo", show_header=False)
    table.add_row("invoices pushed", str(result.pushed))
    table.add_row("accepted", str(result.accepted))
    table.add_row("refused at ingress", str(result.refused))
    table.add_row("disbursed", str(counts.by_state.get("DISBURSED", 0)))
    for reason, n in sorted(counts.rejected_by_reason.items()):
        table.add_row(f"rejected: {reason}", str(n))
    for state in ("MATCH_REVIEW", "REGISTRY_REVIEW"):
        if counts.by_state.get(state):
            table.add_row(f"waiting: {state} (factorhub review)", str(counts.by_state[state]))
    pending = counts.total - counts.at_rest
    table.add_row("still in flight", str(pending))
    table.add_row("dead-lettered", str(counts.dead_letters))
    table.add_row("elapsed", f"{result.seconds:.1f} s")
    table.add_row(
        "invoices/s", f"{result.accepted / result.seconds:.0f}" if result.seconds else "-"
    )
    console.print(table)
    if result.sample_request:
        console.print(
            "One request's history:  "
            f"[bold]factorhub requests show {result.sample_request} "
            f"--database-url {result.database_url}[/bold]"
        )
