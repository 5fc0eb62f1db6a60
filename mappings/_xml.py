"""Safe XML for documents from outside: no DTD, no entities, no network, bounded size.

A DOCTYPE is refused outright (billion laughs, quadratic blowup, XXE, external DTDs), in any
encoding: the bytes are scanned before parsing (UTF-16 and UTF-32 decoded first) and the parsed
tree is checked again. Every lxml parse in `mappings` goes through `hardened_parser()`: entities
are never resolved, no DTD is loaded, nothing is fetched from the network, and `huge_tree` stays
off, so libxml2 keeps its limits (256 levels of nesting, 10 MB text nodes, its entity
amplification guard). Namespaces are matched by local name so a document with a default
namespace, a prefix, or none at all reads the same.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree

from canonical.text import hidden_problem
from mappings._problems import Problems

__all__ = [
    "DTD_REFUSED",
    "MAX_XML_BYTES",
    "child",
    "children",
    "declares_dtd",
    "hardened_parser",
    "local_name",
    "namespace",
    "parse_untrusted",
    "text_of",
]

MAX_XML_BYTES = 8 * 1024 * 1024
"""A status report for thousands of payments fits comfortably; larger is refused unread."""

_DECLARATIONS = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
DTD_REFUSED = "DOCTYPE and entity declarations are refused (XXE / entity expansion)"
_WIDE = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
"""Encodings in which `<!DOCTYPE` is not ASCII bytes, told by their first bytes."""
_LIBXML2_LIMITS = (
    ("Excessive depth", "elements are nested more than 256 levels deep"),
    ("amplification", "entity expansion is refused (billion laughs)"),
    ("huge", "a text node or name is larger than the parser's limit (huge_tree is off)"),
)
"""libxml2's words for its limits (which suggest lifting them) -> what the sender is told."""


def hardened_parser() -> etree.XMLParser:
    """The one XMLParser configuration for anything parsed in `mappings` (documents from
    outside, and the schemas shipped with the package): one per thread (an lxml parser may
    not be shared between threads, and building one costs about as much as a small parse)."""
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = _new_parser()
    return parser


_PARSERS = threading.local()


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
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
    elif declares_dtd(bytes(raw)):
        problems.add("", DTD_REFUSED)
    problems.raise_if_any(source)
    try:
        root = etree.fromstring(bytes(raw), hardened_parser())
    except etree.XMLSyntaxError as exc:
        problems.add(f"line {exc.lineno}", _syntax_reason(str(exc.msg)))
        problems.raise_if_any(source)
        raise  # unreachable
    docinfo = root.getroottree().docinfo
    doctype: str = getattr(docinfo, "doctype", "")  # missing from lxml-stubs
    if doctype or docinfo.internalDTD is not None:  # e.g. UTF-7, which the byte scan misses
        problems.add("", DTD_REFUSED)
    problems.raise_if_any(source)
    _refuse_hidden_text(problems, root)
    problems.raise_if_any(source)
    return root


def declares_dtd(data: bytes) -> bool:
    """Whether `data` declares a DOCTYPE or an entity, in an ASCII-compatible encoding or in
    UTF-16 / UTF-32 (told by the first bytes). Never raises."""
    if _DECLARATIONS.search(data):
        return True
    for start, encoding in _WIDE:
        if data.startswith(start):
            text = data.decode(encoding, "replace")
            return _DECLARATIONS.search(text.encode("utf-8", "replace")) is not None
    return False


def _refuse_hidden_text(problems: Problems, root: etree._Element) -> None:
    """A problem for each element text or attribute holding a hidden character (a bidi
    override, a zero-width space, a C1 control: `canonical.text`); XML 1.0 already refuses
    NUL and the other C0 controls. Tabs and line breaks are ordinary XML whitespace.

    Every text and attribute value is first checked at once, in C (`isprintable` over their
    concatenation, tabs and line breaks removed); the walk that names where a hidden character
    sits runs only when that finds one (or an ideographic space, which is not "printable")."""
    everything = _ALL_TEXT(root)
    if isinstance(everything, list):
        joined = "".join(everything)  # type: ignore[arg-type]  # strings: smart_strings=False
        if joined.replace("\t", "").replace("\n", "").replace("\r", "").isprintable():
            return
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        values = [(element.text, ""), *((str(v), str(k)) for k, v in element.items())]
        for text, attribute in values:
            if text and (why := hidden_problem(text, "\t\n\r")):
                where = _where(element) + (f"/@{_unqualified(attribute)}" if attribute else "")
                problems.add(where, why, text)
        tail = element.tail
        if tail and (why := hidden_problem(tail, "\t\n\r")):
            parent = element.getparent()
            problems.add(_where(parent) if parent is not None else "", why, tail)


_ALL_TEXT = etree.XPath("//text() | //@*", smart_strings=False)


def _where(element: etree._Element) -> str:
    """`/Document/GrpHdr/MsgId`: the element's path by local names (an error message's)."""
    names = [local_name(e) for e in (element, *element.iterancestors())]
    return "/" + "/".join(reversed(names))


def _unqualified(name: str) -> str:
    return name.rpartition("}")[2]


def _syntax_reason(message: str) -> str:
    for marker, reason in _LIBXML2_LIMITS:
        if marker in message:
            return f"refused: {reason}"
    return f"not well-formed XML: {message}"[:300]


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
