"""U8 / NC EAI `ufinterface` XML holding one sales invoice -> canonical (formats-inbound §1.3).

    <ufinterface roottag="saleinvoice" proc="add" sender="..." receiver="u8" docid="...">
      <saleinvoice><header>...</header><body><entry>...</entry>...</body></saleinvoice>
      <seller>...</seller> <customer>...</customer>    (optional, see below)
    </ufinterface>

Header and entry fields are those of the U8 OpenAPI sales invoice (mappings/u8.py, which reads
them: the OpenAPI is a JSON face of the same EAI documents). Fields may be child elements or
attributes (a child wins). Namespaces and prefixes are ignored (local names only). As in u8.py
the seller and buyer tax numbers are not in the invoice: pass `seller=` / `buyer=`, or send
`<seller>` and `<customer>` (children `code`, `name`, `regcode`) beside `<saleinvoice>`.

Encoding (§0.5): installations declare GBK or GB2312 and sometimes send other bytes. The bytes
are decoded by the declaration (GBK/GB2312 read as GB18030, their superset), falling back to
UTF-8 when they do not decode; an undeclared or UTF-8-declared body that is not UTF-8 is read as
GB18030. Only `proc` add and edit carry an invoice; delete and query are refused.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime
from decimal import Decimal

from lxml import etree

from canonical import Party
from mappings._fields import Node, Reader
from mappings._invoice import DEFAULT_TOLERANCE, Origin, check_tolerance, fingerprint
from mappings._problems import Problems, guarded, require_aware
from mappings._xml import MAX_XML_BYTES, child, children, local_name, parse_untrusted, text_of
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush
from mappings.u8 import U8Parties, read_u8_invoice

__all__ = ["INBOUND", "ufinterface_invoice_to_canonical"]

SOURCE = "ufinterface"
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
_CHINESE = frozenset({"gbk", "gb2312", "gb18030", "cp936", "euc-cn", "x-gbk", "gb_2312-80"})
_UTF8 = frozenset({"utf-8", "utf8"})
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ufinterface\b[^>]*>")
_ROOTTAG = re.compile(rb"""roottag\s*=\s*["']saleinvoice["']""")


def ufinterface_invoice_to_canonical(
    raw: bytes,
    *,
    received_at: datetime,
    seller: Party | None = None,
    buyer: Party | None = None,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> InvoicePush:
    """Map a `ufinterface` sales-invoice message; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, seller, buyer, tolerance))


def _map(
    raw: bytes, received_at: datetime, seller: Party | None, buyer: Party | None, tolerance: Decimal
) -> InvoicePush:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = parse_untrusted(problems, _as_utf8(problems, raw), SOURCE)
    if local_name(root) != "ufinterface":
        problems.add(
            f"/{local_name(root)}", "not a ufinterface message: the root must be <ufinterface>"
        )
        problems.raise_if_any(SOURCE)
    roottag = (root.get("roottag") or "").strip()
    if roottag and roottag != "saleinvoice":
        problems.add("/ufinterface/@roottag", "must be saleinvoice", roottag)
    proc = (root.get("proc") or "add").strip().lower()
    if proc not in ("add", "edit"):
        problems.add("/ufinterface/@proc", "only add and edit carry an invoice", proc)
    documents = children(root, "saleinvoice")
    if len(documents) != 1:
        problems.add(
            "/ufinterface/saleinvoice",
            f"must appear exactly once, found {len(documents)}",
            len(documents),
        )
    problems.raise_if_any(SOURCE)
    document = documents[0]
    base = "/ufinterface/saleinvoice"
    header_element = child(document, "header")
    body = child(document, "body")
    for name, element in (("header", header_element), ("body", body)):
        if element is None:
            problems.add(f"{base}/{name}", "is required")
    problems.raise_if_any(SOURCE)
    header = Node(_fields(header_element), f"{base}/header")
    entries = [
        Node(_fields(entry), f"{base}/body/entry[{i}]")
        for i, entry in enumerate(children(body, "entry"), start=1)
    ]
    parties = U8Parties(seller, buyer, _block(root, "seller"), _block(root, "customer"))
    origin = Origin(SOURCE, None, fingerprint(raw), received_at)
    return read_u8_invoice(read, header, entries, f"{base}/body", parties, origin, tolerance)


def _fields(element: etree._Element | None) -> dict[str, object]:
    """An element's attributes and leaf children as a flat object (the first child wins)."""
    if element is None:
        return {}
    fields: dict[str, object] = {str(key): value for key, value in element.attrib.items()}
    for item in element:
        name = local_name(item)
        if name and name not in fields:
            fields[name] = text_of(item)
    return fields


def _block(root: etree._Element, name: str) -> Node:
    element = child(root, name)
    path = f"/ufinterface/{name}"
    if element is None:
        return Node(None, path)
    return Node(_fields(element), path)


def _as_utf8(problems: Problems, raw: bytes) -> bytes:
    """UTF-8 bytes without a declaration, decoded as described in the module docstring."""
    if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_XML_BYTES:
        return raw  # parse_untrusted refuses it with the reason
    data = bytes(raw)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data  # lxml reads UTF-16 by its byte-order mark
    bom = data.startswith(codecs.BOM_UTF8)
    if bom:
        data = data[len(codecs.BOM_UTF8) :]
    declaration = _DECLARATION.match(data)
    declared = ""
    if declaration:
        found = _ENCODING.search(declaration.group())
        declared = found.group(1).decode("ascii").lower() if found else ""
    if declared and declared not in _CHINESE | _UTF8 and not bom:
        return bytes(raw)  # e.g. ISO-8859-1: lxml honours the declaration itself
    order = ("gb18030", "utf-8") if declared in _CHINESE and not bom else ("utf-8", "gb18030")
    for encoding in order:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if declaration:
            text = text[len(declaration.group().decode("ascii", "replace")) :]
        return text.encode("utf-8")
    problems.add(
        "",
        f"neither {declared or 'UTF-8'} as declared nor "
        f"{'UTF-8' if declared in _CHINESE else 'GB18030'}: the bytes do not decode",
    )
    problems.raise_if_any(SOURCE)
    return data  # unreachable


def _recognise(raw: bytes) -> bool:
    try:
        head = bytes(raw[:4096])
        match = _ROOT.search(head)
        if match is None:
            return False
        return bool(_ROOTTAG.search(match.group())) or b"saleinvoice>" in head
    except Exception:  # recognise never raises
        return False


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="ufinterface-sales-invoice",
        family="yonyou",
        title="U8/NC EAI ufinterface XML sales invoice (GBK or UTF-8)",
        read=lambda raw, at: ufinterface_invoice_to_canonical(raw, received_at=at),
        recognise=_recognise,
    ),
)
