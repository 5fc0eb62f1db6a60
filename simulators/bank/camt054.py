"""camt.054.001.08 (BankToCustomerDebitCreditNotificationV08): what the bank booked, in XSD order.

One notification per debtor account; each executed payment is one booked debit entry (`DBIT`,
`BOOK`, bank transaction code PMNT/ICDT/DMCT) carrying the original references, so the hub can
match on EndToEndId (formats-outbound.md §1.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from simulators.bank.engine import LedgerEntry
from simulators.common.clock import CST, iso_seconds

__all__ = ["CAMT054_NS", "Notification", "render_camt054"]

CAMT054_NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


@dataclass(frozen=True)
class Notification:
    """One account's bookings; `entries` pairs each ledger entry with its sequence number."""

    notification_id: str
    account: str
    entries: Sequence[tuple[int, LedgerEntry]]


def _child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAMT054_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _account(parent: etree._Element, tag: str, number: str) -> None:
    _child(_child(_child(_child(parent, tag), "Id"), "Othr"), "Id", number)


def _amount(parent: etree._Element, entry: LedgerEntry) -> None:
    _child(parent, "Amt", format(entry.amount, "f")).set("Ccy", entry.currency)


def _bank_transaction_code(parent: etree._Element) -> None:
    domain = _child(_child(parent, "BkTxCd"), "Domn")
    _child(domain, "Cd", "PMNT")
    family = _child(domain, "Fmly")
    _child(family, "Cd", "ICDT")
    _child(family, "SubFmlyCd", "DMCT")


def _details(parent: etree._Element, entry: LedgerEntry) -> None:
    tx = _child(_child(parent, "NtryDtls"), "TxDtls")
    refs = _child(tx, "Refs")
    _child(refs, "MsgId", entry.msg_id)
    _child(refs, "AcctSvcrRef", entry.acct_svcr_ref)
    _child(refs, "PmtInfId", entry.pmt_inf_id)
    if entry.instr_id is not None:
        _child(refs, "InstrId", entry.instr_id)
    _child(refs, "EndToEndId", entry.end_to_end_id)
    _amount(tx, entry)
    _child(tx, "CdtDbtInd", "DBIT")
    parties = _child(tx, "RltdPties")
    if entry.creditor_name:
        _child(_child(_child(parties, "Cdtr"), "Pty"), "Nm", entry.creditor_name[:140])
    _account(parties, "CdtrAcct", entry.creditor_account)
    agent = entry.creditor_agent
    if agent and agent.isdigit():  # a CNAPS 行号; BICs are not echoed
        member = _child(
            _child(_child(_child(tx, "RltdAgts"), "CdtrAgt"), "FinInstnId"), "ClrSysMmbId"
        )
        _child(_child(member, "ClrSysId"), "Cd", "CNAPS")
        _child(member, "MmbId", agent)


def _entry(parent: etree._Element, sequence: int, entry: LedgerEntry) -> None:
    element = _child(parent, "Ntry")
    _child(element, "NtryRef", str(sequence))
    _amount(element, entry)
    _child(element, "CdtDbtInd", "DBIT")
    _child(_child(element, "Sts"), "Cd", "BOOK")
    _child(_child(element, "BookgDt"), "DtTm", iso_seconds(entry.executed_at))
    _child(_child(element, "ValDt"), "Dt", entry.executed_at.astimezone(CST).date().isoformat())
    _child(element, "AcctSvcrRef", entry.acct_svcr_ref)
    _bank_transaction_code(element)
    _details(element, entry)


def render_camt054(
    msg_id: str, created_at: datetime, notifications: Sequence[Notification]
) -> bytes:
    """A camt.054 document; the XSD needs at least one notification."""
    if not notifications:
        raise ValueError("camt.054 carries at least one notification")
    document = etree.fromstring(f'<Document xmlns="{CAMT054_NS}"/>')
    root = _child(document, "BkToCstmrDbtCdtNtfctn")
    header = _child(root, "GrpHdr")
    _child(header, "MsgId", msg_id)
    _child(header, "CreDtTm", iso_seconds(created_at))
    for notification in notifications:
        element = _child(root, "Ntfctn")
        _child(element, "Id", notification.notification_id)
        _child(element, "CreDtTm", iso_seconds(created_at))
        account = _child(element, "Acct")
        _child(_child(_child(account, "Id"), "Othr"), "Id", notification.account)
        _child(account, "Ccy", "CNY")
        for sequence, entry in notification.entries:
            _entry(element, sequence, entry)
    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
