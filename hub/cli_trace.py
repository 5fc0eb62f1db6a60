"""`factorhub trace`: a request's journey from the local span store, as a tree.

`factorhub trace REQUEST_ID` prints every span of the request's trace(s) (the ERP push, each
`send`/`process` hop, each call to a partner, retries included) with its duration, the
attributes that matter and its error; `--slowest N` and `--failed` list traces to look at.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from hub.config import Settings
from hub.persistence import Database
from observability.span_store import (
    SpanRecord,
    TraceSummary,
    failed_traces,
    slowest_traces,
    trace_spans,
)

__all__ = ["render_trace", "trace_command"]

console = Console()

_SHOWN = (
    "factorhub.request_id",
    "factorhub.invoice_number",
    "factorhub.peer",
    "messaging.consumer.group.name",
    "http.route",
    "url.full",
    "http.response.status_code",
    "error.type",
)


def trace_command(
    request_id: Annotated[str | None, typer.Argument(help="The financing request id.")] = None,
    slowest: Annotated[
        int | None, typer.Option("--slowest", help="List the N slowest traces.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="List traces with an error.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Rows for --failed.")] = 20,
    statements: Annotated[
        bool,
        typer.Option(
            "--statements/--no-statements",
            help="Show each database statement as its own span (default: a count per span).",
        ),
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="FACTORHUB_DATABASE_URL", help="SQLAlchemy URL."),
    ] = None,
) -> None:
    """Print a request's trace as a tree (or list the slowest or failed traces)."""
    if (request_id is None) == (slowest is None and not failed):
        raise typer.BadParameter("give a REQUEST_ID, or --slowest N, or --failed")
    settings = Settings.from_env(database_url=database_url)
    if request_id is not None:
        spans = asyncio.run(_read(settings.database_url, request_id))
        if not spans:
            console.print(f"no spans for {request_id} (is tracing on? FACTORHUB_OTEL_EXPORTERS)")
            raise typer.Exit(1)
        for tree in render_trace(spans, statements=statements):
            console.print(tree)
        return
    rows = asyncio.run(_list(settings.database_url, slowest, limit))
    for row in rows:
        started = datetime.fromtimestamp(row.start_ns / 1e9, UTC).isoformat(timespec="seconds")
        console.print(
            f"{row.request_id or '-':34} {row.duration_ms:10.1f} ms  {row.spans:4} spans  "
            f"{row.errors} error(s)  {started}  trace {row.trace_id}"
        )


def render_trace(spans: list[SpanRecord], *, statements: bool = False) -> list[Tree]:
    """One tree per trace; a span whose parent is missing (not stored) hangs from the root.
    Database statements are folded into their parent's label (count and time) unless
    `statements`: a hop runs a dozen, and the hops are what an engineer follows."""
    trees: list[Tree] = []
    by_trace: dict[str, list[SpanRecord]] = {}
    folded: dict[str, tuple[int, float]] = {}
    for span in spans:
        if not statements and "db.system.name" in span.attributes and span.parent_id:
            count, took = folded.get(span.parent_id, (0, 0.0))
            folded[span.parent_id] = (count + 1, took + span.duration_ms)
            continue
        by_trace.setdefault(span.trace_id, []).append(span)
    for trace_id, members in by_trace.items():
        ids = {s.span_id for s in members}
        children: dict[str | None, list[SpanRecord]] = {}
        for span in members:
            parent = span.parent_id if span.parent_id in ids else None
            children.setdefault(parent, []).append(span)
        start = min(s.start_ns for s in members)
        total = (max(s.end_ns for s in members) - start) / 1e6
        root = Tree(f"trace {trace_id}  {total:.1f} ms")
        _grow(root, None, children, start, folded)
        trees.append(root)
    return trees


def _grow(
    node: Tree,
    parent: str | None,
    children: dict[str | None, list[SpanRecord]],
    start: int,
    folded: dict[str, tuple[int, float]],
) -> None:
    for span in sorted(children.get(parent, []), key=lambda s: s.start_ns):
        label = _label(span, start)
        if span.span_id in folded:
            count, took = folded[span.span_id]
            label += f"  [cyan]{count} db statement(s) {took:.1f} ms[/]"
        _grow(node.add(label), span.span_id, children, start, folded)


def _label(span: SpanRecord, start: int) -> str:
    shown = "  ".join(f"{k}={span.attributes[k]}" for k in _SHOWN if k in span.attributes)
    offset = (span.start_ns - start) / 1e6
    text = (
        f"[bold]{escape(span.name)}[/] {span.kind.lower()}  {span.duration_ms:.1f} ms "
        f"(+{offset:.1f})  [dim]{escape(shown)}[/]"
    )
    if span.status == "ERROR":
        text += f"  [red]ERROR {escape(span.status_message or '')}[/]"
    return text


async def _read(url: str, request_id: str) -> list[SpanRecord]:
    database = Database(url)
    try:
        return await trace_spans(database.engine, request_id)
    finally:
        await database.aclose()


async def _list(url: str, slowest: int | None, limit: int) -> list[TraceSummary]:
    database = Database(url)
    try:
        if slowest is not None:
            return await slowest_traces(database.engine, slowest)
        return await failed_traces(database.engine, limit)
    finally:
        await database.aclose()
