"""`factorhub simulators up`: every simulator from one command, a ports file the hub reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from canonical import ConfigurationError
from hub.config import Settings


def _ports(path: Path) -> dict[str, dict[str, str]] | None:
    return json.loads(path.read_text()) if path.exists() else None


async def _wait_for(path: Path, process: asyncio.subprocess.Process) -> dict[str, dict[str, str]]:
    for _ in range(300):
        if (ports := _ports(path)) is not None:
            return ports
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    pytest.fail("the simulators did not write their ports file")


async def test_up_starts_the_simulators_applies_the_scenario_and_writes_the_ports_file(tmp_path):
    ports_file = tmp_path / "sims.json"
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("bank:\n  faults:\n    error_rate: 1\n    error_status: 429\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "simulators",
        "up",
        "--only",
        "bank",
        "--only",
        "registry",
        "--seed",
        "7",
        "--scenario",
        str(scenario),
        "--ports-file",
        str(ports_file),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        ports = await _wait_for(ports_file, process)
        assert set(ports) == {"bank", "registry"}
        async with httpx.AsyncClient() as client:
            faults = (await client.get(f"{ports['bank']['admin_url']}/faults")).json()
            assert (faults["error_rate"], faults["error_status"]) == (1, 429)
        settings = Settings.from_env({"FACTORHUB_SIMULATORS_FILE": str(ports_file)})
        assert settings.bank_url == ports["bank"]["base_url"]
        assert settings.registry_url == ports["registry"]["base_url"]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0
    assert _ports(ports_file) is None  # a stale file would send the hub to a dead port


async def test_a_bad_scenario_is_refused_with_its_place_and_exit_code_2(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("mainframe: {}\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "simulators",
        "up",
        "--scenario",
        str(scenario),
        "--ports-file",
        str(tmp_path / "p.json"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert b"unknown simulators ['mainframe']" in stderr


def test_a_broken_ports_file_is_a_configuration_error(tmp_path):
    broken = tmp_path / "sims.json"
    broken.write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="not a simulators ports file"):
        Settings.from_env({"FACTORHUB_SIMULATORS_FILE": str(broken)})


async def test_push_sends_generated_invoices_to_a_running_hub_at_a_rate(tmp_path):
    from hub.devbroker import free_port

    port = free_port()
    env = {**os.environ, "FACTORHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db"}
    hub = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "serve",
        "--no-workers",
        "--port",
        str(port),
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        started = asyncio.get_running_loop().time()
        push = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub",
            "simulators",
            "push",
            "--hub",
            url,
            "--count",
            "6",
            "--rate",
            "20",
            "--vendor",
            "kingdee",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(push.communicate(), 60)
        elapsed = asyncio.get_running_loop().time() - started
    finally:
        hub.send_signal(signal.SIGTERM)
        await asyncio.wait_for(hub.wait(), 20)
    assert hub.returncode == 0  # SIGTERM: the hub closed cleanly, it was not killed
    assert push.returncode == 0, out
    assert b"6 accepted" in out
    assert elapsed >= 0.25  # six pushes at 20/s take at least a quarter of a second


async def test_push_signs_as_a_tenant_for_a_hub_that_requires_signed_pushes(tmp_path):
    from hub.devbroker import free_port
    from simulators.erp.dataset import generate_companies

    port = free_port()
    env = {
        **os.environ,
        "FACTORHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/hub.db",
        "FACTORHUB_INGRESS_AUTH": "on",
    }
    sellers = [a for c in generate_companies(0).sellers for a in ("--seller", c.uscc)]
    added = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "tenants", "add", "--id", "erp1", "--name", "ERP one",
        *sellers, env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    printed, _ = await asyncio.wait_for(added.communicate(), 60)
    assert added.returncode == 0, printed
    lines = printed.decode().splitlines()
    key_id = lines[0].rsplit("key id ", 1)[1].strip()
    secret = lines[-1].strip()
    hub = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "serve", "--no-workers", "--port", str(port), env=env
    )
    url = f"http://127.0.0.1:{port}"
    push = ["-m", "hub", "simulators", "push", "--hub", url, "--count", "3", "--vendor", "kingdee"]
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        unsigned = await asyncio.create_subprocess_exec(
            sys.executable, *push, env=env, stdout=asyncio.subprocess.PIPE
        )
        refused, _ = await asyncio.wait_for(unsigned.communicate(), 60)
        signed = await asyncio.create_subprocess_exec(
            sys.executable, *push, "--tenant", "erp1", "--key-id", key_id, "--secret", secret,
            env=env, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        accepted, _ = await asyncio.wait_for(signed.communicate(), 60)
    finally:
        hub.send_signal(signal.SIGTERM)
        await asyncio.wait_for(hub.wait(), 20)
    assert unsigned.returncode == 1
    assert b"0 accepted" in refused
    assert signed.returncode == 0, accepted
    assert b"3 accepted" in accepted
