"""ISO 20022 camt.054.001.08 (BankToCustomerDebitCreditNotificationV08) <-> canonical.

The bank's proof of booking (formats-outbound §1.3): a DBIT entry whose TxDtls/Refs/EndToEndId is
our instruction id proves a disbursement left the account; a CRDT entry is a repayment. The
counterparty of a transaction is its creditor when money went out and its debtor when it came in
(a reversal keeps the parties of the entry it reverses). Where an entry lists the amounts of its
transactions they must add up to it, and the optional TxsSummry counts and sums must match the
entries (within `tolerance`). The writer exists for the round-trip test and the bank simulator,
and validates what it writes against the XSD.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import cast

from lxml import etree
from pydantic import ValidationError

from canonical import Money, Provenance
from canonical.payments import (
    AccountNotification,
    Counterparty,
    DebitCreditNotification,
    EntryDirection,
    EntryStatus,
    EntryTransaction,
    NotificationEntry,
)
from mappings._invoice import DEFAULT_TOLERANCE, check_tolerance, fingerprint
from mappings._payments import CHINA, XmlFields, check_text, fen_text, readable_xml
from mappings._problems import Problems, guarded, require_aware
from mappings._values import MAX_ABS_AMOUNT
from mappings._xml import child, children, local_name, namespace, parse_untrusted, text_of
from mappings._xsd import validate_against
from mappings.catalogue import InboundFormat, OutboundFormat

__all__ = [
    "CAMT054_NAMESPACE",
    "INBOUND",
    "OUTBOUND",
    "camt054_to_canonical",
    "canonical_to_camt054",
    "recognise_camt054",
    "validate_camt054",
]

SOURCE = "camt.054"
CAMT054_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054."
_ROOT = "BkToCstmrDbtCdtNtfctn"
_NS = f"{{{CAMT054_NAMESPACE}}}"
_DIRECTIONS = {d.value: d for d in EntryDirection}
_STATUSES = {s.value: s for s in EntryStatus}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def camt054_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> DebitCreditNotification:
    """Map a camt.054 notification; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _Reader(received_at, tolerance).read(raw))


def canonical_to_camt054(notification: DebitCreditNotification) -> bytes:
    """The camt.054.001.08 document (UTF-8) for `notification`, validated against the XSD."""
    return guarded(SOURCE, lambda: _write(notification))


def validate_camt054(xml: bytes) -> None:
    """Raise MappingError listing every XSD violation of a camt.054.001.08 document."""
    guarded(SOURCE, lambda: _validate(xml))


def recognise_camt054(raw: bytes) -> bool:
    """The root message element names it within the first few KiB (never raises)."""
    return isinstance(raw, bytes | bytearray) and _ROOT.encode() in raw[:4096]


# --- reading ---------------------------------------------------------------------------------


