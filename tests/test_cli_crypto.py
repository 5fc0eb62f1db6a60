"""`factorhub bench crypto`: our 国密 operations per second beside gmssl's, in one table."""

from __future__ import annotations

import re
import sys
import time

from typer.testing import CliRunner

from hub.bench_crypto import CryptoRate, _per_second, bench_crypto, render
from hub.cli import app

OPERATIONS = ["SM2 sign", "SM2 verify", "SM4-GCM encrypt", "SM4-CBC encrypt", "SM3", "HMAC-SM3"]
NUMBER = r"[\d,]+"


def test_bench_crypto_prints_ours_beside_gmssl_with_the_ratio(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    answer = CliRunner().invoke(app, ["bench", "crypto", "--seconds", "0.01"])
    assert answer.exit_code == 0, answer.output
    assert "0.01 s each" in answer.output
    rows = {
        m[1]: (m[2], m[3], m[4])
        for m in re.finditer(
            rf"^  (\S+(?: \S+)?) +({NUMBER}) +({NUMBER}|-) +({NUMBER}x|-)$",
            answer.output,
            re.MULTILINE,
        )
    }
    assert list(rows) == OPERATIONS
    for name in ("SM2 sign", "SM2 verify", "SM4-CBC encrypt", "SM3"):
        ours, theirs, ratio = rows[name]
        assert int(ours.replace(",", "")) > 0
        assert int(theirs.replace(",", "")) > 0
        assert ratio.endswith("x")
    assert rows["SM4-GCM encrypt"][1:] == ("-", "-")
    assert rows["HMAC-SM3"][1:] == ("-", "-")


def test_without_gmssl_only_our_column_is_measured(monkeypatch):
    monkeypatch.setitem(sys.modules, "gmssl.sm2", None)  # import fails: as if not installed
    rates = bench_crypto(0.001)
    assert [r.operation for r in rates] == OPERATIONS
    assert all(r.ours > 0 and r.gmssl is None for r in rates)
    assert "gmssl is not installed" in render(rates, 0.001)


def test_the_ratio_is_ours_over_gmssl_and_absent_without_gmssl():
    assert CryptoRate("SM3", 900.0, 3.0).ratio == 300.0
    assert CryptoRate("SM3", 900.0, None).ratio is None
    assert "300x" in render([CryptoRate("SM3", 900.0, 3.0)], 1.0)


def test_a_slow_operation_is_not_batched_past_the_time_asked_for():
    calls: list[float] = []

    def slow() -> None:
        calls.append(time.perf_counter())
        time.sleep(0.02)

    began = time.perf_counter()
    rate = _per_second(slow, 0.1)
    assert time.perf_counter() - began < 0.3
    assert 0 < rate <= 50  # a call takes at least 20 ms: never more than 50 a second
    assert len(calls) >= 5
