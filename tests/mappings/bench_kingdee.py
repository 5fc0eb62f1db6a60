"""Throughput of kingdee_invoice_to_canonical against bare JSON parsing (not a test).

Run: .venv/bin/python tests/mappings/bench_kingdee.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import orjson

from mappings import kingdee_invoice_to_canonical

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = ("kingdee_iv_salesic.json", "kingdee_native_salesoc.json", "kingdee_messy.json")
COUNT = 10_000
RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=timezone(timedelta(hours=8)))


def _documents() -> list[bytes]:
    """COUNT distinct documents: the three fixtures in turn, each with its own bill number."""
    sources = [(FIXTURES / name).read_bytes() for name in NAMES]
    documents = []
    for i in range(COUNT):
        raw = sources[i % len(sources)]
        for old in (b"XSZP2611000123", b"XSPP2611000007", b"XSZP2611000456"):
            raw = raw.replace(old, f"XSZP26{i:08d}".encode())
        documents.append(raw)
    return documents


def _rate(work: Callable[[bytes], object], documents: list[bytes]) -> float:
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for raw in documents:
            work(raw)
        best = max(best, len(documents) / (time.perf_counter() - start))
    return best


def main() -> None:
    documents = _documents()
    size = sum(map(len, documents)) / len(documents)
    rows = [
        ("json.loads", json.loads),
        ("json.loads(parse_float=Decimal)", lambda raw: json.loads(raw, parse_float=Decimal)),
        ("orjson.loads", orjson.loads),
        ("kingdee_invoice_to_canonical",
         lambda raw: kingdee_invoice_to_canonical(raw, received_at=RECEIVED_AT)),
    ]
    print(f"{COUNT} documents, {size:.0f} bytes on average (best of 3)")
    for name, work in rows:
        print(f"{name:34} {_rate(work, documents):>10,.0f} docs/s")


if __name__ == "__main__":
    main()
