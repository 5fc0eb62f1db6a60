"""`factorhub map`, `factorhub render` and `factorhub bench map`: try a mapping in seconds.

Output is the canonical JSON (amounts as decimal strings) on stdout, exit 0; on failure the
problems go to stderr, one per line (path, reason, value), and the exit code is 2.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import pydantic_core
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from canonical import MappingError
from mappings.formats import (
    INBOUND_FORMATS,
    OUTBOUND_FORMATS,
    UnknownFormat,
    inbound,
    outbound,
    recognise,
)

__all__ = ["bench_map_command", "map_command", "render_command"]

console = Console()
errors = Console(stderr=True)

FileArg = Annotated[str | None, typer.Argument(help="The document, or - for standard input.")]


def map_command(
    file: FileArg = None,
    format_name: Annotated[
        str, typer.Option("--format", "-f", help="A format name (see --list), or auto.")
    ] = "auto",
    list_formats: Annotated[bool, typer.Option("--list", help="List the formats.")] = False,
) -> None:
    """Map an external document to the canonical model and print it as JSON."""
    if list_formats:
        _print_formats()
        return
    if file is None:
        _fail("give a FILE (or - for standard input), or --list")
    raw = _read(file)
    try:
        fmt = recognise(raw) if format_name == "auto" else inbound(format_name)
        result = fmt.read(raw, datetime.now(UTC))
    except UnknownFormat as error:
        _fail(str(error))
    except MappingError as error:
        _problems(error)
    errors.print(f"format: {fmt.name}", highlight=False)
    sys.stdout.write(pydantic_core.to_json(result, indent=2).decode() + "\n")


def render_command(
    format_name: Annotated[str, typer.Argument(help="An outbound format (see map --list).")],
    file: Annotated[str, typer.Argument(help="Canonical JSON input, or - for standard input.")],
) -> None:
    """Write an outbound document from canonical JSON (the format's input model)."""
    try:
        fmt = outbound(format_name)
        document = fmt.write(fmt.model.model_validate_json(_read(file)))
    except UnknownFormat as error:
        _fail(str(error))
    except ValidationError as error:
        for item in error.errors(include_url=False):
            where = "/" + "/".join(str(part) for part in item["loc"])
            errors.print(f"{where}: {item['msg']}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    except MappingError as error:
        _problems(error)
    sys.stdout.buffer.write(document)
    if not document.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")


def bench_map_command(
    format_name: Annotated[str, typer.Option("--format", "-f", help="An inbound format.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Sample documents (default: generated, for the ERP formats)."),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", min=1)] = 5000,
) -> None:
    """Documents/s of one mapper on one core, beside the raw JSON/XML parse of the same bytes."""
    from hub.bench_map import bench_map, documents_from, generated_documents

    try:
        fmt = inbound(format_name)
        documents = documents_from(files, count) if files else generated_documents(fmt.name, count)
        result = bench_map(fmt, documents)
    except (UnknownFormat, LookupError) as error:
        _fail(str(error))
    except MappingError as error:
        _problems(error)
    console.print(
        f"{result.format}: {result.documents} documents of {result.average_bytes:.0f} bytes "
        f"(best of 3, one core)\n"
        f"  {result.raw_name:<24} {result.raw_per_second:>10,.0f} docs/s\n"
        f"  {'mapping':<24} {result.map_per_second:>10,.0f} docs/s\n"
        f"  ratio mapping/raw        {result.ratio:>10.2f}  (target >= 0.25)",
        highlight=False,
    )


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror}")


def _print_formats() -> None:
    table = Table("format", "direction", "family", "what")
    for fmt in INBOUND_FORMATS.values():
        table.add_row(fmt.name, "in", fmt.family, fmt.title)
    for out in OUTBOUND_FORMATS.values():
        table.add_row(out.name, "out", "", out.title)
    console.print(table)


def _problems(error: MappingError) -> NoReturn:
    errors.print(
        f"{len(error.problems)} problem(s) in the {error.source} document:",
        highlight=False,
        markup=False,
    )
    for problem in error.problems:
        shown = "" if problem.value is None else f" (value: {problem.value!r})"
        errors.print(
            f"  {problem.path or '/'}: {problem.reason}{shown}", highlight=False, markup=False
        )
    raise typer.Exit(2)


def _fail(message: str) -> NoReturn:
    errors.print(f"error: {message}", highlight=False, markup=False)
    raise typer.Exit(2)
