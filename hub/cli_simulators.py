"""`factorhub simulators up`: every external system's simulator on loopback, for QA and CI.

The simulators are their own package (they share no parsing code with the hub); this only
starts them. See SIMULATORS.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from simulators.cli import ScenarioFileError, load_scenario, up
from simulators.erp.dataset import DEFAULT_ANOMALY_RATE
from simulators.runner import SIMULATORS

__all__ = ["simulators_app"]

simulators_app = typer.Typer(
    help="The bundled simulators of the external systems (see SIMULATORS.md).",
    no_args_is_help=True,
)
errors = Console(stderr=True)


@simulators_app.command("up")
def simulators_up(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help=f"Start only these (repeatable): {', '.join(SIMULATORS)}."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated data and of the faults.")] = 0,
    scenario: Annotated[
        Path | None, typer.Option(help="YAML scenario: a section per simulator, applied at start.")
    ] = None,
    ports_file: Annotated[
        Path, typer.Option(help="Where to write each simulator's base and admin URL (JSON).")
    ] = Path("var/simulators.json"),
    port: Annotated[
        list[str] | None, typer.Option("--port", help="NAME=PORT: a fixed port (repeatable).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Run the simulators until Ctrl-C / SIGTERM; print their addresses."""
    names = only or list(SIMULATORS)
    unknown = [n for n in names if n not in SIMULATORS]
    if unknown:
        errors.print(f"error: unknown simulators {unknown}; known: {', '.join(SIMULATORS)}")
        raise typer.Exit(2)
    fixed: dict[str, int] = {}
    for item in port or []:
        name, _, number = item.partition("=")
        if name not in SIMULATORS or not number.isdigit():
            errors.print(f"error: --port {item!r}: expected NAME=PORT with a known NAME")
            raise typer.Exit(2)
        fixed[name] = int(number)
    try:
        sections = load_scenario(scenario) if scenario else None
        asyncio.run(up(names, seed, host, ports_file, fixed, sections))
    except ScenarioFileError as error:
        errors.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(2) from None


@simulators_app.command("push")
def simulators_push(
    hub: Annotated[str, typer.Option(help="Base URL of the hub's ingress.")] = (
        "http://127.0.0.1:8080"
    ),
    count: Annotated[int, typer.Option("--count", "-n", min=1)] = 100,
    rate: Annotated[
        float | None, typer.Option(help="Invoices per second (default: as fast as accepted).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated ERP data.")] = 0,
    vendor: Annotated[
        str, typer.Option(help="kingdee, yonyou or both (the generator's own mix).")
    ] = "both",
    anomaly_rate: Annotated[
        float,
        typer.Option(
            help="Rate of each generated anomaly (amount/quantity mismatches); keep the "
            "default to push the invoices the other simulators know."
        ),
    ] = DEFAULT_ANOMALY_RATE,
    tenant: Annotated[
        str | None,
        typer.Option(
            envvar="FACTORHUB_PUSH_TENANT",
            help="Sign every push as this tenant (a hub with FACTORHUB_INGRESS_AUTH=on).",
        ),
    ] = None,
    key_id: Annotated[
        str | None, typer.Option(envvar="FACTORHUB_PUSH_KEY_ID", help="The tenant's key id.")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="FACTORHUB_PUSH_SECRET",
            help="The tenant's HMAC-SM3 secret (hex), as `factorhub tenants add` printed it.",
        ),
    ] = None,
) -> None:
    """Push generated ERP invoices (with their orders) to a running hub, as the ERPs do
    (signed, with --tenant/--key-id/--secret, as a hub with signed ingress requires)."""
    from simulators.erp.dataset import (
        ANOMALIES,
        STANDARD_CASES,
        generate_companies,
        generate_invoices,
    )
    from simulators.erp.pusher import TenantCredentials, push_cases

    if vendor not in {"kingdee", "yonyou", "both"}:
        errors.print("error: --vendor must be kingdee, yonyou or both")
        raise typer.Exit(2)
    signing = (tenant, key_id, secret)
    if any(signing) and not all(signing):
        errors.print("error: --tenant, --key-id and --secret go together")
        raise typer.Exit(2)
    credentials = (
        TenantCredentials(tenant, key_id, secret)
        if tenant is not None and key_id is not None and secret is not None
        else None
    )
    companies = generate_companies(seed)
    rates = dict.fromkeys(ANOMALIES, anomaly_rate)
    # The simulators hold the standard dataset: push from it (the same invoices the VAT
    # platform knows) as long as it has enough of the vendor's.
    total = STANDARD_CASES
    while True:
        cases = [
            c
            for c in generate_invoices(seed, total, companies, rates)
            if vendor in ("both", c.vendor)
        ]
        if len(cases) >= count:
            break
        total *= 2
    cases = cases[:count]
    results = asyncio.run(push_cases(hub, cases, rate=rate, credentials=credentials))
    accepted = sum(r.ok for r in results)
    Console().print(f"pushed {len(results)} invoices to {hub}: {accepted} accepted (2xx)")
    for failed in (r for r in results if not r.ok):
        errors.print(f"  {failed.case_id}: {failed.status_code or failed.error}", markup=False)
    if accepted != len(results):
        raise typer.Exit(1)