class _Reader:
    __slots__ = ("fields", "problems", "received_at", "tolerance")

    def __init__(self, received_at: datetime, tolerance: Decimal) -> None:
        self.problems = Problems()
        self.fields = XmlFields(self.problems)
        self.received_at = received_at
        require_aware(self.problems, "received_at", received_at)
        self.tolerance = check_tolerance(self.problems, tolerance)

    def read(self, raw: bytes) -> DebitCreditNotification:
        problems, fields = self.problems, self.fields
        root = parse_untrusted(problems, readable_xml(raw), SOURCE)
        message, path = self._message(root)
        header = child(message, "GrpHdr")
        if header is None:
            problems.add(f"{path}/GrpHdr", "is required")
        message_id = fields.text(header, "MsgId", f"{path}/GrpHdr", required=True)
        created_at = fields.moment(
            child(header, "CreDtTm"), f"{path}/GrpHdr/CreDtTm", required=header is not None
        )
        blocks = children(message, "Ntfctn")
        if not blocks:
            problems.add(f"{path}/Ntfctn", "at least one notification is required")
        notifications = [
            self._notification(block, f"{path}/Ntfctn[{i}]")
            for i, block in enumerate(blocks, start=1)
        ]
        problems.raise_if_any(SOURCE)
        try:
            return DebitCreditNotification(
                message_id=message_id,
                created_at=cast(datetime, created_at),
                notifications=tuple(cast(list[AccountNotification], notifications)),
                provenance=Provenance(
                    source_system=SOURCE,
                    source_document_id=message_id,
                    fingerprint=fingerprint(raw),
                    received_at=self.received_at,
                ),
            )
        except ValidationError as exc:
            problems.add_validation_error(path, exc)
            problems.raise_if_any(SOURCE)
            raise

    def _message(self, root: etree._Element) -> tuple[etree._Element, str]:
        uri = namespace(root)
        if uri is not None and not uri.startswith(_NAMESPACE_PREFIX):
            self.problems.add(
                f"/{local_name(root)}", f"namespace {uri!r} is not a camt.054 namespace"
            )
        message = root if local_name(root) == _ROOT else child(root, _ROOT)
        if local_name(root) not in ("Document", _ROOT) or message is None:
            self.problems.add(
                f"/{local_name(root)}", f"not a camt.054 document: expected Document/{_ROOT}"
            )
        self.problems.raise_if_any(SOURCE)
        if message is None:
            raise AssertionError("unreachable: a problem was recorded")
        return message, f"/{_ROOT}" if message is root else f"/{local_name(root)}/{_ROOT}"

    def _notification(self, block: etree._Element, path: str) -> AccountNotification | None:
        fields = self.fields
        before = len(self.problems.items)
        notification_id = fields.text(block, "Id", path, required=True)
        created_at = fields.moment(child(block, "CreDtTm"), f"{path}/CreDtTm")
        account = child(block, "Acct")
        number = ""
        if account is None:
            self.problems.add(f"{path}/Acct", "is required")
        else:
            identifier = child(account, "Id")
            number = fields.text(identifier, "IBAN", f"{path}/Acct/Id", max_len=34) or (
                fields.text(child(identifier, "Othr"), "Id", f"{path}/Acct/Id/Othr", max_len=34)
            )
            if not number:
                self.problems.add(f"{path}/Acct/Id", "an IBAN or Othr/Id is required")
        currency = fields.text(account, "Ccy", f"{path}/Acct", max_len=3)
        if currency and not (
            currency.isascii() and currency.isalpha() and currency.isupper() and len(currency) == 3
        ):
            self.problems.add(
                f"{path}/Acct/Ccy", "must be a three-letter ISO 4217 currency code", currency
            )
        name = fields.text(account, "Nm", f"{path}/Acct", max_len=70)
        own_problems = len(self.problems.items) != before
        entries = [
            self._entry(entry, f"{path}/Ntry[{j}]")
            for j, entry in enumerate(children(block, "Ntry"), start=1)
        ]
        if own_problems or None in entries:
            return None
        done = cast(list[NotificationEntry], entries)
        self._summary(child(block, "TxsSummry"), f"{path}/TxsSummry", done)
        return AccountNotification(
            notification_id=notification_id,
            created_at=created_at,
            account_number=number,
            account_currency=currency,
            account_name=name,
            entries=tuple(done),
        )

    def _entry(self, entry: etree._Element, path: str) -> NotificationEntry | None:
        fields, problems = self.fields, self.problems
        before = len(problems.items)
        amount = fields.money(child(entry, "Amt"), f"{path}/Amt")
        direction = self._code(entry, "CdtDbtInd", path, _DIRECTIONS)
        reversal = False
        flag = text_of(child(entry, "RvslInd")).lower()
        if flag:
            if flag not in _BOOLEANS:
                problems.add(f"{path}/RvslInd", "must be true or false", flag)
            reversal = _BOOLEANS.get(flag, False)
        status_choice = child(entry, "Sts")
        status = None
        if status_choice is None:
            problems.add(f"{path}/Sts", "is required")
        elif child(status_choice, "Cd") is not None:
            status = self._code(status_choice, "Cd", f"{path}/Sts", _STATUSES)
        else:  # a proprietary status is accepted when it spells one of the ISO codes
            status = self._code(status_choice, "Prtry", f"{path}/Sts", _STATUSES)
        booking_date = self._date(child(entry, "BookgDt"), f"{path}/BookgDt")
        value_date = self._date(child(entry, "ValDt"), f"{path}/ValDt")
        code = self._bank_code(child(entry, "BkTxCd"), f"{path}/BkTxCd")
        outgoing = (direction is EntryDirection.DEBIT) != reversal
        transactions = [
            self._transaction(tx, f"{path}/NtryDtls[{m}]/TxDtls[{k}]", outgoing)
            for m, details in enumerate(children(entry, "NtryDtls"), start=1)
            for k, tx in enumerate(children(details, "TxDtls"), start=1)
        ]
        entry_ref = fields.text(entry, "NtryRef", path)
        servicer_ref = fields.text(entry, "AcctSvcrRef", path)
        info = fields.text(entry, "AddtlNtryInf", path, max_len=500)
        if len(problems.items) != before or amount is None or direction is None or (status is None):
            return None
        done = cast(list[EntryTransaction], transactions)
        self._adds_up(amount, done, path)
        return NotificationEntry(
            entry_reference=entry_ref,
            amount=amount,
            direction=direction,
            reversal=reversal,
            status=status,
            booking_date=booking_date,
            value_date=value_date,
            account_servicer_reference=servicer_ref,
            bank_transaction_code=code,
            transactions=tuple(done),
            additional_info=info,
        )

    def _transaction(
        self, tx: etree._Element, path: str, outgoing: bool
    ) -> EntryTransaction | None:
        fields = self.fields
        refs = child(tx, "Refs")
        at = f"{path}/Refs"
        amount = fields.money(child(tx, "Amt"), f"{path}/Amt", required=False)
        parties, agents = child(tx, "RltdPties"), child(tx, "RltdAgts")
        side = "Cdtr" if outgoing else "Dbtr"
        party = child(parties, side)
        name = fields.text(
            child(party, "Pty"), "Nm", f"{path}/RltdPties/{side}/Pty", max_len=140
        ) or fields.text(
            child(child(party, "Agt"), "FinInstnId"),
            "Nm",
            f"{path}/RltdPties/{side}/Agt/FinInstnId",
            max_len=140,
        )
        account_id = child(child(parties, f"{side}Acct"), "Id")
        account_path = f"{path}/RltdPties/{side}Acct/Id"
        account = fields.text(account_id, "IBAN", account_path, max_len=34) or fields.text(
            child(account_id, "Othr"), "Id", f"{account_path}/Othr", max_len=34
        )
        bank = child(child(agents, f"{side}Agt"), "FinInstnId")
        bank_path = f"{path}/RltdAgts/{side}Agt/FinInstnId"
        bank_code = fields.text(
            child(bank, "ClrSysMmbId"), "MmbId", f"{bank_path}/ClrSysMmbId"
        ) or fields.text(bank, "BICFI", bank_path)
        bank_name = fields.text(bank, "Nm", bank_path, max_len=140)
        counterparty = None
        if name or account or bank_code or bank_name:
            counterparty = Counterparty(
                name=name, account_number=account, bank_code=bank_code, bank_name=bank_name
            )
        remittance = tuple(
            line
            for n, element in enumerate(children(child(tx, "RmtInf"), "Ustrd"), start=1)
            if (line := self._line(element, f"{path}/RmtInf/Ustrd[{n}]"))
        )
        returned = child(tx, "RtrInf")
        reason = child(returned, "Rsn")
        return_code = fields.text(reason, "Cd", f"{path}/RtrInf/Rsn") or fields.text(
            reason, "Prtry", f"{path}/RtrInf/Rsn"
        )
        return_info = " ".join(filter(None, (text_of(e) for e in children(returned, "AddtlInf"))))
        if len(return_info) > 500:
            self.problems.add(
                f"{path}/RtrInf/AddtlInf", "is longer than 500 characters", return_info
            )
            return_info = ""
        return EntryTransaction(
            end_to_end_id=fields.text(refs, "EndToEndId", at),
            instruction_id=fields.text(refs, "InstrId", at),
            account_servicer_reference=fields.text(refs, "AcctSvcrRef", at),
            message_id=fields.text(refs, "MsgId", at),
            payment_information_id=fields.text(refs, "PmtInfId", at),
            transaction_id=fields.text(refs, "TxId", at),
            amount=amount,
            counterparty=counterparty,
            remittance=remittance,
            return_code=return_code,
            return_info=return_info,
        )

    def _line(self, element: etree._Element, path: str) -> str:
        line = text_of(element)
        if len(line) > 140:
            self.problems.add(path, "is longer than 140 characters", line)
            return ""
        return line

    def _code(
        self,
        parent: etree._Element,
        name: str,
        path: str,
        codes: dict[str, EntryDirection] | dict[str, EntryStatus],
    ) -> EntryDirection | EntryStatus | None:
        value = text_of(child(parent, name))
        if not value:
            self.problems.add(f"{path}/{name}", "is required")
            return None
        code = codes.get(value.upper())
        if code is None:
            self.problems.add(f"{path}/{name}", f"must be one of {', '.join(codes)}", value)
        return code

    def _date(self, choice: etree._Element | None, path: str) -> date | None:
        if choice is None:
            return None
        plain = child(choice, "Dt")
        if plain is not None:
            return self.fields.date(plain, f"{path}/Dt")
        moment = self.fields.moment(child(choice, "DtTm"), f"{path}/DtTm", required=True)
        return None if moment is None else moment.astimezone(CHINA).date()

    def _bank_code(self, element: etree._Element | None, path: str) -> str:
        domain = child(element, "Domn")
        if domain is not None:
            family = child(domain, "Fmly")
            parts = (
                text_of(child(domain, "Cd")),
                text_of(child(family, "Cd")),
                text_of(child(family, "SubFmlyCd")),
            )
            if all(parts):
                return "/".join(parts)
            self.problems.add(
                f"{path}/Domn", "needs Cd, Fmly/Cd and Fmly/SubFmlyCd", "/".join(parts)
            )
            return ""
        code = self.fields.text(child(element, "Prtry"), "Cd", f"{path}/Prtry")
        if not code:
            self.problems.add(path, "is required: Domn or Prtry/Cd")
        return code

    def _adds_up(self, amount: Money, transactions: list[EntryTransaction], path: str) -> None:
        """A batch entry lists its transactions: their amounts must make up the entry."""
        amounts = [t.amount for t in transactions]
        if len(amounts) < 2 or any(a is None or a.currency != amount.currency for a in amounts):
            return
        total = sum((a.amount for a in amounts if a is not None), Decimal(0))
        if abs(total - amount.amount) > self.tolerance:
            self.problems.add(
                f"{path}/Amt",
                f"the transactions add up to {total}, not to the entry amount",
                str(amount.amount),
            )

    def _summary(
        self, summary: etree._Element | None, path: str, entries: list[NotificationEntry]
    ) -> None:
        if summary is None:
            return
        self._count(
            child(child(summary, "TtlNtries"), "NbOfNtries"),
            f"{path}/TtlNtries/NbOfNtries",
            len(entries),
        )
        if len({e.amount.currency for e in entries}) > 1:
            return  # sums across currencies say nothing
        for tag, direction in (
            ("TtlCdtNtries", EntryDirection.CREDIT),
            ("TtlDbtNtries", EntryDirection.DEBIT),
        ):
            block = child(summary, tag)
            if block is None:
                continue
            these = [e.amount.amount for e in entries if e.direction is direction]
            self._count(child(block, "NbOfNtries"), f"{path}/{tag}/NbOfNtries", len(these))
            stated = text_of(child(block, "Sum"))
            if stated:
                try:
                    figure = Decimal(stated)
                except ArithmeticError:
                    self.problems.add(f"{path}/{tag}/Sum", "is not a decimal number", stated)
                    continue
                total = sum(these, Decimal(0))
                in_range = figure.is_finite() and -MAX_ABS_AMOUNT < figure < MAX_ABS_AMOUNT
                if not in_range or abs(figure - total) > self.tolerance:  # no Overflow
                    self.problems.add(f"{path}/{tag}/Sum", f"the entries add up to {total}", stated)

    def _count(self, element: etree._Element | None, path: str, actual: int) -> None:
        stated = text_of(element)
        if stated and stated != str(actual):
            self.problems.add(path, f"says {stated} but there are {actual}", stated)


