"""VAT mappers under abuse: only MappingError escapes; `recognise` tells the formats apart."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonical import MappingError
from mappings import vat_einvoice, vat_legacy, vat_verification
from tests.mappings.conftest import RECEIVED_AT

FIXTURES = Path(__file__).parent / "fixtures"
VAT = FIXTURES / "vat"
MODULES = (vat_einvoice, vat_legacy, vat_verification)
OURS = {
    "vat-einvoice-xml": sorted(VAT.glob("einvoice_*.xml")),
    "vat-legacy-xml": sorted(VAT.glob("legacy_*.xml")),
    "vat-verification-answer": [
        p for p in sorted(VAT.glob("verification_*.json")) if not p.name.endswith(".expected.json")
    ],
}
OTHERS = sorted(p for p in FIXTURES.iterdir() if p.is_file())
READERS = {fmt.name: fmt for module in MODULES for fmt in module.INBOUND}


def _only_mapping_errors(name: str, raw: bytes, received_at) -> None:
    """Read `raw`: a result or a MappingError listing at least one problem, nothing else."""
    problems: list[object] = [None]
    try:
        READERS[name].read(raw, received_at)
    except MappingError as exc:
        problems = list(exc.problems)
    assert problems, "a MappingError must list at least one problem"


@pytest.mark.parametrize("name", sorted(OURS))
def test_each_recogniser_accepts_its_own_fixtures_and_rejects_every_other(name):
    recognise = READERS[name].recognise
    others = [p for other, paths in OURS.items() if other != name for p in paths] + OTHERS

    assert all(recognise(p.read_bytes()) for p in OURS[name])
    assert not any(recognise(p.read_bytes()) for p in others)


@pytest.mark.parametrize("junk", [b"", b"\x00\xff" * 10, b"<", b"{", b"null", "中文".encode()])
def test_recognisers_never_raise_on_junk(junk):
    assert not any(fmt.recognise(junk) for fmt in READERS.values())


@pytest.mark.parametrize("name", sorted(OURS))
def test_documents_truncated_at_many_points_raise_only_mapping_errors(name, received_at):
    for path in OURS[name]:
        raw = path.read_bytes()
        for cut in range(0, len(raw), max(1, len(raw) // 60)):
            _only_mapping_errors(name, raw[:cut], received_at)


@pytest.mark.parametrize("name", sorted(OURS))
def test_random_byte_flips_raise_only_mapping_errors(name, received_at):
    generator = random.Random(20261120)
    for path in OURS[name]:
        raw = path.read_bytes()
        for _ in range(60):
            mutated = bytearray(raw)
            for _ in range(generator.randint(1, 4)):
                mutated[generator.randrange(len(mutated))] = generator.randrange(256)
            _only_mapping_errors(name, bytes(mutated), received_at)


_VALUES = st.sampled_from(
    [
        "",
        " ",
        "-",
        "abc",
        "1e400",
        "9" * 40,
        "-0",
        "NaN",
        "Infinity",
        "0x10",
        "1,2,3",
        "１２．３",
        "¥-",
        "13%%",
        "***",
        "免税",
        "2026-02-30",
        "99999999",
        "<",
        "&amp;",
        "Y",
        "N",
        "01",
        "02",
        "[]",
        "{}",
        "null",
        "true",
        "12345678901234567890123",
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_type_swapped_and_huge_values_raise_only_mapping_errors(data):
    """Replace the text of a few fields (XML) or values (JSON) with hostile ones."""
    name = data.draw(st.sampled_from(sorted(OURS)))
    raw = data.draw(st.sampled_from(OURS[name])).read_bytes()
    text = raw.decode("gbk") if b'encoding="GB' in raw[:60] else raw.decode("utf-8-sig")
    for _ in range(data.draw(st.integers(1, 4))):
        value = data.draw(_VALUES)
        if name.endswith("xml"):
            ends = [i for i in range(len(text)) if text.startswith("</", i)]
            end = data.draw(st.sampled_from(ends))
            start = text.rfind(">", 0, end) + 1
            text = (
                text[:start]
                + value.replace("<", "&lt;").replace("&amp;", "&amp;amp;")
                + (text[end:])
            )
        else:
            colons = [i for i in range(len(text)) if text.startswith('": ', i)]
            at = data.draw(st.sampled_from(colons)) + 3
            stop = min(
                (
                    i
                    for i in (text.find(",", at), text.find("}", at), text.find("\n", at))
                    if i != -1
                ),
                default=len(text),
            )
            hostile = data.draw(
                st.sampled_from(
                    [f'"{value}"', "1e999", "[1]", "{}", "null", "true", "123456789" * 5]
                )
            )
            text = text[:at] + hostile + text[stop:]
    encoding = data.draw(st.sampled_from(["utf-8", "utf-16", "gb18030", "latin-1"]))
    try:
        payload = text.encode(encoding)
    except UnicodeEncodeError:
        payload = text.encode("utf-8")
    _only_mapping_errors(name, payload, RECEIVED_AT)


def test_an_oversized_number_or_a_huge_document_is_a_problem_not_a_crash(received_at):
    raw = (VAT / "einvoice_special.xml").read_bytes()
    huge = raw.replace(b"<Amount>17000.00", b"<Amount>" + b"9" * 5000)

    with pytest.raises(MappingError) as caught:
        vat_einvoice.einvoice_to_canonical(huge, received_at=received_at)
    assert (
        "/EInvoice/EInvoiceData/IssuItemInformation[1]/Amount",
        "is out of range (magnitude must be below 10^15)",
    ) in [(p.path, p.reason) for p in caught.value.problems]
    with pytest.raises(MappingError):
        vat_einvoice.einvoice_to_canonical(raw + b" " * (9 * 1024 * 1024), received_at=received_at)


@pytest.mark.parametrize("module", MODULES)
def test_a_naive_received_at_is_a_problem(module, received_at):
    (fmt,) = module.INBOUND
    raw = OURS[fmt.name][0].read_bytes()

    with pytest.raises(MappingError) as caught:
        fmt.read(raw, received_at.replace(tzinfo=None))
    assert [p.path for p in caught.value.problems] == ["received_at"]
