"""Every field of every fixture, in every inbound format, replaced by a hostile value: the mapper
refuses it with a MappingError (never another exception, never a crash caught by `guarded`), or
maps it without carrying the hidden characters into the canonical object.

The values: numbers whose exponent overflows any Decimal arithmetic (`abs()` of `1E+999999999`
raises decimal.Overflow) or whose fixed-point text is a gigabyte (`f"{Decimal('1E-999999999'):f}"`),
and text holding a bidi override and a zero-width space.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from lxml import etree

from canonical import MappingError
from mappings.formats import UnknownFormat, recognise
from tests.mappings.conftest import RECEIVED_AT, _exact_json

FIXTURES = Path(__file__).parent / "fixtures"
HIDDEN = "\u202e1\u200b"
JSON_VALUES: list[object] = [Decimal("-1E+999999999"), Decimal("1E-999999999"), HIDDEN]
XML_VALUES = ["1E+999999999", "-1E-999999999", HIDDEN]


def _documents(suffix: str) -> list[Path]:
    found = []
    for path in sorted(FIXTURES.rglob(f"*{suffix}")):
        if path.name.endswith(".expected.json"):
            continue
        raw = path.read_bytes()
        try:
            recognise(raw)
            if suffix == ".xml":
                etree.fromstring(raw)  # a plain XML document (not one behind a text prefix)
        except (UnknownFormat, etree.XMLSyntaxError):
            continue
        found.append(path)
    return found


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path


@pytest.mark.parametrize("path", _documents(".json"), ids=lambda p: p.name)
def test_any_json_field_replaced_by_a_hostile_value_is_refused_or_harmless(path: Path):
    raw = path.read_bytes()
    fmt = recognise(raw)
    try:
        document = json.loads(raw, parse_float=Decimal)
    except UnicodeDecodeError:
        document = json.loads(raw.decode("gb18030"), parse_float=Decimal)
    wrong = []
    for where in _leaves(document):
        for value in JSON_VALUES:
            mutated = copy.deepcopy(document)
            target = mutated
            for key in where[:-1]:
                target = target[key]
            target[where[-1]] = value
            body = _exact_json(mutated)
            try:
                result = fmt.read(body, RECEIVED_AT)
            except MappingError as error:
                crashes = [p.reason for p in error.problems if p.reason.startswith("unexpected")]
                if crashes:
                    wrong.append(f"{where} = {value!r}: {crashes[0]}")
                continue
            if "\u202e" in pydantic_core.to_json(result).decode():
                wrong.append(f"{where} = {value!r}: mapped with the hidden characters")
    assert wrong == []


@pytest.mark.parametrize("path", _documents(".xml"), ids=lambda p: p.name)
def test_any_xml_text_replaced_by_a_hostile_value_is_refused_or_harmless(path: Path):
    raw = path.read_bytes()
    fmt = recognise(raw)
    root = etree.fromstring(raw)
    texts = [e for e in root.iter() if isinstance(e.tag, str) and len(e) == 0 and e.text]
    wrong = []
    for index in range(len(texts)):
        for value in XML_VALUES:
            mutated = copy.deepcopy(root)
            leaf = [e for e in mutated.iter() if isinstance(e.tag, str) and len(e) == 0 and e.text]
            leaf[index].text = value
            body = etree.tostring(mutated, xml_declaration=True, encoding="UTF-8")
            try:
                result = fmt.read(body, RECEIVED_AT)
            except MappingError as error:
                crashes = [p.reason for p in error.problems if p.reason.startswith("unexpected")]
                if crashes:
                    wrong.append(f"{texts[index].tag} = {value!r}: {crashes[0]}")
                continue
            if "\u202e" in pydantic_core.to_json(result).decode():
                wrong.append(f"{texts[index].tag} = {value!r}: mapped with the hidden characters")
    assert wrong == []
