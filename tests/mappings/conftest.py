"""Shared helpers for the mapping tests: hand-written fixtures and a fixed clock."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CHINA = timezone(timedelta(hours=8))
RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=CHINA)
_DECIMAL = re.compile(r'"\\u0000DEC:([^"]*)"')


def _exact_json(document: Any) -> bytes:
    """JSON bytes in which every Decimal is written as the JSON number it was read as."""
    text = json.dumps(document, ensure_ascii=False,
                      default=lambda d: f"\u0000DEC:{d}" if isinstance(d, Decimal) else d)
    return _DECIMAL.sub(r"\1", text).encode()


@pytest.fixture
def received_at() -> datetime:
    return RECEIVED_AT


@pytest.fixture
def fixture_bytes() -> Callable[[str], bytes]:
    """The bytes of a fixture file, exactly as stored."""
    return lambda name: (FIXTURES / name).read_bytes()


@pytest.fixture
def fixture_json() -> Callable[[str], Any]:
    """A fixture as Python objects (JSON fractions as Decimal), for a test to mutate."""
    return lambda name: json.loads((FIXTURES / name).read_bytes(), parse_float=Decimal)


@pytest.fixture
def encode() -> Callable[[Any], bytes]:
    """Re-encode a mutated fixture; Decimals stay JSON numbers with their exact digits."""
    return _exact_json
