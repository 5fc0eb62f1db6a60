"""camt.054.001.08 (BankToCustomerDebitCreditNotificationV08): what the bank booked, in XSD order.

One notification per account; each executed payment is one booked debit entry (`DBIT`, `BOOK`,
bank transaction code PMNT/ICDT/DMCT) carrying the original references, so the hub can match on
EndToEndId; each incoming credit transfer is one booked credit entry (`CRDT`, `BOOK`,
PMNT/RCDT/DMCT) carrying the payer and the remittance information, which is what the hub matches
a repayment on (formats-outbound.md §1.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from simulators.bank.engine import Booking, CreditEntry, LedgerEntry
from simulators.common.clock import CST, iso_seconds

__all__ = ["CAMT054_NS", "NOT_PROVIDED", "Notification", "remittance_lines", "render_camt054"]

CAMT054_NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
NOT_PROVIDED = "NOTPROVIDED"  # the EndToEndId of a credit whose payer gave none
USTRD_MAX = 140


@dataclass(frozen=True)
class Notification:
    """One account's bookings; `entries` pairs each booking with its sequence number."""

    notification_id: str
    account: str
    entries: Sequence[tuple[int, Booking]]


def _child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAMT054_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _account(parent: etree._Element, tag: str, number: str) -> None:
    _child(_child(_child(_child(parent, tag), "Id"), "Othr"), "Id", number)


def _amount(parent: etree._Element, amount: Decimal, currency: str) -> None:
    _child(parent, "Amt", format(amount, "f")).set("Ccy", currency)


def _bank_transaction_code(parent: etree._Element, family_code: str) -> None:
    """PMNT/ICDT/DMCT issued, PMNT/RCDT/DMCT received domestic credit transfer."""
    domain = _child(_child(parent, "BkTxCd"), "Domn")
    _child(domain, "Cd", "PMNT")
    family = _child(domain, "Fmly")
    _child(family, "Cd", family_code)
    _child(family, "SubFmlyCd", "DMCT")


def _cnaps_agent(parent: etree._Element, tag: str, cnaps: str) -> None:
    member = _child(_child(_child(parent, tag), "FinInstnId"), "ClrSysMmbId")
    _child(_child(member, "ClrSysId"), "Cd", "CNAPS")
    _child(member, "MmbId", cnaps)


def remittance_lines(text: str) -> list[str]:
    """Ustrd is Max140Text: longer remittance information goes on as many lines as it needs,
    broken after a space where a line has one so a reference is not cut in two. The lines
    joined give the text back."""
    lines = []
    while len(text) > USTRD_MAX:
        cut = text.rfind(" ", 1, USTRD_MAX) + 1 or USTRD_MAX
        lines.append(text[:cut])
        text = text[cut:]
    return [*lines, text] if text else lines


def _debit_details(parent: etree._Element, entry: LedgerEntry) -> None:
    tx = _child(_child(parent, "NtryDtls"), "TxDtls")
    refs = _child(tx, "Refs")
    _child(refs, "MsgId", entry.msg_id)
    _child(refs, "AcctSvcrRef", entry.acct_svcr_ref)
    _child(refs, "PmtInfId", entry.pmt_inf_id)
    if entry.instr_id is not None:
        _child(refs, "InstrId", entry.instr_id)
    _child(refs, "EndToEndId", entry.end_to_end_id)
    _amount(tx, entry.amount, entry.currency)
    _child(tx, "CdtDbtInd", "DBIT")
    parties = _child(tx, "RltdPties")
    if entry.creditor_name:
        _child(_child(_child(parties, "Cdtr"), "Pty"), "Nm", entry.creditor_name[:140])
    _account(parties, "CdtrAcct", entry.creditor_account)
    agent = entry.creditor_agent
    if agent and agent.isdigit():  # a CNAPS 行号; BICs are not echoed
        _cnaps_agent(_child(tx, "RltdAgts"), "CdtrAgt", agent)


def _credit_details(parent: etree._Element, entry: CreditEntry) -> None:
    terms = entry.terms
    tx = _child(_child(parent, "NtryDtls"), "TxDtls")
    refs = _child(tx, "Refs")
    _child(refs, "AcctSvcrRef", entry.acct_svcr_ref)
    _child(refs, "EndToEndId", terms.end_to_end_id or NOT_PROVIDED)
    _amount(tx, terms.amount, terms.currency)
    _child(tx, "CdtDbtInd", "CRDT")
    parties = _child(tx, "RltdPties")
    _child(_child(_child(parties, "Dbtr"), "Pty"), "Nm", terms.debtor_name)
    _account(parties, "DbtrAcct", terms.debtor_account)
    if terms.debtor_agent:
        _cnaps_agent(_child(tx, "RltdAgts"), "DbtrAgt", terms.debtor_agent)
    if terms.remittance:
        remittance = _child(tx, "RmtInf")
        for line in remittance_lines(terms.remittance):
            _child(remittance, "Ustrd", line)


def _header(
    parent: etree._Element,
    sequence: int,
    booking: Booking,
    booked_at: datetime,
    value_date: date,
) -> etree._Element:
    element = _child(parent, "Ntry")
    _child(element, "NtryRef", str(sequence))
    if isinstance(booking, CreditEntry):
        _amount(element, booking.terms.amount, booking.terms.currency)
        _child(element, "CdtDbtInd", "CRDT")
    else:
        _amount(element, booking.amount, booking.currency)
        _child(element, "CdtDbtInd", "DBIT")
    _child(_child(element, "Sts"), "Cd", "BOOK")
    _child(_child(element, "BookgDt"), "DtTm", iso_seconds(booked_at))
    _child(_child(element, "ValDt"), "Dt", value_date.isoformat())
    _child(element, "AcctSvcrRef", booking.acct_svcr_ref)
    return element


def _entry(parent: etree._Element, sequence: int, booking: Booking) -> None:
    if isinstance(booking, CreditEntry):
        element = _header(parent, sequence, booking, booking.booked_at, booking.value_date)
        _bank_transaction_code(element, "RCDT")
        _credit_details(element, booking)
    else:
        executed = booking.executed_at
        element = _header(parent, sequence, booking, executed, executed.astimezone(CST).date())
        _bank_transaction_code(element, "ICDT")
        _debit_details(element, booking)


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
        for sequence, booking in notification.entries:
            _entry(element, sequence, booking)
    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
