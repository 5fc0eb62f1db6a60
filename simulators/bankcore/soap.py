"""SOAP 1.1 on the wire, with lxml: read an envelope, write a response or a Fault.

A Client fault means the request is wrong and resending it unchanged will fail again; a Server
fault means the core could not answer (nothing to conclude about the payment: query it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from lxml import etree

from simulators.bankcore.wsdl import NS, request_schema

__all__ = [
    "ENVELOPE_NS",
    "Request",
    "SoapFault",
    "client_fault",
    "element",
    "parse_request",
    "render_fault",
    "render_response",
]

ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
MAX_BYTES = 1024 * 1024
FaultCode = Literal["Client", "Server", "VersionMismatch"]


class SoapFault(Exception):
    """Answered as soap:Fault with a `ServiceFault` detail (HTTP 500, as SOAP 1.1 requires)."""

    def __init__(
        self, faultcode: FaultCode, code: str, message: str, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.faultcode, self.code, self.message, self.field = faultcode, code, message, field


def client_fault(code: str, message: str, field: str | None = None) -> SoapFault:
    return SoapFault("Client", code, message, field)


@dataclass(frozen=True)
class Request:
    operation: str
    body: etree._Element
    consumer_id: str
    consumer_seq_no: str

    def text(self, name: str) -> str | None:
        found = self.body.find(f"{{{NS}}}{name}")
        return None if found is None or found.text is None else found.text.strip()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
    )


def _validate(node: etree._Element) -> None:
    schema = request_schema()
    if not schema.validate(node):
        errors = list(cast(Iterable[Any], schema.error_log))
        first = errors[0] if errors else None
        message = first.message if first is not None else "not valid"
        raise client_fault("INVALID_REQUEST", f"{etree.QName(node).localname}: {message}")


def parse_request(data: bytes, operations: Iterable[str]) -> Request:
    """The operation and its validated wrapper element, or SoapFault."""
    if not data.strip():
        raise client_fault("INVALID_REQUEST", "empty request")
    if len(data) > MAX_BYTES or b"<!doctype" in data.lower():
        raise client_fault("INVALID_REQUEST", "request too large or carries a DOCTYPE")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise client_fault("INVALID_REQUEST", f"not well-formed XML: {exc}") from exc
    if root.tag == f"{{{SOAP12_NS}}}Envelope":
        raise SoapFault("VersionMismatch", "VERSION_MISMATCH", "this service speaks SOAP 1.1")
    if root.tag != f"{{{ENVELOPE_NS}}}Envelope":
        raise client_fault("INVALID_REQUEST", f"root must be soap:Envelope, got {root.tag}")
    body = root.find(f"{{{ENVELOPE_NS}}}Body")
    children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise client_fault("INVALID_REQUEST", "soap:Body must hold exactly one element")
    wrapper = children[0]
    name = etree.QName(wrapper)
    if name.namespace != NS or name.localname not in set(operations):
        raise client_fault("UNKNOWN_OPERATION", f"no operation for element {wrapper.tag}")
    head = root.find(f"{{{ENVELOPE_NS}}}Header/{{{NS}}}SysHead")
    if head is None:
        raise client_fault("MISSING_SYSHEAD", "soap:Header must carry SysHead", "SysHead")
    _validate(head)
    _validate(wrapper)
    return Request(
        operation=name.localname,
        body=wrapper,
        consumer_id=head.findtext(f"{{{NS}}}ConsumerId") or "",
        consumer_seq_no=head.findtext(f"{{{NS}}}ConsumerSeqNo") or "",
    )


def element(parent: etree._Element | None, tag: str, text: str | None = None) -> etree._Element:
    """A service-namespace element (a new root when `parent` is None)."""
    qname = f"{{{NS}}}{tag}"
    node = (
        etree.Element(qname, nsmap={"tns": NS})
        if parent is None
        else etree.SubElement(parent, qname)
    )
    if text is not None:
        node.text = text
    return node


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{ENVELOPE_NS}}}Envelope", nsmap={"soap": ENVELOPE_NS})
    return envelope, etree.SubElement(envelope, f"{{{ENVELOPE_NS}}}Body")


def _bytes(envelope: etree._Element) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def render_response(payload: etree._Element) -> bytes:
    envelope, body = _envelope()
    body.append(payload)
    return _bytes(envelope)


def render_fault(fault: SoapFault) -> bytes:
    envelope, body = _envelope()
    node = etree.SubElement(body, f"{{{ENVELOPE_NS}}}Fault")
    etree.SubElement(node, "faultcode").text = f"soap:{fault.faultcode}"
    etree.SubElement(node, "faultstring").text = fault.message
    detail = element(etree.SubElement(node, "detail"), "ServiceFault")
    element(detail, "Code", fault.code)
    element(detail, "Message", fault.message)
    if fault.field is not None:
        element(detail, "Field", fault.field)
    return _bytes(envelope)
