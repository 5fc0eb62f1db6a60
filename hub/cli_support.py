"""What the `factorhub` command modules share: the `--database-url` option and running an
action against the hub's database (migrated first, closed after)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

__all__ = ["DatabaseOpt", "with_units"]

T = TypeVar("T")

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="FACTORHUB_DATABASE_URL",
        help="SQLAlchemy async URL (default: SQLite under ./var).",
    ),
]


def with_units(database_url: str | None, action: Callable[[Any], Awaitable[T]]) -> T:
    """`action(units)` on the hub's event loop (`hub.cli.run`), on the migrated database."""
    from hub.cli import _with_units, run

    return run(lambda: _with_units(database_url, action))
