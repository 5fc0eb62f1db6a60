"""`factorhub reconcile ACCOUNT`: our disbursements against the bank's ledger (对账).

Prints every difference as a table (or `--json`). Exit 0: none; 1: there are differences;
2: bad input, a database that cannot be read, or a bank that cannot be reached or understood.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import httpx
import typer
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from canonical import ConfigurationError, ConnectorError, MappingError
from connectors.bank_statements import BankStatements
from hub.config import Settings
from hub.persistence import Database, UnitOfWorkFactory
from hub.reconcile import DifferenceCode, Report, run_reconciliation
from hub.security.tls import partner_verify

__all__ = ["reconcile_command"]

EXIT_CLEAN, EXIT_DIFFERENCES, EXIT_FAILED = 0, 1, 2
_ACCOUNT_MAX = 34  # ISO 20022 Max34Text: an account the bank could never name otherwise

console = Console()
errors = Console(stderr=True)


def reconcile_command(
    account: Annotated[str, typer.Argument(help="Our paying (debtor) account number.")],
    bank_url: Annotated[
        str | None,
        typer.Option(
            "--bank-url",
            envvar="FACTORHUB_BANK_URL",
            help="Base URL of the bank's ISO 20022 channel.",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="FACTORHUB_DATABASE_URL",
            help="SQLAlchemy async URL (default: SQLite under ./var).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Compare our disbursements from ACCOUNT with what the bank booked; list every difference."""
    account = account.strip()
    if not account or len(account) > _ACCOUNT_MAX:
        _fail(f"ACCOUNT must be 1 to {_ACCOUNT_MAX} characters, not {account!r}")
    try:
        settings = Settings.from_env(database_url=database_url, bank_url=bank_url)
    except ConfigurationError as error:
        _fail(str(error))
    try:
        report = asyncio.run(_reconcile(settings, account))
    except httpx.InvalidURL as error:
        _fail(f"--bank-url {settings.bank_url!r} is not a URL: {error}")
    except ConnectorError as error:
        _fail(f"the bank could not be asked: {error}")
    except MappingError as error:
        _fail(f"the bank's statement cannot be reconciled: {error}")
    except SQLAlchemyError as error:
        _fail(f"our disbursements could not be read: {error}")
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print(report)
    raise typer.Exit(EXIT_CLEAN if report.clean else EXIT_DIFFERENCES)


async def _reconcile(settings: Settings, account: str) -> Report:
    database = Database(settings.database_url)
    timeout = httpx.Timeout(settings.http_timeout, connect=3.0)
    try:
        verify = partner_verify(settings.ca_bundle_pem)
        async with httpx.AsyncClient(
            base_url=settings.bank_url, timeout=timeout, verify=verify
        ) as client:
            units = UnitOfWorkFactory(database, lambda: datetime.now(UTC))
            return await run_reconciliation(units, BankStatements(client), account)
    finally:
        await database.aclose()


def _print(report: Report) -> None:
    console.print(
        f"account {report.account}: {report.ours} disbursement(s), "
        f"{report.booked} booked by the bank",
        highlight=False,
    )
    if report.clean:
        console.print("no differences")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # Codes, ids, states and amounts are what an operator acts on: never cut. The detail only
    # says the same in words, so it is left to --json; the bank entry numbers wrap instead.
    table.add_column("code", no_wrap=True, min_width=len(max(DifferenceCode, key=len)))
    table.add_column("EndToEndId", no_wrap=True)
    table.add_column("ours", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("bank", justify="right", no_wrap=True)
    table.add_column("entry", min_width=5)
    for d in report.differences:
        table.add_row(
            d.code.value,
            d.end_to_end_id,
            "" if d.our_amount is None else f"{d.our_amount.amount} {d.our_amount.currency}",
            d.our_state or "",
            "" if d.bank_amount is None else f"{d.bank_amount.amount} {d.bank_amount.currency}",
            ", ".join(d.entry_references),
        )
    console.print(table)
    console.print(f"{len(report.differences)} difference(s)", highlight=False)


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(EXIT_FAILED)
