"""The direct reader of plain Kingdee pushes agrees with the careful reader, or steps aside."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from canonical import MappingError
from mappings import kingdee
from mappings._kingdee_fast import map_plain_push
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

AT = datetime(2026, 11, 20, 10, 30, tzinfo=timezone(timedelta(hours=8)))
TOLERANCE = Decimal("0.01")
FIXTURES = Path(__file__).parent / "fixtures"
COMPANIES = generate_companies(11, sellers=3, buyers=6)
PUSHES = [
    render(c)
    for c in generate_invoices(11, 160, COMPANIES, {"order_amount_mismatch": 0.1})
    if c.vendor == "kingdee"
]


def _fast(raw: bytes) -> Any:
    return map_plain_push(
        raw,
        AT,
        TOLERANCE,
        source=kingdee.SOURCE,
        kinds=kingdee._KINDS,
        currencies=kingdee.KINGDEE_CURRENCIES,
        labels=(kingdee._INVOICE_LABELS, kingdee._ORDER_LABELS),
    )


def _careful(raw: bytes) -> Any:
    try:
        return kingdee.map_carefully(raw, AT, TOLERANCE)
    except MappingError as error:
        return error


def _agree(raw: bytes) -> bool:
    """The fast reader's answer, when it gives one, is exactly the careful reader's."""
    fast, careful = _fast(raw), _careful(raw)
    return fast is None or fast == careful


def test_generated_pushes_take_the_fast_path_and_map_exactly_as_the_careful_reader():
    assert len(PUSHES) > 50
    for raw in PUSHES:
        fast = _fast(raw)
        assert fast is not None
        assert fast == _careful(raw)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("kingdee_*.json")))
def test_every_fixture_is_mapped_alike_or_left_to_the_careful_reader(name: str):
    assert _agree((FIXTURES / name).read_bytes())


MESSY: list[Any] = [
    "1,234.00",
    " ¥12.50",
    "１２",
    "",
    "  ",
    None,
    True,
    [],
    {},
    "12e3",
    "-0",
    10**20,
    "2026/11/20",
    "20261120",
    "2026-02-30",
    "2026年11月20日",
    "0",
    0,
    "X",
    "IV_SALESOC",
]


def _mutations(document: Any, rng: random.Random, count: int) -> list[bytes]:
    """`count` copies of the document, each with one value swapped for a messy one, one key
    renamed in another case, or one key dropped."""
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            paths.append((node, key))
            if isinstance(value, dict | list):
                walk(value)

    out = []
    for _ in range(count):
        copy = json.loads(json.dumps(document))
        paths.clear()
        walk(copy)
        container, key = rng.choice(paths)
        roll = rng.random()
        if roll < 0.7 or not isinstance(container, dict):
            container[key] = rng.choice(MESSY)
        elif roll < 0.85:
            container[key.upper() if key != key.upper() else key.lower()] = container.pop(key)
        else:
            del container[key]
        out.append(json.dumps(copy, ensure_ascii=False).encode())
    return out


def test_mutated_pushes_are_mapped_alike_or_left_to_the_careful_reader():
    rng = random.Random(5)
    for raw in PUSHES[:12]:
        document = json.loads(raw)
        if isinstance(document.get("data"), str):
            document["data"] = json.loads(document["data"])
        for mutated in _mutations(document, rng, 60):
            assert _agree(mutated), mutated.decode()


def test_a_document_with_a_problem_never_takes_the_fast_path():
    document = json.loads(PUSHES[0])
    data = document["data"] if isinstance(document["data"], dict) else json.loads(document["data"])
    data["Model"]["FTAXREGISTERCODE"] = "913101156607431926"  # wrong check digit
    document["data"] = data
    raw = json.dumps(document).encode()
    assert _fast(raw) is None
    assert isinstance(_careful(raw), MappingError)