# --- writing ---------------------------------------------------------------------------------


def _write(notification: DebitCreditNotification) -> bytes:
    problems = Problems()
    _check(problems, notification)
    problems.raise_if_any(SOURCE)
    document = etree.Element(f"{_NS}Document", nsmap={None: CAMT054_NAMESPACE})  # type: ignore[dict-item]
    message = _sub(document, _ROOT)
    header = _sub(message, "GrpHdr")
    _sub(header, "MsgId", notification.message_id)
    _sub(header, "CreDtTm", _moment(notification.created_at))
    for block in notification.notifications:
        _notification(_sub(message, "Ntfctn"), block)
    xml: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    _validate(xml)
    return xml


def _check(problems: Problems, notification: DebitCreditNotification) -> None:
    """Text XML cannot carry, and remittance lines the schema refuses, found before writing."""
    check_text(problems, "message_id", notification.message_id)
    for i, block in enumerate(notification.notifications):
        at = f"notifications[{i}]"
        for name in ("notification_id", "account_number", "account_name"):
            check_text(problems, f"{at}.{name}", getattr(block, name))
        for j, entry in enumerate(block.entries):
            where = f"{at}.entries[{j}]"
            for name in (
                "entry_reference",
                "account_servicer_reference",
                "bank_transaction_code",
                "additional_info",
            ):
                check_text(problems, f"{where}.{name}", getattr(entry, name))
            for k, tx in enumerate(entry.transactions):
                there = f"{where}.transactions[{k}]"
                for name, value in tx:
                    if isinstance(value, str):
                        check_text(problems, f"{there}.{name}", value)
                for name, value in tx.counterparty or ():
                    check_text(problems, f"{there}.counterparty.{name}", str(value))
                for n, line in enumerate(tx.remittance):
                    check_text(problems, f"{there}.remittance[{n}]", line, max_len=140)
                    if not line.strip():
                        problems.add(f"{there}.remittance[{n}]", "must not be blank", line)


