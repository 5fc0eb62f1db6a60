"""Whatever bytes arrive, an ERP mapper either maps them or raises MappingError: nothing else."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from canonical import MappingError
from mappings import InvoicePush, kingdee_invoice_to_canonical, yonyou_invoice_to_canonical

MAPPERS = {
    "kingdee": (kingdee_invoice_to_canonical, "kingdee_iv_salesic.json"),
    "yonyou": (yonyou_invoice_to_canonical, "yonyou_sale_invoice.json"),
}
Mapper = Callable[..., InvoicePush]


@pytest.fixture(params=sorted(MAPPERS))
def mapper_and_fixture(request) -> tuple[Mapper, str]:
    return MAPPERS[request.param]


def _outcome(mapper: Mapper, raw: Any, received_at) -> str:
    """ "mapped" or "refused"; any other exception escapes and fails the test."""
    try:
        mapper(raw, received_at=received_at)
    except MappingError as exc:
        if any(p.reason.startswith("unexpected ") for p in exc.problems):
            return f"crashed inside the mapper: {exc}"  # guarded() caught a bug
        return "refused" if exc.problems else "refused without a problem"
    return "mapped"


class TestNotADocument:
    @pytest.mark.parametrize(("raw", "reason"), [
        (b"", "not valid JSON: Expecting value at line 1 column 1"),
        (b'{"formid": "IV_SALESIC", "data": {', "not valid JSON: Expecting property name "
                                                 "enclosed in double quotes at line 1 column 35"),
        (b"<xml/>", "not valid JSON: Expecting value at line 1 column 1"),
        (b"[]", "must be a JSON object"),
        (b'[{"formid": "IV_SALESIC"}]', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'"IV_SALESIC"', "must be a JSON object"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b"[" * 100_000, "not valid JSON: nested too deeply"),
        (b"\xff\xfe\x00\xd8", "invalid utf-16-le after its byte-order mark at byte 2"),
        (b"\x81\x30\x81", "neither UTF-8 nor GB18030 (bad byte at 0)"),
    ])
    def test_undecodable_bodies_are_one_problem_at_the_root(self, mapper_and_fixture,
                                                            received_at, raw, reason):
        mapper, _ = mapper_and_fixture
        with pytest.raises(MappingError) as caught:
            mapper(raw, received_at=received_at)

        assert [(p.path, p.reason) for p in caught.value.problems] == [("", reason)]

    @pytest.mark.parametrize("raw", [None, "{}", 42, bytearray(b"{]")])
    def test_wrong_argument_types_raise_mapping_error(self, mapper_and_fixture, received_at,
                                                      raw):
        mapper, _ = mapper_and_fixture
        with pytest.raises(MappingError):
            mapper(raw, received_at=received_at)

    def test_an_integer_too_long_to_convert_is_refused(self, mapper_and_fixture, received_at):
        mapper, _ = mapper_and_fixture
        with pytest.raises(MappingError) as caught:
            mapper(b'{"data": ' + b"9" * 5000 + b"}", received_at=received_at)

        assert caught.value.problems[0].reason.startswith("not valid JSON")

    def test_an_oversized_body_is_refused_unread(self, mapper_and_fixture, received_at):
        mapper, _ = mapper_and_fixture
        with pytest.raises(MappingError) as caught:
            mapper(b" " * (5 * 2**20), received_at=received_at)

        assert "more than the" in caught.value.problems[0].reason

    def test_every_truncation_of_a_valid_document_is_a_mapping_error(self, mapper_and_fixture,
                                                                     fixture_bytes, received_at):
        mapper, name = mapper_and_fixture
        raw = fixture_bytes(name)
        for end in range(len(raw) - 2):  # the last bytes are only whitespace and "}\n"
            assert _outcome(mapper, raw[:end], received_at) == "refused"

    def test_random_byte_corruption_never_escapes_as_another_exception(
        self, mapper_and_fixture, fixture_bytes, received_at
    ):
        mapper, name = mapper_and_fixture
        raw = fixture_bytes(name)
        rng = random.Random(20261120)
        for _ in range(1500):
            corrupted = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
            assert _outcome(mapper, bytes(corrupted), received_at) in ("mapped", "refused")


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))


REPLACEMENTS = [None, True, [], {}, "", "垃圾", -1, Decimal("1e400"), 10**30,
                Decimal("1e-400"), Decimal("0.5")]


class TestWrongValuesEverywhere:
    def test_any_field_replaced_by_any_wrong_value_only_raises_mapping_error(
        self, mapper_and_fixture, fixture_json, encode, received_at
    ):
        mapper, name = mapper_and_fixture
        document = fixture_json(name)
        for path in list(_leaves(document))[1:]:
            for replacement in REPLACEMENTS:
                mutated = copy.deepcopy(document)
                holder = mutated
                for step in path[:-1]:
                    holder = holder[step]
                holder[path[-1]] = replacement
                assert _outcome(mapper, encode(mutated), received_at) in ("mapped", "refused")

    @pytest.mark.parametrize(("written", "reason"), [
        (Decimal("1e400"), "is out of range (magnitude must be below 10^15)"),
        (10**30, "is out of range (magnitude must be below 10^15)"),
        ("1" * 40, "is out of range (magnitude must be below 10^15)"),
        (Decimal("1e-400"), "has more than 10 decimal places"),
        (True, "must be a number, not a boolean"),
        ([], "must be a number or a numeric string, got an array"),
    ])
    def test_absurd_kingdee_amounts_are_problems_at_their_pointer(
        self, fixture_json, encode, received_at, written, reason
    ):
        document = fixture_json("kingdee_iv_salesic.json")
        document["data"]["Model"]["FAFTERTOTALTAXFOR"] = written

        with pytest.raises(MappingError) as caught:
            kingdee_invoice_to_canonical(encode(document), received_at=received_at)

        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("/data/Model/FAFTERTOTALTAXFOR", reason)]

    def test_a_naive_receipt_time_and_a_float_tolerance_are_refused(self, fixture_bytes):
        from datetime import datetime

        with pytest.raises(MappingError) as caught:
            kingdee_invoice_to_canonical(fixture_bytes("kingdee_iv_salesic.json"),
                                         received_at=datetime(2026, 11, 20),  # naive
                                         tolerance=0.01)  # type: ignore[arg-type]

        assert [p.path for p in caught.value.problems] == ["received_at", "tolerance"]
