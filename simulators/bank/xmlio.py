"""Safe XML intake for the bank: no DTDs, no entities, no network, no huge trees, then the XSD.

A hostile or broken file must never reach the payment logic; anything odd is FF01.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, cast

from lxml import etree

SCHEMA_DIR = Path(__file__).parent / "schemas"
PAIN001_NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
PAIN002_NS = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
MAX_BYTES = 5 * 1024 * 1024


class RejectedXml(Exception):
    """The file cannot be processed at all (answered 400 with reason FF01)."""

    reason = "FF01"

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


@cache
def schema(filename: str) -> etree.XMLSchema:
    """Loaded once per process; lxml schemas are read-only and reusable."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / filename), safe_parser()))


def pain001_schema() -> etree.XMLSchema:
    return schema("pain.001.001.09.xsd")


def pain002_schema() -> etree.XMLSchema:
    return schema("pain.002.001.10.xsd")


def parse_pain001(data: bytes) -> etree._Element:
    """The validated Document element, or RejectedXml."""
    if not data.strip():
        raise RejectedXml("empty body")
    if len(data) > MAX_BYTES:
        raise RejectedXml(f"document larger than {MAX_BYTES} bytes")
    if b"<!doctype" in data.lower():
        raise RejectedXml("DOCTYPE declarations are refused")
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise RejectedXml(f"not well-formed XML: {exc}") from exc
    info = root.getroottree().docinfo
    if getattr(info, "doctype", "") or info.internalDTD is not None:  # stubs lack `doctype`
        raise RejectedXml("DOCTYPE declarations are refused")
    if (info.encoding or "UTF-8").upper() not in ("UTF-8", "UTF8"):
        raise RejectedXml(f"ISO 20022 messages are UTF-8, not {info.encoding}")
    if root.tag != f"{{{PAIN001_NS}}}Document":
        raise RejectedXml(f"root must be Document in {PAIN001_NS}, got {root.tag}")
    validator = pain001_schema()
    if not validator.validate(root):
        errors = cast(Iterable[Any], validator.error_log)
        details = [f"line {e.line}: {e.message}" for e in list(errors)[:10]]
        raise RejectedXml("not valid against pain.001.001.09.xsd", details)
    return root
