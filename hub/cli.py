"""`factorhub`: run the hub, operate it, and try it out.

factorhub demo                 run the whole flow on embedded defaults with the simulators
factorhub serve                HTTP ingress (+ route workers unless --no-workers)
factorhub worker               route workers and the outbox relay only
factorhub db upgrade           apply database migrations
factorhub requests show ID     one request's state and full history
factorhub dlq list|show|replay dead letters
factorhub timers list          messages waiting for their time (next-day 查验 retries)
factorhub facilities add|list  seller facilities (buyer|buyers, anchor|anchors: buyer limits,
                               anchor programmes)
factorhub portfolio set|show|debtor  the 205号 portfolio (commercial factor caps)
factorhub schema export DIR    JSON Schema of every bus message
factorhub map FILE             an external document -> canonical JSON (--list: the formats)
factorhub render FORMAT FILE   canonical JSON -> an outbound document
factorhub reconcile ACCOUNT    our disbursements against the bank's camt.054 bookings
factorhub calc FILE.json       quote a financing (融资额度测算): amounts, interest, repayments
factorhub policy check FILE    validate a risk policy template (every bad key named)
factorhub bench pipeline|hop|raw|map  throughput and latency
factorhub bench tracing|crypto tracing's cost; 国密 operations/s beside gmssl's
factorhub trace REQUEST_ID     a request's journey (--slowest N, --failed)
factorhub audit seal|verify|export  the SM3 hash-chained audit trail
factorhub tenants add|list|rotate-key  ERP connections that sign their pushes
factorhub simulators up        the external-system simulators (SIMULATORS.md)
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from hub.cli_audit import audit_app
from hub.cli_calc import calc_command, policy_check_command
from hub.cli_limits import anchor_command, anchors_command, portfolio_app
from hub.cli_mapping import bench_map_command, map_command, render_command
from hub.cli_reconcile import reconcile_command
from hub.cli_simulators import simulators_app
from hub.cli_support import DatabaseOpt
from hub.cli_tenants import tenants_app
from hub.cli_trace import trace_command
from hub.config import Settings, serving_defaults

__all__ = ["app"]

T = TypeVar("T")

app = typer.Typer(
    name="factorhub",
    help="FactorHub: the asynchronous integration hub for factoring (保理) platforms.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
dlq_app = typer.Typer(
    help="Dead letters: messages a route gave up on, with the error.", no_args_is_help=True
)
requests_app = typer.Typer(help="Financing requests.", no_args_is_help=True)
facilities_app = typer.Typer(
    help="Seller facilities (limits and payout accounts).", no_args_is_help=True
)
schema_app = typer.Typer(
    help="JSON Schemas of the bus messages and the quote documents.", no_args_is_help=True
)
bench_app = typer.Typer(help="Benchmarks (commands, not tests).", no_args_is_help=True)
review_app = typer.Typer(
    help="Applications waiting for an operator (MATCH_REVIEW, REGISTRY_REVIEW).",
    no_args_is_help=True,
)
jobs_app = typer.Typer(
    help="Scheduled jobs (run them from cron or a scheduler).", no_args_is_help=True
)
timers_app = typer.Typer(
    help="Timers: messages the flow publishes later (next-day 查验 retries).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(dlq_app, name="dlq")
app.add_typer(requests_app, name="requests")
app.add_typer(facilities_app, name="facilities")
facilities_app.command("anchor")(anchor_command)
facilities_app.command("anchors")(anchors_command)
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(schema_app, name="schema")
app.add_typer(bench_app, name="bench")
app.add_typer(jobs_app, name="jobs")
app.add_typer(timers_app, name="timers")
app.add_typer(review_app, name="review")
app.add_typer(audit_app, name="audit")
app.add_typer(tenants_app, name="tenants")
app.command("map")(map_command)
app.add_typer(simulators_app, name="simulators")
app.command("reconcile")(reconcile_command)
app.command("trace")(trace_command)
app.command("calc")(calc_command)
policy_app = typer.Typer(help="Risk policy templates (YAML).", no_args_is_help=True)
policy_app.command("check")(policy_check_command)
app.add_typer(policy_app, name="policy")
app.command("render")(render_command)
bench_app.command("map")(bench_map_command)

console = Console()


def run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on uvloop when available (it is with uvicorn[standard]).

    Before it starts, the garbage collector is told to leave alone everything imported so far
    (`gc.freeze`) and to collect less often: a hub allocates many short-lived objects per
    message, and full collections over the import-time heap cost it about a third of its
    throughput (measured with `factorhub bench hop`).
    """

    async def main() -> T:
        return await coro_factory()

    gc.freeze()
    gc.set_threshold(10_000, 50, 100)

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency via uvicorn[standard]
        return asyncio.run(main())


