import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from simulators.cli import main
from simulators.runner import running_simulators
from tests.simulators.sim_pain001 import one

ROOT = Path(__file__).resolve().parents[2]


async def test_running_simulators_serves_registry_and_bank_on_loopback():
    async with running_simulators(["registry", "bank"], seed=7) as sims:
        assert set(sims) == {"registry", "bank"}
        assert sims["bank"].base_url.startswith("http://127.0.0.1:")
        assert sims["bank"].admin_url == sims["bank"].base_url + "/admin"
        assert sims["bank"].port != sims["registry"].port
        async with httpx.AsyncClient() as client:
            paid = await client.post(
                sims["bank"].base_url + "/iso20022/pain.001",
                content=one("MSG-R", "E2E-R", "10.00"),
                headers={"Content-Type": "application/xml"},
            )
            assert paid.status_code == 200
            stats = await client.get(sims["registry"].admin_url + "/stats")
            assert stats.json() == {"registrations": 0, "requests": 0}
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(sims["bank"].admin_url + "/stats")


async def test_unknown_simulator_name_is_refused():
    with pytest.raises(ValueError, match="unknown simulators"):
        async with running_simulators(["mainframe"]):
            pass


def test_dataset_command_prints_the_same_cases_for_the_same_seed(capsys):
    main(["dataset", "--seed", "7", "--count", "5"])
    first = capsys.readouterr().out
    main(["dataset", "--seed", "7", "--count", "5"])
    assert capsys.readouterr().out == first
    cases = [json.loads(line) for line in first.splitlines()]
    assert [c["case_id"] for c in cases] == [f"case-7-{n:05d}" for n in range(1, 6)]
    assert {c["vendor"] for c in cases} == {"kingdee", "yonyou"}


def _wait_for(path: Path, process: subprocess.Popen, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if process.poll() is not None:
            raise AssertionError(f"simulators exited early: {process.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError("ports file never appeared")


def test_up_command_writes_ports_file_answers_and_exits_on_sigterm(tmp_path):
    ports_file = tmp_path / "var" / "simulators.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "simulators", "up", "--only", "registry", "bank"]
    command += ["--seed", "7", "--ports-file", str(ports_file)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        ports = _wait_for(ports_file, process)
        assert set(ports) == {"registry", "bank"}
        with httpx.Client() as client:
            for name in ("registry", "bank"):
                assert ports[name]["admin_url"] == ports[name]["base_url"] + "/admin"
                assert client.get(ports[name]["admin_url"] + "/stats").status_code == 200
            missing = client.get(ports["bank"]["base_url"] + "/iso20022/payments/nope")
            assert missing.status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert not ports_file.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