def _notification(parent: etree._Element, block: AccountNotification) -> None:
    _sub(parent, "Id", block.notification_id)
    if block.created_at is not None:
        _sub(parent, "CreDtTm", _moment(block.created_at))
    account = _sub(parent, "Acct")
    _sub(_sub(_sub(account, "Id"), "Othr"), "Id", block.account_number)
    if block.account_currency:
        _sub(account, "Ccy", block.account_currency)
    if block.account_name:
        _sub(account, "Nm", block.account_name)
    currencies = {e.amount.currency for e in block.entries}
    if len(currencies) == 1:
        summary = _sub(parent, "TxsSummry")
        _sub(_sub(summary, "TtlNtries"), "NbOfNtries", str(len(block.entries)))
        for tag, direction in (
            ("TtlCdtNtries", EntryDirection.CREDIT),
            ("TtlDbtNtries", EntryDirection.DEBIT),
        ):
            these = [e.amount.amount for e in block.entries if e.direction is direction]
            if these:
                totals = _sub(summary, tag)
                _sub(totals, "NbOfNtries", str(len(these)))
                _sub(totals, "Sum", fen_text(sum(these, Decimal(0))))
    for entry in block.entries:
        _entry(_sub(parent, "Ntry"), entry)


def _entry(parent: etree._Element, entry: NotificationEntry) -> None:
    if entry.entry_reference:
        _sub(parent, "NtryRef", entry.entry_reference)
    _money(parent, "Amt", entry.amount)
    _sub(parent, "CdtDbtInd", entry.direction.value)
    if entry.reversal:
        _sub(parent, "RvslInd", "true")
    _sub(_sub(parent, "Sts"), "Cd", entry.status.value)
    if entry.booking_date is not None:
        _sub(_sub(parent, "BookgDt"), "Dt", entry.booking_date.isoformat())
    if entry.value_date is not None:
        _sub(_sub(parent, "ValDt"), "Dt", entry.value_date.isoformat())
    if entry.account_servicer_reference:
        _sub(parent, "AcctSvcrRef", entry.account_servicer_reference)
    code = _sub(parent, "BkTxCd")
    parts = entry.bank_transaction_code.split("/")
    if len(parts) == 3 and all(len(p) == 4 and p.isascii() and p.isalnum() for p in parts):
        domain = _sub(code, "Domn")
        _sub(domain, "Cd", parts[0])
        family = _sub(domain, "Fmly")
        _sub(family, "Cd", parts[1])
        _sub(family, "SubFmlyCd", parts[2])
    else:
        _sub(_sub(code, "Prtry"), "Cd", entry.bank_transaction_code)
    if entry.transactions:
        details = _sub(parent, "NtryDtls")
        outgoing = (entry.direction is EntryDirection.DEBIT) != entry.reversal
        for tx in entry.transactions:
            _transaction(_sub(details, "TxDtls"), tx, "Cdtr" if outgoing else "Dbtr")
    if entry.additional_info:
        _sub(parent, "AddtlNtryInf", entry.additional_info)


