"""Safe XML for documents from outside: no DTD, no entities, no network, bounded size.

A DOCTYPE is refused outright (billion laughs, XXE); namespaces are matched by local name so a
document with a default namespace, a prefix, or none at all reads the same.
"""

from __future__ import annotations

import re

from lxml import etree

from mappings._problems import Problems

__all__ = ["MAX_XML_BYTES", "child", "children", "local_name", "namespace", "parse_untrusted",
           "text_of"]

MAX_XML_BYTES = 8 * 1024 * 1024
"""A status report for thousands of payments fits comfortably; larger is refused unread."""

_DECLARATIONS = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_REFUSED = "DOCTYPE and entity declarations are refused (XXE / entity expansion)"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted(
    problems: Problems, raw: bytes, source: str, *, max_bytes: int = MAX_XML_BYTES
) -> etree._Element:
    """The root element of `raw`, or MappingError (raised at once: nothing else can be read)."""
    if not isinstance(raw, bytes | bytearray):
        problems.add("", f"document must be bytes, got {type(raw).__name__}")
    elif len(raw) > max_bytes:
        problems.add("", f"document is {len(raw)} bytes, more than the {max_bytes} allowed")
    elif _DECLARATIONS.search(raw):
        problems.add("", _REFUSED)
    problems.raise_if_any(source)
    try:
        root = etree.fromstring(bytes(raw), _parser())
    except etree.XMLSyntaxError as exc:
        problems.add(f"line {exc.lineno}", f"not well-formed XML: {exc.msg}"[:300])
        problems.raise_if_any(source)
        raise  # unreachable
    docinfo = root.getroottree().docinfo
    doctype: str = getattr(docinfo, "doctype", "")  # missing from lxml-stubs
    if doctype or docinfo.internalDTD is not None:  # e.g. UTF-16, which the byte scan misses
        problems.add("", _REFUSED)
    problems.raise_if_any(source)
    return root


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def namespace(element: etree._Element) -> str | None:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].partition("}")[0]
    return None


def children(element: etree._Element | None, name: str) -> list[etree._Element]:
    if element is None:
        return []
    return [c for c in element if local_name(c) == name]


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    for candidate in element:
        if local_name(candidate) == name:
            return candidate
    return None


def text_of(element: etree._Element | None) -> str:
    """The element's trimmed text ("" when absent or empty)."""
    if element is None or element.text is None:
        return ""
    return element.text.strip()
