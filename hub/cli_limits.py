"""`factorhub facilities anchor|anchors` and `factorhub portfolio set|show|debtor`: the anchor
programmes (§3.5) and the commercial factor's 205号 portfolio (§2.11) the limit step holds on.

Bad input exits 2 naming the option; the figures print as a table (or `--json`).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from canonical import Money, Party, PartyRole
from canonical.uscc import normalise_uscc, uscc_problem
from hub.cli_support import DatabaseOpt, with_units
from routes.quote.models import Portfolio
from routes.quote.sizing import portfolio_headroom

if TYPE_CHECKING:
    from hub.persistence.programmes_admin import PortfolioFigures

__all__ = ["anchor_command", "anchors_command", "portfolio_app"]

console = Console()
errors = Console(stderr=True)
portfolio_app = typer.Typer(
    help="The commercial factor's 205号 portfolio (single debtor <= 50 %, related parties "
    "<= 40 %, risk assets <= 10x net assets), checked by the limit step when set.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def anchor_command(
    anchor_uscc: Annotated[str, typer.Option("--anchor", help="Anchor (core enterprise) USCC.")],
    name: Annotated[str, typer.Option(help="Anchor legal name.")],
    limit: Annotated[str, typer.Option(help="The most financed against the anchor at once.")],
    seller_share: Annotated[
        str, typer.Option(help="The fraction of the limit one supplier may take (§3.5).")
    ] = "0.25",
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    database_url: DatabaseOpt = None,
) -> None:
    """Open (or change) an anchor's reverse-factoring programme, held with every supplier's
    facility: over all suppliers at most LIMIT, and one supplier at most its share of it."""
    from pydantic import ValidationError

    from hub.operations import open_anchor_programmes
    from hub.persistence.programmes_admin import AnchorTerms

    uscc = _uscc(anchor_uscc, "--anchor")
    try:
        party = Party(name=name, uscc=uscc, role=PartyRole.BUYER)
    except ValidationError as error:
        _fail(f"--name: {error.errors()[0]['msg']}")
    share = _decimal(seller_share, "--seller-share")
    try:
        terms = AnchorTerms(party, _money(limit, "--limit", currency), share)
    except ValueError as error:
        _fail(f"--seller-share: {error}")
    with_units(database_url, lambda units: open_anchor_programmes(units, [terms]))
    console.print(
        f"anchor programme for {party.uscc}: {terms.limit}, "
        f"at most {_pct(terms.seller_share)} of it a supplier"
    )


def anchors_command(database_url: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Every anchor programme with its use, and each supplier's use of it."""
    from hub.operations import anchor_programmes

    rows = with_units(database_url, anchor_programmes)
    if as_json:
        _print_json(
            [
                {
                    "anchor": r.anchor.uscc,
                    "name": r.anchor.name,
                    "limit": str(r.limit.amount),
                    "used": str(r.used.amount),
                    "reserved": str(r.reserved.amount),
                    "seller_share": str(r.seller_share),
                    "sellers": {
                        s: {"used": str(u.amount), "reserved": str(h.amount)}
                        for s, (u, h) in r.sellers.items()
                    },
                }
                for r in rows
            ]
        )
        return
    table = Table("anchor", "name", "limit", "used", "reserved", "headroom", "seller share")
    shares = Table("anchor", "seller", "used", "reserved")
    for r in rows:
        table.add_row(
            r.anchor.uscc,
            r.anchor.name,
            str(r.limit),
            str(r.used),
            str(r.reserved),
            str(r.headroom),
            _pct(r.seller_share),
        )
        for seller, (used, reserved) in r.sellers.items():
            shares.add_row(r.anchor.uscc, seller, str(used), str(reserved))
    console.print(table)
    if shares.row_count:
        console.print(shares)


