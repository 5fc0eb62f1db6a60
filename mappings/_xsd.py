"""XSD validation of the ISO 20022 documents we write, against the schemas shipped in
`mappings/schemas/` (loaded once, on first use)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import cast

from lxml import etree

from canonical import MappingError, Problem
from mappings._problems import Problems
from mappings._xml import hardened_parser, parse_untrusted

__all__ = ["validate_against"]

_LOCK = threading.Lock()


def validate_against(schema_file: str, xml: bytes, source: str) -> None:
    """Raise MappingError listing every violation of `schemas/<schema_file>` by `xml`."""
    root = parse_untrusted(Problems(), xml, source)
    schema = _schema(schema_file)
    with _LOCK:  # an XMLSchema keeps its error log on the instance
        valid = schema.validate(root)
        errors = list(cast(Iterable[etree._LogEntry], schema.error_log))
    if not valid:
        name = schema_file.removesuffix(".xsd")
        raise MappingError(
            [Problem(path=e.path or f"line {e.line}", reason=e.message) for e in errors]
            or [Problem(path="", reason=f"does not validate against {name}")],
            source=source,
        )


@cache
def _schema(schema_file: str) -> etree.XMLSchema:
    data = resources.files("mappings").joinpath(f"schemas/{schema_file}").read_bytes()
    return etree.XMLSchema(etree.fromstring(data, hardened_parser()))
