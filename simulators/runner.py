"""Runs simulators as real uvicorn servers on free loopback ports, inside the current event loop.

    async with running_simulators(["registry", "bank"], seed=7) as sims:
        sims["bank"].base_url

Later simulators register a factory in SIMULATORS; nothing else changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from simulators import bank, bankcore, credit, customs, ecny, kingdee, registry, vat, yonyou

AppFactory = Callable[[int], ASGIApp]

SIMULATORS: dict[str, AppFactory] = {
    "registry": registry.create_app,
    "bank": bank.create_app,
    "bankcore": bankcore.create_app,
    "kingdee": kingdee.create_app,
    "yonyou": yonyou.create_app,
    "vat": vat.create_app,
    "customs": customs.create_app,
    "credit": credit.create_app,
    "ecny": ecny.create_app,
}

STARTUP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RunningSimulator:
    name: str
    host: str
    port: int
    app: ASGIApp  # e.g. app.state.bank for white-box assertions

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/admin"


class _Server(uvicorn.Server):
    """Leaves signal handling to the caller: several servers share one process and loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None], name: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done():
            task.result()  # re-raises the startup error
            raise RuntimeError(f"simulator {name} stopped during startup")
        if loop.time() > deadline:
            raise TimeoutError(f"simulator {name} did not start within {STARTUP_TIMEOUT_S}s")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_simulators(
    names: Iterable[str],
    *,
    seed: int = 0,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
) -> AsyncIterator[dict[str, RunningSimulator]]:
    """Start each named simulator (port 0 = any free port) and stop them all on exit."""
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in SIMULATORS]
    if unknown:
        raise ValueError(f"unknown simulators {unknown}; known: {sorted(SIMULATORS)}")
    running: dict[str, RunningSimulator] = {}
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    try:
        for name in wanted:
            app = SIMULATORS[name](seed)
            sock = _bind(host, (ports or {}).get(name, 0))
            port = sock.getsockname()[1]
            config = uvicorn.Config(
                app,
                log_config=None,  # no handlers of uvicorn's own: the host process's logging
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=3,
            )
            server = _Server(config)
            task = asyncio.create_task(server.serve(sockets=[sock]), name=f"simulator-{name}")
            servers.append((server, task))
            await _wait_started(server, task, name)
            running[name] = RunningSimulator(name, host, port, app)
        yield running
    finally:
        errors = await _stop(servers)
    if errors:  # only reached when the body itself succeeded: never mask its exception
        raise errors[0]


async def _stop(servers: list[tuple[uvicorn.Server, asyncio.Task[None]]]) -> list[BaseException]:
    for server, _ in servers:
        server.should_exit = True
    results = await asyncio.gather(*(task for _, task in servers), return_exceptions=True)
    return [
        r
        for r in results
        if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
    ]