@portfolio_app.command("set")
def portfolio_set(
    net_assets: Annotated[str, typer.Option(help="The factor's net assets (净资产).")],
    other_risk_assets: Annotated[
        str | None,
        typer.Option(help="Risk assets outside this hub's book (default: as set before, or 0.00)."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Set the portfolio's figures; from then on every application of a commercial factor is
    held within the 205号 caps. The first time, the hub's book starts from what it holds and
    uses (set it while the limit step is quiet)."""
    from hub.operations import portfolio, set_portfolio
    from hub.persistence.programmes_admin import PortfolioTerms

    net = _money(net_assets, "--net-assets", "CNY")
    if net.amount <= 0:
        _fail("--net-assets: must be above 0")

    async def go(units: Any) -> None:
        other = (
            None
            if other_risk_assets is None
            else _money(other_risk_assets, "--other-risk-assets", "CNY")
        )
        if other is None:
            current = await portfolio(units)
            other = Money.zero() if current is None else current.other_risk_assets
        try:
            await set_portfolio(units, PortfolioTerms(net, other))
        except ValueError as error:
            _fail(f"--other-risk-assets: {error}")

    with_units(database_url, go)
    console.print(f"portfolio: net assets {net}")


@portfolio_app.command("debtor")
def portfolio_debtor(
    debtor_uscc: Annotated[str, typer.Argument(help="The debtor's (buyer's) USCC.")],
    related: Annotated[
        bool | None,
        typer.Option(
            "--related/--not-related", help="A related party of the factor (the 40 % cap)."
        ),
    ] = None,
    other_exposure: Annotated[
        str | None,
        typer.Option(help="What the factor holds against it outside this hub."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Mark a debtor a related party of the factor (or not), and/or set the factor's exposure
    to it outside this hub (part of the portfolio's other risk assets)."""
    from hub.operations import set_portfolio_debtor
    from hub.persistence.programmes_admin import PortfolioNotSet

    uscc = _uscc(debtor_uscc, "DEBTOR_USCC")
    if related is None and other_exposure is None:
        _fail("give --related / --not-related and/or --other-exposure")
    other = None if other_exposure is None else _money(other_exposure, "--other-exposure", "CNY")

    async def go(units: Any) -> None:
        try:
            await set_portfolio_debtor(units, uscc, related=related, other=other)
        except PortfolioNotSet as error:
            _fail(str(error))
        except ValueError as error:
            _fail(f"--other-exposure: {error}")

    with_units(database_url, go)
    console.print(f"debtor {uscc}: set")


@portfolio_app.command("show")
def portfolio_show(database_url: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """The portfolio, its debtors, and what each 205号 cap allows next."""
    from hub.operations import portfolio

    figures = with_units(database_url, portfolio)
    if figures is None:
        if as_json:
            _print_json(None)
        else:
            console.print("no portfolio set: no 205号 checks (factorhub portfolio set)")
        return
    report = _report(figures)
    if as_json:
        _print_json(report)
        return
    table = Table("figure", "amount")
    for key, value in report.items():
        if key != "debtors":
            table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    debtors = Table("debtor", "related", "other", "used", "reserved", "exposure", "next at most")
    for d in report["debtors"]:
        debtors.add_row(
            d["debtor"],
            "yes" if d["related"] else "",
            d["other"],
            d["used"],
            d["reserved"],
            d["exposure"],
            f"{d['next_at_most']} ({d['bound_by']})",
        )
    if report["debtors"]:
        console.print(debtors)


def _report(figures: PortfolioFigures) -> dict[str, Any]:
    """The figures and, per debtor, the largest next financing the caps allow and which binds
    (the quote calculator's formulas)."""
    risk, net = figures.risk_assets.amount, figures.net_assets.amount
    related = figures.related_exposure.amount
    rows = []
    for d in figures.debtors:
        caps = portfolio_headroom(
            Portfolio.model_construct(
                net_assets=net,
                risk_assets=risk,
                debtor_exposure=d.exposure.amount,
                debtor_related=d.related,
                related_exposure=related,
            )
        )
        code, cap = min(caps, key=lambda item: item[1])
        rows.append(
            {
                "debtor": d.debtor_uscc,
                "related": d.related,
                "other": str(d.other.amount),
                "used": str(d.used.amount),
                "reserved": str(d.reserved.amount),
                "exposure": str(d.exposure.amount),
                "next_at_most": str(cap.quantize(Decimal("0.01"))),
                "bound_by": code,
            }
        )
    return {
        "net_assets": str(net),
        "other_risk_assets": str(figures.other_risk_assets.amount),
        "used": str(figures.used.amount),
        "reserved": str(figures.reserved.amount),
        "risk_assets": str(risk),
        "leverage_headroom": str(max(10 * net - risk, Decimal("0.00"))),
        "related_exposure": str(related),
        "debtors": rows,
    }


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f} %"


def _uscc(raw: str, option: str) -> str:
    code = normalise_uscc(raw)
    problem = uscc_problem(code)
    if problem is not None:
        _fail(f"{option}: invalid 统一社会信用代码 {raw!r}: {problem}")
    return code


def _decimal(raw: str, option: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        _fail(f"{option}: {raw!r} is not a number")
    if not value.is_finite():
        _fail(f"{option}: {raw!r} is not a number")
    return value


def _money(raw: str, option: str, currency: str) -> Money:
    value = _decimal(raw, option)
    if value < 0 or value != value.quantize(Decimal("0.01")):
        _fail(f"{option}: {raw!r} is not an amount (not negative, at most 2 decimals)")
    try:
        return Money(amount=value.quantize(Decimal("0.01")), currency=currency)
    except ValueError as error:
        _fail(f"--currency: {error}")


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _fail(message: str) -> NoReturn:
    errors.print(f"[red]{message}[/red]")
    raise typer.Exit(2)
