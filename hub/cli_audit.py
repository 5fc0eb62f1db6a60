"""`factorhub audit seal|verify|export`: the SM3 audit trail (`hub/security/audit/`).

`verify` seals what is new first, then recomputes the whole chain and names each entry that
was edited, deleted, reordered or inserted (exit 1); `--head FILE` also checks a head exported
earlier is still in it. `export` writes the sealed entries of a date range as CSV for a
regulator, with the chain head beside it (FILE.head.json, and printed): the seq and hash a later
`verify --head` proves the chain still holds, and the CSV's own SM3.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from hub.cli_support import DatabaseOpt
from hub.config import Settings
from hub.persistence import Database
from hub.security.audit import (
    ChainHead,
    Sealed,
    Verdict,
    chain_head,
    seal_now,
    sealed,
    verify,
)
from hub.security.gm import sm3
from routes.later import CHINA

__all__ = ["ReportLine", "audit_app", "export_report", "report_lines"]

T = TypeVar("T")

console = Console()
audit_app = typer.Typer(
    help="The tamper-evident audit trail: every state change, decision and operator action, "
    "SM3 hash-chained.",
    no_args_is_help=True,
)
SYSTEM = "system"
"""The actor of every move the flow makes."""
_SHOWN = 50
"""Findings printed; the rest are counted."""
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
"""How a cell a spreadsheet would evaluate starts (CSV injection)."""


@audit_app.command("seal")
def seal_command(database_url: DatabaseOpt = None) -> None:
    """Chain every history row and operator action written so far (hubs do it every second)."""
    sealed, head = _run(database_url, _sealed)
    console.print(f"sealed {sealed} entries; head seq {head.seq} hash {head.hash}")


@audit_app.command("verify")
def verify_command(
    head_file: Annotated[
        Path | None,
        typer.Option("--head", help="A head file `audit export` wrote: the chain must hold it."),
    ] = None,
    seal: Annotated[bool, typer.Option("--seal/--no-seal", help="Seal what is new first.")] = True,
    database_url: DatabaseOpt = None,
) -> None:
    """Recompute the chain from the rows it seals; exit 1 naming every entry edited, deleted,
    reordered or inserted."""
    expected = _read_head(head_file) if head_file else None

    async def checked(database: Database) -> Verdict:
        if seal:
            await seal_now(database, _now)
        return await verify(database, expected=expected)

    verdict = _run(database_url, checked)
    head = verdict.head
    pending = f"; {verdict.pending} rows not sealed yet" if verdict.pending else ""
    if verdict.intact:
        console.print(
            f"audit chain intact: {verdict.entries} entries, head seq {head.seq} hash "
            f"{head.hash}{pending}"
        )
        return
    for finding in verdict.findings[:_SHOWN]:
        seq = "-" if finding.seq is None else str(finding.seq)
        console.print(f"[red]seq {seq:>8}  {finding.flaw.value:9}[/red] {escape(finding.what)}")
    if len(verdict.findings) > _SHOWN:
        console.print(f"... and {len(verdict.findings) - _SHOWN} more")
    console.print(
        f"[red]audit chain NOT intact:[/red] {len(verdict.findings)} finding(s) in "
        f"{verdict.entries} entries{pending}"
    )
    raise typer.Exit(1)


@audit_app.command("export")
def export_command(
    since: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First day (China time).")
    ],
    until: Annotated[
        datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included.")
    ],
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    database_url: DatabaseOpt = None,
) -> None:
    """Write the sealed entries of days FROM..TO as CSV, and the chain head beside it
    (FILE.head.json), for a regulator; seals what is new first."""
    if until < since:
        raise typer.BadParameter("--to is before --from")

    async def exported(database: Database) -> tuple[int, ChainHead, Path]:
        await seal_now(database, _now)
        return await export_report(database, since.date(), until.date(), out)

    count, head, head_file = _run(database_url, exported)
    console.print(f"{count} entries written to {out}")
    console.print(f"chain head: seq {head.seq} hash {head.hash} (kept in {head_file})")


async def export_report(
    database: Database, first: date, last: date, out: Path
) -> tuple[int, ChainHead, Path]:
    """The CSV of the entries written on days `first`..`last` (China time) and its head file;
    how many entries, the head, and the head file's path."""
    head = await chain_head(database)
    since = datetime.combine(first, time(0), tzinfo=CHINA)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=CHINA)
    count = 0
    with out.open("w", encoding="utf-8-sig", newline="") as file:  # BOM: Excel reads UTF-8
        writer = csv.writer(file)
        writer.writerow(f.name for f in fields(ReportLine))
        async for line in report_lines(database, head):
            if since <= line.at < until:
                writer.writerow(line.cells())
                count += 1
    head_file = out.with_suffix(".head.json")
    summary = {
        "seq": head.seq,
        "hash": head.hash,
        "sealed_at": head.sealed_at.isoformat() if head.sealed_at else None,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "entries": count,
        "file": out.name,
        "file_sm3": sm3(await asyncio.to_thread(out.read_bytes)).hex(),
    }
    text = json.dumps(summary, indent=2) + "\n"
    await asyncio.to_thread(head_file.write_text, text, encoding="utf-8")
    return count, head, head_file


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One sealed entry as a line of the regulator's report."""

    seq: int
    at: datetime
    actor: str
    entity: str
    """`application`, `reservation`, `registration`, or `operator` for an action."""
    action: str
    """The message that caused a move (`ingress`: the ERP's push), or the operator's action."""
    request_id: str | None
    from_state: str | None
    to_state: str | None
    details: str
    table: str
    row: int
    hash: str

    def cells(self) -> list[str | int]:
        """The CSV cells: the time in China time (as the report's days), "" for None, and text
        a spreadsheet would run as a formula (a note typed as "=...") quoted with a "'"."""
        values = [getattr(self, f.name) for f in fields(self)]
        values[1] = self.at.astimezone(CHINA).isoformat()
        return [_cell(v) for v in values]