def _settings(database_url: str | None = None, **overrides: Any) -> Settings:
    return Settings.from_env(database_url=database_url, **{**serving_defaults(), **overrides})


def _logging(verbose: bool, *, default_format: Literal["json", "text"] = "json") -> None:
    """Scrubbed logs, JSON lines by default, as FACTORHUB_LOG_FORMAT and FACTORHUB_LOG_LEVEL
    say (`observability.logs`); `--verbose`: at least INFO. A bad value stops the command."""
    import os

    from canonical import ConfigurationError
    from observability.logs import configure_logging, log_settings

    try:
        chosen = log_settings(os.environ, default_format=default_format, verbose=verbose)
    except ConfigurationError as error:
        Console(stderr=True).print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    configure_logging(chosen.format, chosen.level)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None) -> None:
    """Apply every migration not yet applied (also done on every start)."""
    from hub.persistence import Database

    async def go() -> None:
        database = Database(_settings(database_url).database_url)
        try:
            await database.upgrade()
        finally:
            await database.aclose()

    run(go)
    console.print("database is up to date")


@db_app.command("prune")
def db_prune(
    older_than_days: Annotated[
        float, typer.Option("--older-than-days", min=0, help="Retention period.")
    ] = 7.0,
    database_url: DatabaseOpt = None,
) -> None:
    """Delete outbox rows every consumer has handled, then their inbox rows, past retention.

    Safe while the hub runs; schedule it daily. The retention is also the window in which a
    broker redelivery is still recognised as a repeat. Dead letters are kept.
    """
    from datetime import timedelta

    from hub.app import utc_now
    from hub.housekeeping import prune
    from hub.persistence import Database, UnitOfWorkFactory
    from routes.flow import ROUTES

    async def go() -> tuple[int, int]:
        database = Database(_settings(database_url).database_url)
        try:
            await database.upgrade()
            pruned = await prune(
                UnitOfWorkFactory(database, utc_now),
                ROUTES,
                older_than=timedelta(days=older_than_days),
                now=utc_now(),
            )
            return pruned.outbox, pruned.inbox
        finally:
            await database.aclose()

    outbox, inbox = run(go)
    console.print(f"pruned {outbox} outbox row(s) and {inbox} inbox row(s)")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[bool, typer.Option(help="Also run the route workers.")] = True,
    database_url: DatabaseOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            envvar="FACTORHUB_TLS_CERT",
            help="Serve HTTPS (TLS 1.3 only) with this PEM certificate chain, server's first.",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key",
            envvar="FACTORHUB_TLS_KEY",
            help="The unencrypted PEM private key of --tls-cert.",
        ),
    ] = None,
    tls_client_ca: Annotated[
        Path | None,
        typer.Option(
            "--tls-client-ca",
            envvar="FACTORHUB_TLS_CLIENT_CA",
            help="Mutual TLS: clients must present a certificate this PEM CA signed.",
        ),
    ] = None,
) -> None:
    """Serve the HTTP ingress (and, by default, the route workers) until stopped; with
    --tls-cert and --tls-key, over TLS 1.3 only (--tls-client-ca: mutual TLS)."""
    _logging(verbose)
    from rich.markup import escape

    from canonical import ConfigurationError
    from hub.security.tls import CERT_OPTION, CLIENT_CA_OPTION, KEY_OPTION, ingress_context
    from hub.serving import serve_forever

    tls = None
    try:
        if tls_cert is None and (tls_key or tls_client_ca):
            given = KEY_OPTION if tls_key else CLIENT_CA_OPTION
            raise ConfigurationError(f"{given} needs {CERT_OPTION} (and {KEY_OPTION})")
        if tls_cert is not None:
            if tls_key is None:
                raise ConfigurationError(f"{CERT_OPTION} needs {KEY_OPTION}")
            tls = ingress_context(cert=tls_cert, key=tls_key, client_ca=tls_client_ca)
    except ConfigurationError as error:  # before anything starts
        Console(stderr=True).print(f"[red]{escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(2) from error
    run(
        lambda: serve_forever(
            _settings(database_url), host=host, port=port, workers=workers, tls=tls
        )
    )


@app.command()
def worker(
    database_url: DatabaseOpt = None,
    metrics_port: Annotated[
        int, typer.Option(min=0, help="Serve GET /metrics (Prometheus text) here; 0: not.")
    ] = 0,
    metrics_host: Annotated[str, typer.Option(help="Interface of --metrics-port.")] = "127.0.0.1",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the route consumers and the outbox relay until SIGTERM (with --metrics-port, also
    a minimal HTTP server for Prometheus to scrape)."""
    _logging(verbose)
    import contextlib

    from hub.app import Hub
    from observability.metrics import serving

    async def go() -> None:
        async with Hub(_settings(database_url)) as hub, contextlib.AsyncExitStack() as stack:
            if metrics_port:
                await stack.enter_async_context(
                    serving(hub.metrics, host=metrics_host, port=metrics_port)
                )
            await _until_signalled()

    run(go)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@requests_app.command("show")
def requests_show(
    request_id: str,
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A request's state and its full history, step by step; then its receivable, limit
    reservation and registration (§4.2-4.4), each with its moves."""
    from hub.persistence import Database, UnitOfWorkFactory
    from hub.persistence.lifecycles import Lifecycle, lifecycles_of
    from hub.persistence.tables import RequestRow

    async def go() -> tuple[RequestRow | None, list[Any], dict[Any, Lifecycle]]:
        database = Database(_settings(database_url).database_url)
        try:
            from hub.app import utc_now

            units = UnitOfWorkFactory(database, utc_now)
            async with units() as uow:
                row = await uow.session.get(RequestRow, request_id)
                history = await uow.requests.history(request_id) if row else []
                lifecycles = await lifecycles_of(uow.session, request_id) if row else {}
            return row, history, lifecycles
        finally:
            await database.aclose()

    row, history, lifecycles = run(go)
    if row is None:
        console.print(f"[red]no financing request {request_id}[/red]")
        raise typer.Exit(1)
    if as_json:
        print(
            json.dumps(
                {
                    "request_id": row.id,
                    "state": row.state,
                    "reason": row.reason,
                    "history": [
                        {
                            "state": h.state,
                            "reason": h.reason,
                            "note": h.note,
                            "message_type": h.message_type,
                            "at": h.at.isoformat(),
                        }
                        for h in history
                    ],
                    **{
                        entity.value: {
                            "state": lifecycle.state,
                            "history": [
                                {
                                    "from": e.source,
                                    "to": e.target,
                                    "event": e.event,
                                    "note": e.note,
                                    "message_type": e.message_type,
                                    "message_id": e.message_id,
                                    "at": e.at.isoformat(),
                                }
                                for e in lifecycle.history
                            ],
                        }
                        for entity, lifecycle in lifecycles.items()
                    },
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    console.print(
        f"[bold]{row.id}[/bold]  {row.source_system}:{row.source_document_id}  "
        f"invoice {row.invoice_key}  seller {row.seller_uscc}"
    )
    console.print(
        f"state [bold]{row.state}[/bold]" + (f"  reason {row.reason}" if row.reason else "")
    )
    table = Table("at (UTC)", "state", "caused by", "reason / note")
    for h in history:
        table.add_row(
            h.at.strftime("%H:%M:%S.%f")[:-3],
            h.state,
            h.message_type or "ingress",
            " ".join(x for x in (h.reason, h.note) if x),
        )
    console.print(table)
    for entity, lifecycle in lifecycles.items():
        console.print(f"{entity.value} [bold]{lifecycle.state or '-'}[/bold]")
        if not lifecycle.history:
            continue
        moves = Table("at (UTC)", "from", "to", "event", "caused by", "note")
        for e in lifecycle.history:
            moves.add_row(
                e.at.strftime("%H:%M:%S.%f")[:-3],
                e.source or "",
                e.target,
                e.event,
                e.message_type or "",
                e.note or "",
            )
        console.print(moves)


@dlq_app.command("list")
def dlq_list(
    database_url: DatabaseOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include replayed ones.")] = False,
) -> None:
    """Dead letters not yet replayed."""
    from hub.operations import list_dead_letters

    letters = run(lambda: _with_units(database_url, lambda u: list_dead_letters(u, all_=all_)))
    table = Table("id", "consumer", "message", "request", "attempts", "error", "replayed")
    for d in letters:
        table.add_row(
            str(d.id),
            d.consumer,
            d.envelope.type,
            d.envelope.correlation_id,
            str(d.attempts),
            d.error.splitlines()[-1][:60],
            d.replayed_at.isoformat() if d.replayed_at else "",
        )
    console.print(table if letters else "no dead letters")


@dlq_app.command("show")
def dlq_show(dead_letter_id: int, database_url: DatabaseOpt = None) -> None:
    """One dead letter: the error, the attempts and the original envelope."""
    from hub.operations import list_dead_letters

    letters = run(lambda: _with_units(database_url, lambda u: list_dead_letters(u, all_=True)))
    match = [d for d in letters if d.id == dead_letter_id]
    if not match:
        console.print(f"[red]no dead letter {dead_letter_id}[/red]")
        raise typer.Exit(1)
    d = match[0]
    print(
        json.dumps(
            {
                "id": d.id,
                "consumer": d.consumer,
                "topic": d.topic,
                "attempts": d.attempts,
                "error": d.error,
                "created_at": d.created_at.isoformat(),
                "replayed_at": d.replayed_at.isoformat() if d.replayed_at else None,
                "envelope": d.envelope.model_dump(mode="json"),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


OperatorOpt = Annotated[
    str | None,
    typer.Option(
        "--operator",
        envvar="FACTORHUB_OPERATOR",
        help="Who acts, for the audit trail (default: the login name).",
    ),
]


@dlq_app.command("replay")
def dlq_replay(
    dead_letter_id: Annotated[int | None, typer.Argument(help="Dead letter id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every open dead letter.")] = False,
    database_url: DatabaseOpt = None,
    operator: OperatorOpt = None,
) -> None:
    """Deliver dead letters to their consumer again, with the same message id."""
    from hub.operations import replay

    if (dead_letter_id is None) == (not all_):
        console.print("[red]give a dead letter id or --all (not both)[/red]")
        raise typer.Exit(2)
    ids = None if all_ else [dead_letter_id] if dead_letter_id is not None else None
    done = run(lambda: _with_units(database_url, lambda u: replay(u, ids, actor=operator)))
    if dead_letter_id is not None and not done:
        console.print(f"[red]no open dead letter {dead_letter_id}[/red]")
        raise typer.Exit(1)
    console.print(f"replayed {len(done)} dead letter(s): {', '.join(map(str, done)) or '-'}")


@facilities_app.command("add")
def facilities_add(
    seller_uscc: Annotated[str, typer.Option("--seller", help="Seller 统一社会信用代码.")],
    name: Annotated[str, typer.Option(help="Seller legal name.")],
    limit: Annotated[str, typer.Option(help="Facility limit, e.g. 5000000.00.")],
    account: Annotated[str, typer.Option(help="Payout account number.")],
    cnaps: Annotated[str, typer.Option(help="12-digit CNAPS bank code of the account.")],
    bank_name: Annotated[str, typer.Option(help="Bank name.")] = "",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    database_url: DatabaseOpt = None,
) -> None:
    """Open (or change) a seller's facility."""
    from pydantic import ValidationError

    from canonical import BankAccount, Money, Party, PartyRole
    from hub.operations import open_facilities
    from hub.persistence.facilities import FacilityTerms

    try:
        terms = FacilityTerms(
            seller=Party(name=name, uscc=seller_uscc, role=PartyRole.SELLER),
            limit=Money(amount=Decimal(limit), currency=currency),
            account=BankAccount(number=account, name=name, bank_name=bank_name, cnaps_code=cnaps),
        )
    except (ValidationError, InvalidOperation) as error:
        console.print(f"[red]invalid facility:[/red] {error}")
        raise typer.Exit(2) from error
    run(lambda: _with_units(database_url, lambda u: open_facilities(u, [terms])))
    console.print(f"facility for {terms.seller.uscc}: {terms.limit}")


@facilities_app.command("buyer")
def facilities_buyer(
    buyer_uscc: Annotated[str, typer.Option("--buyer", help="Buyer (debtor) 统一社会信用代码.")],
    name: Annotated[str, typer.Option(help="Buyer legal name.")],
    limit: Annotated[str, typer.Option(help="The most financed against this buyer at once.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    database_url: DatabaseOpt = None,
) -> None:
    """Set (or change) a buyer's (debtor's) limit, held together with each seller's facility."""
    from pydantic import ValidationError

    from canonical import Money, Party, PartyRole
    from hub.operations import open_buyer_limits
    from hub.persistence.facilities import BuyerLimitTerms

    try:
        terms = BuyerLimitTerms(
            buyer=Party(name=name, uscc=buyer_uscc, role=PartyRole.BUYER),
            limit=Money(amount=Decimal(limit), currency=currency),
        )
    except (ValidationError, InvalidOperation) as error:
        console.print(f"[red]invalid buyer limit:[/red] {error}")
        raise typer.Exit(2) from error
    run(lambda: _with_units(database_url, lambda u: open_buyer_limits(u, [terms])))
    console.print(f"buyer limit for {terms.buyer.uscc}: {terms.limit}")


@facilities_app.command("buyers")
def facilities_buyers(database_url: DatabaseOpt = None) -> None:
    """Every buyer (debtor) limit with its use and reservations."""
    from hub.operations import buyer_limit_rows

    rows = run(lambda: _with_units(database_url, buyer_limit_rows))
    _print_limits("buyer", [(r.buyer_uscc, r.buyer_name, r) for r in rows])


@facilities_app.command("list")
def facilities_list(database_url: DatabaseOpt = None) -> None:
    """Every facility with its limit, use and reservations."""
    from hub.operations import facility_rows

    rows = run(lambda: _with_units(database_url, facility_rows))
    _print_limits("seller", [(r.seller_uscc, r.seller_name, r) for r in rows])


def _print_limits(party: str, rows: list[tuple[str, str, Any]]) -> None:
    """One line per limit (a facility or buyer limit row, after its party's USCC and name):
    limit, used and reserved in its currency."""
    from hub.persistence.money import from_fen

    table = Table(party, "name", "limit", "used", "reserved")
    for uscc, name, r in rows:
        fen = (r.limit_fen, r.used_fen, r.reserved_fen)
        table.add_row(uscc, name, *(str(from_fen(f, r.currency)) for f in fen))
    console.print(table)


@review_app.command("list")
def review_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the queue as JSON.")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Every application waiting for an operator, oldest first, with the finding."""
    from hub.review import pending_reviews

    items = run(lambda: _with_units(database_url, pending_reviews))
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "request_id": i.request_id,
                        "state": i.state,
                        "reason": i.reason,
                        "detail": i.detail,
                        "seller_uscc": i.seller_uscc,
                        "invoice": i.invoice_key,
                        "total": i.total,
                        "waiting_since": i.waiting_since.isoformat(),
                    }
                    for i in items
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    table = Table("request", "state", "reason", "invoice", "total", "detail")
    for i in items:
        table.add_row(i.request_id, i.state, i.reason or "", i.invoice_key, i.total, i.detail or "")
    console.print(table)
    console.print(f"{len(items)} waiting")


NoteOpt = Annotated[str, typer.Option("--note", help="Why (kept in the application's history).")]


@review_app.command("approve")
def review_approve(
    request_id: str, note: NoteOpt, database_url: DatabaseOpt = None, operator: OperatorOpt = None
) -> None:
    """Clear the finding and let the application go on from the step that stopped it."""
    from hub.review import ReviewError, approve
    from routes.policy import FlowPolicy, flow_policy, load_policy

    settings = _settings(database_url)
    policy = (
        flow_policy(load_policy(settings.policy_file)) if settings.policy_file else FlowPolicy()
    )
    try:
        state = run(
            lambda: _with_units(
                database_url,
                lambda u: approve(u, request_id, note=note, policy=policy, actor=operator),
            )
        )
    except ReviewError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"{request_id}: approved, back in the flow at {state.value}")


@review_app.command("reject")
def review_reject(
    request_id: str, note: NoteOpt, database_url: DatabaseOpt = None, operator: OperatorOpt = None
) -> None:
    """End the application REJECTED with its finding as the reason; its limit is released."""
    from hub.review import ReviewError, reject

    try:
        run(
            lambda: _with_units(
                database_url, lambda u: reject(u, request_id, note=note, actor=operator)
            )
        )
    except ReviewError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"{request_id}: rejected")


@jobs_app.command("daily")
def jobs_daily(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="The business day reviewed, YYYY-MM-DD (default: today in Beijing)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    deregister: Annotated[
        bool,
        typer.Option(
            "--deregister/--no-deregister",
            help="Cancel settled financings' 中登网 registrations (FACTORHUB_REGISTRY_URL).",
        ),
    ] = True,
    database_url: DatabaseOpt = None,
) -> None:
    """Review every outstanding loan: OVERDUE once unpaid beyond the penalty grace window,
    non-performing past 90 days past due, and early warnings (DPD >= 1, >= 30, > 90) published
    on the `risk.early-warning` topic, each level once; fire the timers due on or before the
    day (next-day 查验 retries); and cancel the registration of every settled financing at
    中登网 (due within T + 10 working days; a failure is retried at the next run and listed as
    late past the deadline). Safe to run again for the same day."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    import httpx

    from connectors.registry import HttpRegistryGateway
    from hub.daily import DailyReport, run_daily
    from hub.persistence import UnitOfWorkFactory

    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(ZoneInfo("Asia/Shanghai")).date()
    except ValueError as error:
        console.print(f"[red]--as-of: {error}[/red]")
        raise typer.Exit(2) from error
    settings = _settings(database_url)

    async def daily(units: UnitOfWorkFactory) -> DailyReport:
        if not deregister:
            return await run_daily(units, day)
        from hub.security.tls import partner_verify

        timeout = httpx.Timeout(settings.http_timeout)
        verify = partner_verify(settings.ca_bundle_pem)
        async with httpx.AsyncClient(
            base_url=settings.registry_url, timeout=timeout, verify=verify
        ) as client:
            return await run_daily(units, day, registry=HttpRegistryGateway(client))

    report = run(lambda: _with_units(database_url, daily))
    cancelled = report.deregistration
    if as_json:
        print(
            json.dumps(
                {
                    "as_of": day.isoformat(),
                    "reviewed": report.reviewed,
                    "became_overdue": report.became_overdue,
                    "timers_fired": report.timers_fired,
                    "registrations_cancelled": cancelled.cancelled,
                    "cancellations_failed": [
                        {"request_id": r, "error": why} for r, why in cancelled.failed
                    ],
                    "cancellations_late": cancelled.late,
                    "warnings": [
                        {"request_id": r, "level": level, "days_past_due": dpd}
                        for r, level, dpd in report.warned
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    console.print(
        f"{day}: reviewed {report.reviewed} outstanding loan(s); "
        f"{len(report.became_overdue)} became overdue; "
        f"warnings: {dict(report.warnings) or 'none'}; timers fired: {report.timers_fired}"
    )
    for request_id, level, dpd in report.warned:
        console.print(f"  {level:<15} {request_id}  {dpd} days past due")
    if deregister:
        console.print(
            f"registrations cancelled: {len(cancelled.cancelled)}; "
            f"to retry: {len(cancelled.failed)}; late (past T+10 working days): "
            f"{len(cancelled.late)}"
        )
    for request_id, why in cancelled.failed:
        late = " LATE" if request_id in cancelled.late else ""
        console.print(f"  [yellow]not cancelled{late}[/yellow] {request_id}: {why}")


@timers_app.command("list")
def timers_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Timers not fired yet, the earliest due first: when, on which topic, for which request."""

    async def pending(units: Any) -> list[Any]:
        async with units() as uow:
            return list(await uow.timers.pending())

    from routes.later import CHINA

    timers = run(lambda: _with_units(database_url, pending))
    if as_json:
        rows = [
            {
                "id": t.id,
                "due_at": t.due_at.astimezone(CHINA).isoformat(),
                "topic": t.topic,
                "type": t.message_type,
                "request_id": t.request_id,
                "message_id": t.message_id,
            }
            for t in timers
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "due at", "topic", "message", "request")
    for t in timers:
        due = t.due_at.astimezone(CHINA).isoformat(timespec="minutes")
        table.add_row(str(t.id), due, t.topic, t.message_type, t.request_id)
    console.print(table if timers else "no pending timers")


@schema_app.command("export")
def schema_export(directory: Path) -> None:
    """Write a JSON Schema per bus message type, the envelope and the quote documents."""
    from hub.schemas import export_schemas

    for path in export_schemas(directory):
        console.print(str(path))


async def _with_units(database_url: str | None, action: Callable[[Any], Awaitable[T]]) -> T:
    from hub.app import utc_now
    from hub.persistence import Database, UnitOfWorkFactory

    database = Database(_settings(database_url).database_url)
    try:
        await database.upgrade()
        return await action(UnitOfWorkFactory(database, utc_now))
    finally:
        await database.aclose()


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


_BROKER_DEFAULTS = {"embedded": None, "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/"}


@app.command()
def demo(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Invoices to push.")] = 1000,
    transport: Annotated[
        str,
        typer.Option(
            help="embedded | kafka | rabbitmq (kafka and rabbitmq need a running broker)."
        ),
    ] = "embedded",
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Database (default: a fresh SQLite file var/demo.db)."),
    ] = None,
    broker_url: Annotated[
        str | None,
        typer.Option(
            "--broker-url", help="kafka://host:port or amqp://... (rabbitmq defaults to localhost)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated companies and invoices.")] = 7,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Push generated Kingdee and Yonyou invoices through the whole flow and summarise.

    Exits 0 only when every accepted invoice reached a terminal state or waits, with its
    reason, for an operator (`factorhub review list`).
    """
    _logging(verbose, default_format="text")
    from hub.demo import DEMO_DATABASE, render_summary, run_demo

    if transport not in {"embedded", "kafka", "rabbitmq"}:
        console.print(
            f"[red]--transport must be embedded, kafka or rabbitmq, not {transport}[/red]"
        )
        raise typer.Exit(2)
    broker = broker_url or _BROKER_DEFAULTS.get(transport)
    if transport == "kafka" and not broker:
        console.print("[red]--transport kafka needs --broker-url kafka://host:port[/red]")
        raise typer.Exit(2)
    if database_url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite+aiosqlite:///{DEMO_DATABASE}"
    settings = Settings.from_env(None, database_url=database_url, **serving_defaults())
    settings = Settings(**{**settings.__dict__, "broker_url": broker})
    console.print(
        f"FactorHub demo: {count} invoices, transport {settings.transport}, database {database_url}"
    )
    result = run(lambda: run_demo(settings, count=count, seed=seed, console=console))
    render_summary(result, console)
    if not result.complete:
        console.print("[red]not every invoice reached a terminal state or the review queue[/red]")
        raise typer.Exit(1)


BenchDatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="Default: a fresh SQLite file under var/bench/."),
]
BrokerOpt = Annotated[
    str | None,
    typer.Option(
        "--broker-url", help="kafka:// or amqp://; kafka defaults to a local tansu broker."
    ),
]


@bench_app.command("pipeline")
def bench_pipeline_command(
    transport: Annotated[str, typer.Option(help="embedded | kafka | rabbitmq")] = "embedded",
    count: Annotated[int, typer.Option("--count", "-n", min=1)] = 2000,
    database_url: BenchDatabaseOpt = None,
    broker_url: BrokerOpt = None,
    verify: Annotated[
        bool, typer.Option(help="Also verify every invoice at the VAT platform simulator.")
    ] = False,
    trace: Annotated[
        bool, typer.Option("--trace", help="Trace into the local span store (default: off).")
    ] = False,
) -> None:
    """End-to-end invoices/s and p50/p99 latency (ingress commit -> bank acceptance)."""
    import contextlib
    from dataclasses import replace

    from hub.bench import BenchStalled, bench_pipeline
    from observability.tracing import TracingSettings

    with contextlib.ExitStack() as stack:
        broker = _bench_broker(transport, broker_url, stack)
        settings = _bench_settings(f"pipeline-{transport}", database_url, broker)
        local = TracingSettings(exporters=("local",))
        traced = settings.tracing if settings.tracing.exporters else local
        settings = replace(settings, tracing=traced if trace else TracingSettings())
        try:
            result = run(lambda: bench_pipeline(settings, count=count, verify=verify))
        except BenchStalled as error:
            console.print(f"[red]bench stalled:[/red] {error} (see `factorhub dlq list`)")
            raise typer.Exit(1) from error
    console.print(
        f"pipeline {result.transport}: {result.count} invoices in {result.seconds:.2f} s = "
        f"[bold]{result.per_second:.0f} invoices/s[/bold]; latency p50 {result.p50_ms:.0f} ms, "
        f"p99 {result.p99_ms:.0f} ms; disbursed {result.disbursed}, "
        f"dead-lettered {result.dead_lettered}; hub process CPU "
        f"{result.cpu_us_per_invoice:.0f} µs per invoice"
    )


@bench_app.command("tracing")
def bench_tracing_command(
    count: Annotated[int, typer.Option("--count", "-n", min=1)] = 3000,
    rounds: Annotated[int, typer.Option(min=1, help="Off/on pairs, run alternately.")] = 3,
    sampler_ratio: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of requests traced when on (parent-based)."),
    ] = 1.0,
) -> None:
    """Tracing's cost, in one run: the embedded pipeline with tracing off and on (the local
    span store) alternately, each on a fresh database; the medians and the overhead."""
    from dataclasses import replace
    from functools import partial

    from hub.bench import BenchStalled, PipelineResult, bench_pipeline, overhead
    from observability.tracing import TracingSettings

    sides: dict[bool, list[PipelineResult]] = {False: [], True: []}
    for round_ in range(rounds):
        for traced in (False, True):
            label = "on " if traced else "off"
            settings = _bench_settings(f"tracing-{round_}-{label.strip()}", None, None)
            tracing = TracingSettings(exporters=("local",), sampler_ratio=sampler_ratio)
            settings = replace(settings, tracing=tracing if traced else TracingSettings())
            try:
                result = run(partial(bench_pipeline, settings, count=count))
            except BenchStalled as error:
                console.print(f"[red]bench stalled:[/red] {error}")
                raise typer.Exit(1) from error
            sides[traced].append(result)
            console.print(
                f"tracing {label} {result.per_second:6.0f} invoices/s  "
                f"{result.cpu_us_per_invoice:6.0f} µs hub CPU per invoice  "
                f"p50 {result.p50_ms:.0f} ms  p99 {result.p99_ms:.0f} ms"
            )
    cost = overhead(sides[False], sides[True])
    console.print(
        f"medians: off {cost.off_per_second:.0f}/s, on {cost.on_per_second:.0f}/s "
        f"(sampler {sampler_ratio:g}): [bold]overhead {cost.throughput:.0%}[/bold] of "
        f"invoices/s, {cost.cpu:.0%} more hub CPU per invoice"
    )


@bench_app.command("raw")
def bench_raw_command(
    transport: Annotated[str, typer.Option(help="kafka | rabbitmq")] = "kafka",
    count: Annotated[int, typer.Option("--count", "-n", min=1)] = 10000,
    broker_url: BrokerOpt = None,
) -> None:
    """The bare client pass-through (consume, parse, publish, commit) on the same broker."""
    import contextlib

    _require_broker(transport)
    with contextlib.ExitStack() as stack:
        result = _raw(transport, _bench_broker(transport, broker_url, stack), count)
    console.print(
        f"raw {transport}: {result['count']} messages in {result['seconds']} s = "
        f"[bold]{result['msgs_per_s']:.0f} msg/s[/bold]"
    )


@bench_app.command("hop")
def bench_hop_command(
    transport: Annotated[str, typer.Option(help="kafka | rabbitmq")] = "kafka",
    count: Annotated[int, typer.Option("--count", "-n", min=2)] = 5000,
    database_url: BenchDatabaseOpt = None,
    broker_url: BrokerOpt = None,
) -> None:
    """One hub hop (reserve-limit) beside the raw pass-through, on the same broker, same run."""
    import contextlib

    from hub.bench_hop import bench_hop

    _require_broker(transport)
    with contextlib.ExitStack() as stack:
        broker = _bench_broker(transport, broker_url, stack)
        # The best of three raw runs: a fresh broker's first passes can be slow, and the hop
        # is to be measured against the broker at its fastest.
        raws = [_raw(transport, broker, count) for _ in range(3)]
        raw = max(raws, key=lambda r: float(r["msgs_per_s"]))
        settings = _bench_settings(f"hop-{transport}", database_url, broker)
        hop = run(lambda: bench_hop(settings, count=count))
    ratio = hop.per_second / raw["msgs_per_s"] if raw["msgs_per_s"] else 0.0
    passes = ", ".join(f"{r['msgs_per_s']:.0f}" for r in raws)
    console.print(
        f"raw {transport}: [bold]{raw['msgs_per_s']:.0f} msg/s[/bold] (best of {passes}); "
        f"hub hop {hop.route}: {hop.count} messages in {hop.seconds:.2f} s = "
        f"[bold]{hop.per_second:.0f} msg/s[/bold] ({ratio:.0%} of raw)"
    )


@bench_app.command("crypto")
def bench_crypto_command(
    seconds: Annotated[
        float, typer.Option(min=0.001, help="Time per operation, for each library.")
    ] = 1.0,
) -> None:
    """国密 operations/s (SM2 sign/verify, SM4, SM3, HMAC-SM3) on native code beside gmssl."""
    from hub.bench_crypto import bench_crypto, render

    console.print(render(bench_crypto(seconds), seconds), highlight=False, markup=False)


def _bench_broker(transport: str, broker_url: str | None, stack: Any) -> str | None:
    """The broker URL for a benchmark: given, the local default, or a throw-away tansu."""
    from hub.devbroker import local_kafka

    broker = broker_url or _BROKER_DEFAULTS.get(transport)
    if transport == "kafka" and not broker:
        broker = f"kafka://{stack.enter_context(local_kafka())}"
    return broker


def _bench_settings(name: str, database_url: str | None, broker: str | None) -> Settings:
    """Settings for a benchmark: the given database, or a fresh SQLite file per run."""
    import time
    from dataclasses import replace

    if database_url is None:
        path = Path("var/bench") / f"{name}-{time.time_ns()}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite+aiosqlite:///{path}"
    settings = Settings.from_env(None, database_url=database_url, **serving_defaults())
    return replace(settings, broker_url=broker)


def _require_broker(transport: str) -> None:
    if transport not in {"kafka", "rabbitmq"}:
        console.print("[red]--transport must be kafka or rabbitmq[/red]")
        raise typer.Exit(2)


def _raw(transport: str, broker: str | None, count: int) -> dict[str, Any]:
    """One raw pass-through run; the Kafka client wants host:port, not the kafka:// URL."""
    from urllib.parse import urlsplit

    from hub.bench_raw import raw_passthrough

    assert broker is not None
    url = urlsplit(broker).netloc if transport == "kafka" else broker
    return run(lambda: raw_passthrough(transport, url, count))  # type: ignore[arg-type]
