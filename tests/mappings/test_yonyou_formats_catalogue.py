"""The Yonyou catalogue formats: golden outputs, recognition, and only MappingError on bad bytes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pydantic_core import to_jsonable_python

from canonical import MappingError
from mappings import u8, ufinterface, yonyou_detail, yonyou_order, yonyou_receivable
from mappings.catalogue import InboundFormat

from .conftest import FIXTURES, RECEIVED_AT

YONYOU = FIXTURES / "yonyou"
FORMATS: dict[str, InboundFormat] = {
    f.name: f
    for module in (yonyou_detail, yonyou_receivable, yonyou_order, u8, ufinterface)
    for f in module.INBOUND
}
GOLDEN = {
    "yonbip_invoice_detail.json": "yonbip-sales-invoice-detail",
    "yonbip_invoice_detail_red_gbk.json": "yonbip-sales-invoice-detail",
    "yonbip_receivable.json": "yonbip-receivable",
    "yonbip_receivable_red_bom.json": "yonbip-receivable",
    "ncc_receivable.json": "ncc-receivable",
    "yonbip_sale_order.json": "yonbip-sale-order",
    "yonbip_sale_order_gbk.json": "yonbip-sale-order",
    "u8_saleinvoice.json": "u8-sales-invoice",
    "u8_saleinvoice_red_gbk.json": "u8-sales-invoice",
    "ufinterface_saleinvoice_gbk.xml": "ufinterface-sales-invoice",
    "ufinterface_saleinvoice_red_prefixed.xml": "ufinterface-sales-invoice",
}
OTHER_FAMILIES = sorted(p.name for p in FIXTURES.glob("*.*") if p.is_file())


def _without_new_defaults(actual: object, expected: object) -> object:
    """`actual` less keys the golden file lacks whose value is an empty default ("" / [] / None):
    a field added to the canonical model later does not invalidate a reviewed golden file."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        return {
            key: _without_new_defaults(value, expected.get(key))
            for key, value in actual.items()
            if key in expected or value not in ("", [], None)
        }
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        return [_without_new_defaults(a, e) for a, e in zip(actual, expected, strict=True)]
    return actual


class TestGoldenOutputs:
    def test_every_fixture_has_a_reviewed_golden_file(self):
        fixtures = {p.name for p in YONYOU.iterdir() if ".expected." not in p.name}
        assert fixtures == set(GOLDEN)
        assert all((YONYOU / _golden(name)).exists() for name in GOLDEN)

    @pytest.mark.parametrize(("name", "format_name"), sorted(GOLDEN.items()))
    def test_each_fixture_maps_to_its_reviewed_canonical_json(self, name, format_name):
        raw = (YONYOU / name).read_bytes()
        result = FORMATS[format_name].read(raw, RECEIVED_AT)
        expected = json.loads((YONYOU / _golden(name)).read_text(encoding="utf-8"))
        actual = to_jsonable_python(result)

        assert _without_new_defaults(actual, expected) == expected

    @pytest.mark.parametrize(("name", "format_name"), sorted(GOLDEN.items()))
    def test_the_fingerprint_is_sm3_of_the_bytes_as_received(self, name, format_name):
        import hashlib

        raw = (YONYOU / name).read_bytes()
        result = to_jsonable_python(FORMATS[format_name].read(raw, RECEIVED_AT))
        provenance = (result.get("invoice") or result)["provenance"]

        assert provenance["fingerprint"] == hashlib.new("sm3", raw).hexdigest()


def _golden(name: str) -> str:
    return str(Path(name).with_suffix(".expected.json"))


class TestRecognition:
    @pytest.mark.parametrize(("name", "format_name"), sorted(GOLDEN.items()))
    def test_each_format_recognises_its_fixtures_and_no_other_yonyou_format_does(
        self, name, format_name
    ):
        raw = (YONYOU / name).read_bytes()

        assert [f.name for f in FORMATS.values() if f.recognise(raw)] == [format_name]

    @pytest.mark.parametrize("name", OTHER_FAMILIES)
    def test_other_families_fixtures_are_not_taken_for_yonyou_formats(self, name):
        raw = (FIXTURES / name).read_bytes()

        assert [f.name for f in FORMATS.values() if f.recognise(raw)] == []

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"{",
            b"\xff\xfe",
            b"[]",
            b"null",
            b"<a/>",
            b"<ufinterface",
            None,
            "text",
            b"{}" * 400_000,
        ],
    )
    def test_recognise_never_raises(self, raw):
        assert not any(f.recognise(raw) for f in FORMATS.values())

    def test_every_format_is_in_the_yonyou_family_with_the_agreed_names(self):
        assert {f.family for f in FORMATS.values()} == {"yonyou"}
        assert sorted(FORMATS) == [
            "ncc-receivable",
            "u8-sales-invoice",
            "ufinterface-sales-invoice",
            "yonbip-receivable",
            "yonbip-sale-order",
            "yonbip-sales-invoice-detail",
        ]


def _mutations(raw: bytes, seed: int) -> list[bytes]:
    """Truncations, byte flips, wrong encodings, huge numbers and type-swapped values."""
    rng = random.Random(seed)
    out = [raw[:cut] for cut in range(0, len(raw), max(1, len(raw) // 40))]
    for _ in range(40):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out.append(bytes(data))
    text = (
        raw.decode("utf-8", "replace")
        if not raw.startswith(b"\xef\xbb\xbf")
        else (raw[3:].decode("utf-8", "replace"))
    )
    out += [text.encode("utf-16"), text.encode("utf-32"), b"\xef\xbb\xbf" + raw]
    for old, new in (
        (b'"', b"'"),
        (b"2026", b"9" * 400),
        (b"13", b"1e400"),
        (b"1", b"-"),
        (b"0", b"NaN"),
        (b"[", b"{"),
        (b'"code"', b'"c0de"'),
        (b">", b"/>"),
        (b"</", b"<"),
        (b"entry", b"entries"),
        (b"00", b"1e99"),
    ):
        out.append(raw.replace(old, new))
    return out


def _swapped(document: object, rng: random.Random) -> object:
    """`document` with some scalar values swapped for values of other JSON types."""
    replacements = [None, True, [], {}, "", "x", -1, 10**30, "１２,３", "2026-13-45"]
    if isinstance(document, dict):
        return {
            k: rng.choice(replacements) if rng.random() < 0.15 else _swapped(v, rng)
            for k, v in document.items()
        }
    if isinstance(document, list):
        return [_swapped(v, rng) for v in document]
    return document


@pytest.mark.parametrize(("name", "format_name"), sorted(GOLDEN.items()))
def test_mutated_documents_raise_only_mapping_error(name, format_name):
    raw = (YONYOU / name).read_bytes()
    read = FORMATS[format_name].read
    variants = _mutations(raw, seed=len(name))
    if name.endswith(".json"):
        encoding = "gb18030" if "gbk" in name else "utf-8-sig"
        document = json.loads(raw.decode(encoding))
        rng = random.Random(7)
        variants += [
            json.dumps(_swapped(document, rng), ensure_ascii=False).encode() for _ in range(30)
        ]
    outcomes: dict[str, int] = {"mapped": 0, "refused": 0}
    crashes: list[str] = []
    for variant in variants:
        try:
            read(variant, RECEIVED_AT)
        except MappingError as exc:
            outcomes["refused"] += 1
            if not exc.problems or any(p.reason.startswith("unexpected ") for p in exc.problems):
                crashes.append(str(exc))  # guarded() caught a bug, or nothing was said
        else:
            outcomes["mapped"] += 1
    assert crashes == []
    assert outcomes["refused"] > len(variants) // 2