async def report_lines(database: Database, upto: ChainHead) -> AsyncIterator[ReportLine]:
    """Every entry up to `upto` as a report line, in chain order; an application move's
    `from_state` is the state its application's previous entry entered."""
    states: dict[str, str] = {}
    async for entry in sealed(database, upto=upto):
        yield _line(entry, states)


def _read_head(path: Path) -> ChainHead:
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        return ChainHead(int(saved["seq"]), str(saved["hash"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise typer.BadParameter(f"{path} is not a head file ({error})") from error


def _now() -> datetime:
    return datetime.now(UTC)


async def _sealed(database: Database) -> tuple[int, ChainHead]:
    sealed = await seal_now(database, _now)
    return sealed, await chain_head(database)


def _run(database_url: str | None, action: Callable[[Database], Awaitable[T]]) -> T:
    async def main() -> T:
        database = Database(Settings.from_env(database_url=database_url).database_url)
        try:
            await database.upgrade()
            return await action(database)
        finally:
            await database.aclose()

    return asyncio.run(main())


def _line(entry: Sealed, states: dict[str, str]) -> ReportLine:
    f = entry.fields
    where = (entry.table, f["id"], entry.hash)
    if entry.table == "request_events":
        before = states.get(f["request_id"])
        states[f["request_id"]] = f["state"]
        moved = f["receivable_to"] and (
            f"receivable {f['receivable_from'] or '-'} -> {f['receivable_to']} "
            f"({f['receivable_event']})"
        )
        details = _joined(f["reason"], f["note"], moved)
        cause = f["message_type"] or "ingress"
        return ReportLine(
            entry.seq, f["at"], SYSTEM, "application", cause, f["request_id"], before,
            f["state"], details, *where,
        )  # fmt: skip
    if entry.table == "lifecycle_events":
        return ReportLine(
            entry.seq, f["at"], SYSTEM, f["entity"], f["message_type"] or "", f["request_id"],
            f["from_state"], f["to_state"], _joined(f["event"], f["note"]), *where,
        )  # fmt: skip
    return ReportLine(
        entry.seq, f["at"], f["actor"], "operator", f["action"], f["request_id"],
        f["from_state"], f["to_state"], f["details"] or "", *where,
    )  # fmt: skip


def _joined(*parts: str | None) -> str:
    return "; ".join(p for p in parts if p)


def _cell(value: str | int | None) -> str | int:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value
