"""`factorhub calc FILE.json` and `factorhub policy check FILE`: the quote calculator at the shell.

`calc` prints the output document on stdout (exit 0); bad input prints every problem with its
JSON path on stderr, one per line, and exits 2. The same models give the JSON Schemas.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

from canonical import Problem
from routes.policy import PolicyError, load_policy, problems_of
from routes.quote import QuoteRequest, QuoteResult, quote

__all__ = ["calc_command", "policy_check_command", "quote_json_schemas"]


def calc_command(
    file: Annotated[str, typer.Argument(help="The quote input JSON, or - for standard input.")],
) -> None:
    """Quote a financing (融资额度测算): eligibility, principal, fees, interest, repayments."""
    try:
        raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as error:
        _fail([Problem(path="/", reason=f"cannot read {file}: {error.strerror}")])
    try:
        request = QuoteRequest.model_validate_json(raw)
    except ValidationError as error:
        _fail(problems_of(error))
    sys.stdout.write(quote(request).model_dump_json(indent=2) + "\n")


def policy_check_command(
    file: Annotated[Path, typer.Argument(help="A YAML risk policy.")],
) -> None:
    """Validate a risk policy file: "ok", or every bad key with its path (exit 2)."""
    try:
        load_policy(file)
    except PolicyError as error:
        _fail(error.problems)
    sys.stdout.write("ok\n")


def quote_json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of the quote's input and output documents, by name."""
    return {
        "quote-request": QuoteRequest.model_json_schema(mode="validation"),
        "quote-result": QuoteResult.model_json_schema(mode="serialization"),
    }


def _fail(problems: list[Problem]) -> NoReturn:
    for problem in problems:
        sys.stderr.write(f"{problem.path}: {problem.reason}\n")
    raise typer.Exit(2)
