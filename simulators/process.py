"""Simulators in a child process: the partner systems off the hub's own CPU and event loop.

    async with simulators_in_process(["registry", "bank"], seed=7) as urls:
        urls["bank"]  # base URL

Benchmarks use this so the figure is the hub's, not the hub's plus its partners'; the child is
`python -m simulators up`, exactly what QA runs by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

__all__ = ["simulators_in_process"]

STARTUP_TIMEOUT_S = 30.0


@contextlib.asynccontextmanager
async def simulators_in_process(
    names: Iterable[str], *, seed: int = 0, host: str = "127.0.0.1"
) -> AsyncIterator[dict[str, str]]:
    """Start `python -m simulators up` for `names`; yield name -> base URL; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="factorhub-sims-") as tmp:
        ports_file = Path(tmp) / "ports.json"
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulators",
            "up",
            "--only",
            *names,
            "--seed",
            str(seed),
            "--host",
            host,
            "--ports-file",
            str(ports_file),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STARTUP_TIMEOUT_S
            while not ports_file.exists():
                if child.returncode is not None or loop.time() > deadline:
                    error = b""
                    if child.stderr is not None and child.returncode is not None:
                        error = await child.stderr.read()
                    raise RuntimeError(f"simulators did not start: {error.decode()[-2000:]}")
                await asyncio.sleep(0.05)
            urls = json.loads(ports_file.read_text(encoding="utf-8"))
            yield {name: entry["base_url"] for name, entry in urls.items()}
        finally:
            if child.returncode is None:
                child.terminate()
                try:
                    await asyncio.wait_for(child.wait(), 10)
                except TimeoutError:
                    child.kill()
                    await child.wait()
