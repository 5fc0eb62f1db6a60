"""Every external format the hub reads or writes, by name (see `mappings.catalogue`)."""

from __future__ import annotations

from mappings import (
    bank_soap,
    camt054,
    cnaps,
    credit_pboc,
    credit_qcc,
    credit_tianyancha,
    customs_ceb,
    customs_dec,
    ecny,
    kingdee,
    kingdee_order,
    kingdee_query,
    kingdee_receivable,
    pain001,
    pain002,
    u8,
    ufinterface,
    vat_einvoice,
    vat_legacy,
    vat_verification,
    yonyou,
    yonyou_detail,
    yonyou_order,
    yonyou_receivable,
    zhongdeng,
)
from mappings._sniff import head_text, xml_root
from mappings._xml import DTD_REFUSED, declares_dtd
from mappings.catalogue import InboundFormat, OutboundFormat

__all__ = [
    "INBOUND_FORMATS",
    "OUTBOUND_FORMATS",
    "UnknownFormat",
    "inbound",
    "outbound",
    "recognise",
]

INBOUND_FORMATS: dict[str, InboundFormat] = {
    f.name: f
    for f in (
        # ERPs: answers of Kingdee's query APIs mention the form ids a Save body does
        *kingdee_query.INBOUND,
        *kingdee.INBOUND,
        *kingdee_receivable.INBOUND,
        *kingdee_order.INBOUND,
        *yonyou_detail.INBOUND,
        *yonyou.INBOUND,
        *yonyou_receivable.INBOUND,
        *yonyou_order.INBOUND,
        *u8.INBOUND,
        *ufinterface.INBOUND,
        # tax, customs, credit, registry
        *vat_einvoice.INBOUND,
        *vat_legacy.INBOUND,
        *vat_verification.INBOUND,
        *customs_dec.INBOUND,
        *customs_ceb.INBOUND,
        *credit_pboc.INBOUND,
        *credit_qcc.INBOUND,
        *credit_tianyancha.INBOUND,
        *zhongdeng.INBOUND,
        # banks and payment channels
        *pain002.INBOUND,
        *camt054.INBOUND,
        *cnaps.INBOUND,
        *bank_soap.INBOUND,
        *ecny.INBOUND,
    )
}
"""In the order `recognise` tries them: more specific formats before broader ones."""

OUTBOUND_FORMATS: dict[str, OutboundFormat] = {
    f.name: f
    for f in (
        *pain001.OUTBOUND,
        *camt054.OUTBOUND,
        *cnaps.OUTBOUND,
        *bank_soap.OUTBOUND,
        *ecny.OUTBOUND,
        *zhongdeng.OUTBOUND,
        *vat_verification.OUTBOUND,
    )
}


class UnknownFormat(LookupError):
    """No format has that name, or none recognises the document; the message says which."""


def inbound(name: str) -> InboundFormat:
    try:
        return INBOUND_FORMATS[name]
    except KeyError:
        known = ", ".join(INBOUND_FORMATS)
        raise UnknownFormat(f"no inbound format {name!r}; known: {known}") from None


def outbound(name: str) -> OutboundFormat:
    try:
        return OUTBOUND_FORMATS[name]
    except KeyError:
        known = ", ".join(OUTBOUND_FORMATS)
        raise UnknownFormat(f"no outbound format {name!r}; known: {known}") from None


def recognise(raw: bytes, family: str | None = None) -> InboundFormat:
    """The one inbound format (of `family`, if given) that recognises `raw`."""
    scope = f" of family {family!r}" if family else ""
    if _xml_declaring_dtd(raw):
        raise UnknownFormat(f"{DTD_REFUSED}: no format{scope} reads such a document")
    candidates = [f for f in INBOUND_FORMATS.values() if family is None or f.family == family]
    for candidate in candidates:
        if candidate.recognise(raw):
            return candidate
    root = xml_root(raw)
    seen = f"XML root <{root[1]}>" if root else "no recognisable XML or JSON head"
    raise UnknownFormat(f"no format{scope} recognises this document ({seen})")


def _xml_declaring_dtd(raw: object) -> bool:
    """Whether `raw` is not JSON (an object or array) and declares a DOCTYPE anywhere."""
    if not isinstance(raw, bytes | bytearray):
        return False
    return head_text(bytes(raw)).lstrip()[:1] not in ("{", "[") and declares_dtd(bytes(raw))
