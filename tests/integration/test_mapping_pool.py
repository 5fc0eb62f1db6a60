"""ERP pushes mapped in a worker process: same results, same errors, nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from canonical import MappingError
from hub.app import Hub
from hub.config import Settings, serving_defaults
from hub.mapping_pool import MappingPool, map_push
from hub.operations import count_states
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
COMPANIES = generate_companies(9, sellers=2, buyers=3)
CASES = generate_invoices(9, 40, COMPANIES, {})


@pytest.fixture(scope="module")
async def pool():
    pool = MappingPool(1, max_batch=16)
    await pool.start()
    yield pool
    await pool.aclose()


async def test_a_worker_maps_every_push_exactly_as_the_hub_process_would(pool):
    pushes = await asyncio.gather(*(pool.map(c.vendor, render(c), NOW) for c in CASES))
    assert pushes == [map_push(c.vendor, render(c), NOW) for c in CASES]


async def test_bad_input_raises_mapping_error_with_every_problem_and_spares_the_batch(pool):
    bad = b'{"formid": "IV_SALESIC", "data": {"Model": {"FDATE": "2026-02-30"}}}'
    good = render(CASES[0])
    results = await asyncio.gather(
        pool.map("kingdee", bad, NOW),
        pool.map(CASES[0].vendor, good, NOW),
        return_exceptions=True,
    )
    error, push = results
    assert isinstance(error, MappingError)
    assert ("/data/Model/FDATE", "is not a real date (day is out of range for month)") in [
        (p.path, p.reason) for p in error.problems
    ]
    assert len(error.problems) > 3
    assert push == map_push(CASES[0].vendor, good, NOW)


async def test_an_unknown_source_is_refused_before_reaching_a_worker(pool):
    with pytest.raises(KeyError):
        await pool.map("sap", b"{}", NOW)


async def test_a_hub_with_an_ingress_worker_accepts_pushes_durably(sqlite_url):
    settings = replace(Settings.from_env({}), database_url=sqlite_url, ingress_workers=1)
    async with Hub(settings, consume=False) as hub:
        accepted = await asyncio.gather(
            *(
                hub.intake.accept(source=c.vendor, raw=render(c), tenant="t", now=NOW)
                for c in CASES[:10]
            )
        )
        assert all(a.created for a in accepted)
        assert (await count_states(hub.units)).by_state == {"SUBMITTED": 10}


def test_long_running_commands_get_a_mapping_worker_unless_told_otherwise():
    assert "ingress_workers" not in serving_defaults({"FACTORHUB_INGRESS_WORKERS": "0"})
    assert serving_defaults({})["ingress_workers"] in (0, 1)


def test_long_running_commands_trace_into_the_local_store_unless_told_otherwise():
    assert "tracing" not in serving_defaults({"FACTORHUB_OTEL_EXPORTERS": "none"})
    assert serving_defaults({})["tracing"].exporters == ("local",)


SCRIPT = """
import asyncio, sys
from hub.mapping_pool import MappingPool

async def main():
    pool = MappingPool(1)
    await pool.start()
    print(*pool._executor._processes, flush=True)  # the worker's pid
    await asyncio.sleep(60)

if __name__ == "__main__":
    asyncio.run(main())
"""


async def test_a_worker_does_not_outlive_a_killed_hub(tmp_path):
    script = tmp_path / "hub_like.py"
    script.write_text(SCRIPT)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(script), stdout=asyncio.subprocess.PIPE, cwd=Path.cwd()
    )
    assert process.stdout is not None
    worker = int((await asyncio.wait_for(process.stdout.readline(), 30)).split()[0])
    assert _alive(worker)
    process.send_signal(signal.SIGKILL)
    for _ in range(50):
        if not _alive(worker):
            break
        await asyncio.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the mapping worker outlived its hub")
    await process.wait()  # returns once the worker, holding the hub's stdout, is gone too


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