def _transaction(parent: etree._Element, tx: EntryTransaction, side: str) -> None:
    refs = [
        ("MsgId", tx.message_id),
        ("AcctSvcrRef", tx.account_servicer_reference),
        ("PmtInfId", tx.payment_information_id),
        ("InstrId", tx.instruction_id),
        ("EndToEndId", tx.end_to_end_id),
        ("TxId", tx.transaction_id),
    ]
    if any(value for _, value in refs):
        element = _sub(parent, "Refs")
        for tag, value in refs:
            if value:
                _sub(element, tag, value)
    if tx.amount is not None:
        _money(parent, "Amt", tx.amount)
    party = tx.counterparty
    if party is not None and (party.name or party.account_number):
        parties = _sub(parent, "RltdPties")
        if party.name:
            _sub(_sub(_sub(parties, side), "Pty"), "Nm", party.name)
        if party.account_number:
            _sub(_sub(_sub(_sub(parties, f"{side}Acct"), "Id"), "Othr"), "Id", party.account_number)
    if party is not None and (party.bank_code or party.bank_name):
        bank = _sub(_sub(_sub(parent, "RltdAgts"), f"{side}Agt"), "FinInstnId")
        if party.bank_code:
            member = _sub(bank, "ClrSysMmbId")
            if len(party.bank_code) == 12 and party.bank_code.isdigit():
                _sub(_sub(member, "ClrSysId"), "Cd", "CNAPS")
            _sub(member, "MmbId", party.bank_code)
        if party.bank_name:
            _sub(bank, "Nm", party.bank_name)
    if tx.remittance:
        remittance = _sub(parent, "RmtInf")
        for line in tx.remittance:
            _sub(remittance, "Ustrd", line)
    if tx.return_code or tx.return_info:
        returned = _sub(parent, "RtrInf")
        if tx.return_code:
            _sub(_sub(returned, "Rsn"), "Prtry", tx.return_code)
        info = tx.return_info
        while info:  # AddtlInf is Max105Text, repeatable; the reader joins the parts with " "
            part, info = _split(info, 105)
            _sub(returned, "AddtlInf", part)


def _split(text: str, size: int) -> tuple[str, str]:
    """Cut at the last space within `size` (kept readable, and joined back with one space)."""
    if len(text) <= size:
        return text, ""
    cut = text.rfind(" ", 1, size + 1)
    if cut <= 0:
        return text[:size], text[size:]
    return text[:cut], text[cut + 1 :]


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{_NS}{tag}")
    if text is not None:
        element.text = text
    return element


def _money(parent: etree._Element, tag: str, money: Money) -> None:
    _sub(parent, tag, fen_text(money.amount)).set("Ccy", money.currency)


def _moment(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat()


def _validate(xml: bytes) -> None:
    validate_against("camt.054.001.08.xsd", xml, SOURCE)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="camt054",
        family="bank",
        title="ISO 20022 camt.054.001.08 debit/credit notification -> DebitCreditNotification",
        read=lambda raw, received_at: camt054_to_canonical(raw, received_at=received_at),
        recognise=recognise_camt054,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="camt054",
        title="DebitCreditNotification -> ISO 20022 camt.054.001.08 (bank simulator, tests)",
        model=DebitCreditNotification,
        write=canonical_to_camt054,
    ),
)
