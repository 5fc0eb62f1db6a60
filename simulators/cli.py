"""Command line: `up` runs simulators until SIGTERM/SIGINT; `dataset` prints generated cases."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from simulators.common import tracing
from simulators.erp.dataset import ANOMALIES, GeneratedCase, generate_companies, generate_invoices
from simulators.erp.payloads import hub_path, render
from simulators.runner import SIMULATORS, RunningSimulator, running_simulators


def _write_ports(path: Path, sims: dict[str, RunningSimulator]) -> None:
    """Atomic write, so a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {n: {"base_url": s.base_url, "admin_url": s.admin_url} for n, s in sims.items()}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def _remove(path: Path) -> None:
    """A stale ports file would send the next reader to a dead port."""
    path.unlink(missing_ok=True)


def _port(text: str) -> tuple[str, int]:
    """`NAME=PORT`, e.g. `bank=8102` (fixed ports for compose files and crash tests)."""
    name, sep, port = text.partition("=")
    if not sep or name not in SIMULATORS or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT with NAME in {sorted(SIMULATORS)}")
    return name, int(port)


class ScenarioFileError(ValueError):
    """The scenario file cannot be applied; the message says where."""


def load_scenario(path: Path) -> dict[str, dict[str, Any]]:
    """A scenario file: YAML (or JSON), one top-level section per simulator name."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ScenarioFileError(f"{path}: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ScenarioFileError(f"{path}: must be a mapping of simulator name to its section")
    unknown = sorted(set(document) - set(SIMULATORS))
    if unknown:
        raise ScenarioFileError(
            f"{path}: unknown simulators {unknown}; known: {sorted(SIMULATORS)}"
        )
    for name, section in document.items():
        if not isinstance(section, dict):
            raise ScenarioFileError(f"{path}: section {name!r} must be a mapping")
    return document


def apply_scenario(sims: dict[str, RunningSimulator], scenario: dict[str, dict[str, Any]]) -> None:
    """Give each running simulator its section (the same as POST /admin/scenario does)."""
    for name, section in scenario.items():
        if name not in sims:
            continue  # a scenario may describe more simulators than were started
        apply = getattr(getattr(sims[name].app, "state", None), "apply_scenario", None)
        if apply is None:
            raise ScenarioFileError(f"simulator {name!r} takes no scenario")
        try:
            apply(section)
        except ValueError as error:  # pydantic's ValidationError and ScenarioError alike
            raise ScenarioFileError(f"scenario section {name!r}: {error}") from error


async def up(
    names: Sequence[str],
    seed: int,
    host: str,
    ports_file: Path | None,
    ports: dict[str, int] | None = None,
    scenario: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Run `names` until SIGTERM/SIGINT. The OTEL_* variables in the environment switch their
    tracing on (`simulators.common.tracing`); a bad one raises ValueError before any starts."""
    export = tracing.export_settings(os.environ)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    with tracing.configured(export):  # on exit: the spans still queued are sent
        async with running_simulators(names, seed=seed, host=host, ports=ports) as sims:
            apply_scenario(sims, scenario or {})
            if ports_file is not None:
                _write_ports(ports_file, sims)
            for name, sim in sims.items():
                print(f"{name}: {sim.base_url}", flush=True)
            try:
                await stop.wait()
            finally:
                if ports_file is not None:
                    _remove(ports_file)


def _summary(case: GeneratedCase) -> dict[str, Any]:
    inv, order = case.invoice, case.order
    return {
        "case_id": case.case_id,
        "vendor": case.vendor,
        "expected_outcome": case.expected_outcome,
        "seller": {"name": case.seller.name, "uscc": case.seller.uscc},
        "buyer": {"name": case.buyer.name, "uscc": case.buyer.uscc},
        "document_no": case.document_no,
        "invoice": {
            "number": inv.number,
            "kind": inv.kind,
            "issue_date": inv.issue_date.isoformat(),
            "amount": str(inv.amount),
            "tax": str(inv.tax),
            "total": str(inv.total),
            "lines": len(inv.lines),
        },
        "order": {"number": order.number, "total": str(order.total)},
        "due_date": case.due_date.isoformat(),
        "hub_path": hub_path(case),
    }


def _dataset(args: argparse.Namespace) -> None:
    rates = {name: args.anomaly_rate for name in ANOMALIES}
    companies = generate_companies(args.seed, sellers=args.sellers, buyers=args.buyers)
    for case in generate_invoices(args.seed, args.count, companies, rates):
        if args.payloads:
            sys.stdout.write(render(case).decode() + "\n")
        else:
            sys.stdout.write(json.dumps(_summary(case), ensure_ascii=False) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run simulators on loopback until SIGTERM/SIGINT")
    up.add_argument("--only", nargs="+", choices=sorted(SIMULATORS), default=sorted(SIMULATORS))
    up.add_argument("--seed", type=int, default=0)
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--ports-file", type=Path, help="write base/admin URLs here once ready")
    up.add_argument("--scenario", type=Path, help="YAML: a section per simulator, applied at start")
    up.add_argument(
        "--port",
        type=_port,
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="fixed port for one simulator (default: any free port)",
    )
    data = commands.add_parser("dataset", help="print generated ERP cases as JSON lines")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--count", type=int, default=10)
    data.add_argument("--sellers", type=int, default=5)
    data.add_argument("--buyers", type=int, default=20)
    data.add_argument("--anomaly-rate", type=float, default=0.03, help="rate of each anomaly")
    data.add_argument("--payloads", action="store_true", help="print native ERP bodies instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "up":
        scenario = load_scenario(args.scenario) if args.scenario else None
        try:
            tracing.export_settings(os.environ)  # a bad OTEL_* value: a usage error, not a trace
        except ValueError as error:
            parser.error(str(error))
        asyncio.run(up(args.only, args.seed, args.host, args.ports_file, dict(args.port), scenario))
    else:
        _dataset(args)
    return 0
