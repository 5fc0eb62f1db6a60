"""`factorhub bench tracing`: tracing off and on in one run, and the overhead it reports."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from hub.bench import PipelineResult, overhead
from hub.cli import app


def _result(per_second: float, cpu_us: float) -> PipelineResult:
    return PipelineResult(
        transport="embedded",
        count=1000,
        disbursed=1000,
        dead_lettered=0,
        seconds=1000 / per_second,
        p50_ms=1.0,
        p99_ms=2.0,
        cpu_seconds=cpu_us * 1000 / 1e6,
    )


def test_the_overhead_compares_the_medians_of_each_side():
    off = [_result(500, 2000), _result(100, 9000), _result(520, 1900)]  # one noisy run
    on = [_result(400, 2500), _result(410, 2400), _result(90, 9900)]
    cost = overhead(off, on)
    assert cost.off_per_second == pytest.approx(500)
    assert cost.on_per_second == pytest.approx(400)
    assert cost.throughput == pytest.approx(0.2)
    assert cost.cpu == pytest.approx(2500 / 2000 - 1)


def test_bench_tracing_runs_both_sides_alternately_and_prints_the_overhead(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its databases go under ./var/bench
    monkeypatch.setenv("COLUMNS", "200")
    answer = CliRunner().invoke(app, ["bench", "tracing", "--count", "12", "--rounds", "1"])
    assert answer.exit_code == 0, answer.output
    sides = re.findall(r"^tracing (off|on) ", answer.output, re.MULTILINE)
    assert sides == ["off", "on"]
    assert re.search(r"overhead -?\d+% of invoices/s, -?\d+% more hub CPU", answer.output)
    assert len(list((tmp_path / "var" / "bench").glob("tracing-*.db"))) == 2
