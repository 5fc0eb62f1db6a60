"""Whatever bytes arrive, a customs mapper maps them or raises MappingError: nothing else."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from canonical import MappingError
from mappings.customs_ceb import (
    ceb303_to_canonical,
    ceb403_to_canonical,
    recognise_ceb303,
    recognise_ceb403,
)
from mappings.customs_dec import decmessage_to_canonical, recognise_decmessage
from tests.mappings.conftest import FIXTURES, RECEIVED_AT

CUSTOMS = FIXTURES / "customs"
Mapper = Callable[..., object]
CASES: dict[str, tuple[Mapper, Callable[[bytes], bool]]] = {
    "decmessage_export.xml": (decmessage_to_canonical, recognise_decmessage),
    "decmessage_prefixed_gbk.xml": (decmessage_to_canonical, recognise_decmessage),
    "decmessage_import_dxp.xml": (decmessage_to_canonical, recognise_decmessage),
    "ceb303_orders.xml": (ceb303_to_canonical, recognise_ceb303),
    "ceb403_receipts.xml": (ceb403_to_canonical, recognise_ceb403),
}
_TEXT = re.compile(rb">([^<>]+)<")


def _outcome(mapper: Mapper, raw: bytes, received_at: datetime = RECEIVED_AT) -> str:
    """ "mapped" or "refused"; any other exception escapes and fails the test."""
    try:
        mapper(raw, received_at=received_at)
    except MappingError as exc:
        if any(p.reason.startswith("unexpected ") for p in exc.problems):
            return f"crashed inside the mapper: {exc}"  # guarded() caught a bug
        return "refused" if exc.problems else "refused without a problem"
    return "mapped"


@pytest.fixture(params=sorted(CASES))
def case(request) -> tuple[Mapper, Callable[[bytes], bool], bytes]:
    mapper, recognise = CASES[request.param]
    return mapper, recognise, (CUSTOMS / request.param).read_bytes()


def _swapped(raw: bytes, rng: random.Random) -> bytes:
    """Replace some element texts with type-swapped, huge or odd values."""
    values = [
        b"",
        b" ",
        b"-1",
        b"1e400",
        b"9" * 40,
        b"0.000000000001",
        b"NaN",
        b"\xef\xbc\x91",
        b"&lt;x&gt;",
        b"<nested>1</nested>",
        b"20251399",
        b"\xe5\x85\x83",
        b"true",
    ]

    def swap(match: re.Match[bytes]) -> bytes:
        if rng.random() < 0.3:
            return b">" + rng.choice(values) + b"<"
        return match.group(0)

    return _TEXT.sub(swap, raw)


class TestMutatedDocuments:
    def test_truncation_at_many_points_is_refused_cleanly(self, case):
        mapper, recognise, raw = case
        for cut in range(0, len(raw), max(1, len(raw) // 60)):
            assert _outcome(mapper, raw[:cut]) in ("refused", "mapped"), cut
            recognise(raw[:cut])

    def test_random_byte_flips_are_mapped_or_refused(self, case):
        mapper, recognise, raw = case
        rng = random.Random(20251118)
        for _ in range(80):
            data = bytearray(raw)
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            assert _outcome(mapper, bytes(data)) in ("refused", "mapped")
            recognise(bytes(data))

    def test_type_swapped_and_huge_values_are_refused_with_problems(self, case):
        mapper, _, raw = case
        rng = random.Random(7)
        for _ in range(60):
            assert _outcome(mapper, _swapped(raw, rng)) in ("refused", "mapped")

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "latin-1", "utf-32"])
    def test_wrong_encodings_are_mapped_or_refused(self, case, encoding):
        mapper, recognise, raw = case
        text = raw.decode("gbk" if b'encoding="GBK"' in raw else "utf-8-sig")
        data = text.encode(encoding, errors="replace")
        assert _outcome(mapper, data) in ("refused", "mapped")
        recognise(data)

    def test_non_bytes_and_oversized_input_are_problems(self, case):
        mapper, recognise, _ = case
        assert _outcome(mapper, "<DecMessage/>") == "refused"  # type: ignore[arg-type]
        assert _outcome(mapper, b"<a>" + b" " * (9 * 1024 * 1024) + b"</a>") == "refused"
        assert not recognise(None)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), which=st.sampled_from(sorted(CASES)))
def test_arbitrary_bytes_never_escape_as_another_exception(data, which):
    mapper, recognise = CASES[which]
    assert _outcome(mapper, data) in ("refused", "mapped")
    assert isinstance(recognise(data), bool)


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=30), which=st.sampled_from(sorted(CASES)))
@example(text="¹", which="decmessage_export.xml")  # a digit to str.isdigit, not to int()
def test_any_text_in_a_field_is_mapped_or_refused(text, which):
    mapper, _ = CASES[which]
    raw = (CUSTOMS / which).read_bytes()
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "replace")
    if b"GBK" in raw[:60]:
        raw = raw.decode("gbk").encode("utf-8").replace(b'encoding="GBK"', b'encoding="UTF-8"')
    for tag in (b"DeclTotal>", b"TradeCurr>", b"goodsValue>", b"charge>", b"appTime>", b"IEFlag>"):
        position = raw.find(tag)
        if position >= 0:
            end = raw.find(b"<", position)
            raw = raw[: position + len(tag)] + escaped + raw[end:]
    assert _outcome(mapper, raw) in ("refused", "mapped")
