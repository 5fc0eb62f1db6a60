"""CNAPS2 HVPS hvps.111.001.01 (大额客户普通贷记) <-> canonical (formats-outbound §1.5).

The frame is CNAPS2's "混合结构": a fixed 130-character `{H:…}` header, an optional `{S:…}` SM2
signature block, then the XML body, which both public implementations read as ISO 20022
pacs.008.001.02 (`FIToFICstmrCdtTrf`). The writer builds it from a DisbursementInstruction plus
what CNAPS needs beyond it (`CnapsTransfer`) and validates the body against the pacs.008.001.02
XSD; it never signs (the participant bank does, with its own SM2 key). The reader takes the frame,
with or without the signature block, or the bare XML body, into a `CnapsCreditTransfer`.

Addressing is Chinese, never by BIC: every bank is its 12-digit 行号 in ClrSysMmbId/MmbId, every
account an Othr/Id. EndToEndId carries our instruction id (what the hub matches on); TxId is the
business MsgId, as in the observed samples. The 附言 travels as a `/H01/` tagged RmtInf/Ustrd line.
Lengths follow S6's CNAPS restrictions where §1.5 names them (names 60, accounts 32), the XSD
elsewhere. Amounts are CNY, positive, exact to the fen and below 10^15 yuan (the hub's bound for
any amount, inside the XSD's 18 total digits): §1.5 names no tighter HVPS limit.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from datetime import datetime
from typing import cast

from lxml import etree
from pydantic import BaseModel, ConfigDict, ValidationError

from canonical import (
    FEN,
    BankAccount,
    DisbursementInstruction,
    Money,
    Provenance,
)
from canonical.payments import (
    CnapsCreditTransfer,
    CnapsDirection,
    CnapsHeader,
    CnapsPriority,
    Counterparty,
)
from mappings._invoice import fingerprint
from mappings._payments import CHINA, XmlFields, check_text, fen_text, readable_xml, to_datetime
from mappings._problems import Problems, guarded, require_aware
from mappings._sniff import xml_root
from mappings._values import FOLD, MAX_ABS_AMOUNT
from mappings._xml import child, children, local_name, namespace, parse_untrusted, text_of
from mappings._xsd import validate_against
from mappings.catalogue import InboundFormat, OutboundFormat

__all__ = [
    "HVPS111",
    "INBOUND",
    "OUTBOUND",
    "PACS008_NAMESPACE",
    "CnapsTransfer",
    "canonical_to_cnaps_hvps111",
    "cnaps_hvps111_to_canonical",
    "recognise_cnaps_hvps111",
    "validate_cnaps_body",
]

SOURCE = "cnaps2"
HVPS111 = "hvps.111.001.01"
PACS008_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"
NAME_MAX = 60
"""付款人/收款人名称: Max60Text in CNAPS (S6)."""
ACCOUNT_MAX = 32
"""付款人/收款人账号: Max32 in CNAPS (S6)."""
NOTE_TAG = "/H01/"
"""The 附言 tag of RmtInf/Ustrd (S6 maps it to 备注)."""

_NS = f"{{{PACS008_NAMESPACE}}}"
_ROOT = "FIToFICstmrCdtTrf"
_HEADER_LENGTH = 130
_WIDTHS = (
    ("BeginFlag", 3),
    ("VersionID", 2),
    ("OrigSender", 14),
    ("OrigSenderSID", 4),
    ("OrigReceiver", 14),
    ("OrigReceiverSID", 4),
    ("OrigSendDate", 8),
    ("OrigSendTime", 6),
    ("StructType", 3),
    ("MesgType", 20),
    ("MesgID", 20),
    ("MesgRefID", 20),
    ("MesgPriority", 1),
    ("MesgDirection", 1),
    ("Reserve", 9),
    ("EndFlag", 1),
)
_HEADER_DIGIT = {CnapsPriority.URGENT: "1", CnapsPriority.HIGH: "2", CnapsPriority.NORMAL: "3"}
_DIGIT_PRIORITY = {digit: priority for priority, digit in _HEADER_DIGIT.items()}
_PRIORITIES = {p.value: p for p in CnapsPriority}
_DIRECTIONS = {d.value: d for d in CnapsDirection}
_CHARGE_BEARERS = frozenset({"DEBT", "CRED", "SHAR", "SLEV"})
_BANK = re.compile(r"[0-9]{12}")
_PARTICIPANT = re.compile(r"[0-9]{12}|0000")
_BUSINESS_TYPE = re.compile(r"[A-Z][0-9]{3}")
_BUSINESS_KIND = re.compile(r"[0-9]{5}")
_COMM_ID = re.compile(r"[!-z|~]{1,20}")
"""Printable ASCII but `{` and `}`, which frame the header."""
_ACCOUNT = re.compile(r"[0-9A-Za-z-]+")
_SPACES = str.maketrans("", "", " \t\r\n\u3000\u00a0")


class CnapsTransfer(BaseModel):
    """What one hvps.111 is written from (the input of `factorhub render cnaps-hvps111`).

    Every field but `instruction` has a default: the business MsgId and creation time are the
    instruction's own (so a resend is the same message), the paying and receiving clearing
    participants (付款/收款清算行) are the 开户行 of the two accounts, A100 普通汇兑 at normal
    priority. The writer checks every value and lists all problems in one MappingError.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    instruction: DisbursementInstruction
    message_id: str | None = None
    """GrpHdr/MsgId (Max35); default `instruction.message_id`."""
    created_at: datetime | None = None
    """GrpHdr/CreDtTm and the header's send time; default `instruction.created_at`."""
    communication_id: str | None = None
    """Header MesgID (≤20 printable ASCII); default the MsgId when it fits, else its SM3."""
    sender_bank: str | None = None
    """付款清算行行号 (header OrigSender, InstgAgt); default the debtor account's 行号."""
    receiver_bank: str | None = None
    """收款清算行行号 (header OrigReceiver, InstdAgt); default the creditor account's 行号."""
    business_type: str = "A100"
    """业务类型编码 (CtgyPurp/Prtry): A100 普通汇兑 is what a factoring disbursement is."""
    business_kind: str = "02102"
    """业务种类编码 (Purp/Prtry), five digits; "" leaves Purp out. 02102 is a code seen in
    samples (§1.5); its meaning is not verified there."""
    priority: CnapsPriority = CnapsPriority.NORMAL
    """SttlmPrty and the header's MesgPriority."""


def canonical_to_cnaps_hvps111(transfer: CnapsTransfer) -> bytes:
    """The hvps.111 frame (header CRLF, UTF-8 XML body), body checked against pacs.008.001.02."""
    return guarded(SOURCE, lambda: _write(transfer))


def cnaps_hvps111_to_canonical(raw: bytes, *, received_at: datetime) -> CnapsCreditTransfer:
    """Read an hvps.111 frame or bare body; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _Reader(received_at).read(raw))


def validate_cnaps_body(xml: bytes) -> None:
    """Raise MappingError listing every pacs.008.001.02 XSD violation of an hvps.111 body."""
    guarded(SOURCE, lambda: _validate(xml))


def recognise_cnaps_hvps111(raw: bytes) -> bool:
    """A `{H:` frame whose MesgType is hvps.111, or a bare FIToFICstmrCdtTrf body in the
    pacs.008.001.02 namespace or in none (never another pacs.008 version)."""
    if not isinstance(raw, bytes | bytearray):
        return False
    head = bytes(raw[:4096]).removeprefix(codecs.BOM_UTF8)
    if head.startswith(b"{H:"):
        return head[58:78].strip() == HVPS111.encode()
    root = xml_root(head)
    if root is None or root[1] not in ("Document", _ROOT):
        return False
    return _ROOT.encode() in head and (b"pacs.008.001.02" in head or b"xmlns" not in head)


# --- reading ---------------------------------------------------------------------------------


class _Reader:
    __slots__ = ("fields", "problems", "received_at")

    def __init__(self, received_at: datetime) -> None:
        self.problems = Problems()
        self.fields = XmlFields(self.problems)
        self.received_at = received_at
        require_aware(self.problems, "received_at", received_at)

    def read(self, raw: bytes) -> CnapsCreditTransfer:
        problems = self.problems
        header, body = self._frame(raw)
        root = parse_untrusted(problems, readable_xml(body), SOURCE)
        message, path = self._message(root)
        fields = self.fields
        group = child(message, "GrpHdr")
        at = f"{path}/GrpHdr"
        if group is None:
            problems.add(at, "is required")
        message_id = fields.text(group, "MsgId", at, required=True)
        created_at = fields.moment(child(group, "CreDtTm"), f"{at}/CreDtTm", required=True)
        transactions = children(message, "CdtTrfTxInf")
        count = text_of(child(group, "NbOfTxs"))
        if group is not None and count != str(len(transactions)):
            problems.add(
                f"{at}/NbOfTxs",
                f"says {count or 'nothing'} but there are {len(transactions)} transactions",
                count,
            )
        method = text_of(child(child(group, "SttlmInf"), "SttlmMtd"))
        if group is not None and method != "CLRG":
            problems.add(f"{at}/SttlmInf/SttlmMtd", "must be CLRG (CNAPS clears)", method)
        if len(transactions) != 1:
            problems.add(
                f"{path}/CdtTrfTxInf",
                "an hvps.111 carries exactly one transaction",
                len(transactions),
            )
            problems.raise_if_any(SOURCE)
        facts = self._transaction(transactions[0], f"{path}/CdtTrfTxInf")
        if header is not None:
            self._agree(header, facts)
        problems.raise_if_any(SOURCE)
        try:
            return CnapsCreditTransfer(
                header=header,
                message_id=message_id,
                created_at=cast(datetime, created_at),
                provenance=Provenance(
                    source_system=SOURCE,
                    source_document_id=message_id,
                    fingerprint=fingerprint(raw),
                    received_at=self.received_at,
                ),
                **facts,
            )
        except ValidationError as exc:
            problems.add_validation_error(path, exc)
            problems.raise_if_any(SOURCE)
            raise

    # the frame

    def _frame(self, raw: bytes) -> tuple[CnapsHeader | None, bytes]:
        """The parsed `{H:}` header (None for a bare body) and the XML body's bytes."""
        if not isinstance(raw, bytes | bytearray):
            return None, raw  # parse_untrusted reports it
        data = bytes(raw).removeprefix(codecs.BOM_UTF8)
        if not data.startswith(b"{H:"):
            return None, bytes(raw)
        end = _HEADER_LENGTH - 1  # fixed width: a `}` inside a field does not end it early
        if data[end : end + 1] != b"}":
            end = data.find(b"}")
        if end < 0:
            self.problems.add("{H:}", "the header has no closing }")
            self.problems.raise_if_any(SOURCE)
        header = self._header(data[: end + 1])
        rest = data[end + 1 :].lstrip(b"\r\n")
        signed = rest.startswith(b"{S:")
        if signed:
            close = rest.find(b"}")
            if close < 0:
                self.problems.add("{S:}", "the signature block has no closing }")
                self.problems.raise_if_any(SOURCE)
            rest = rest[close + 1 :].lstrip(b"\r\n")
        if header is not None and signed:
            header = header.model_copy(update={"signed": True})
        return header, rest

    def _header(self, frame: bytes) -> CnapsHeader | None:
        problems = self.problems
        if len(frame) != _HEADER_LENGTH or not frame.isascii():
            problems.add(
                "{H:}",
                f"the header must be {_HEADER_LENGTH} ASCII characters up to and "
                f"including }}, found {len(frame)}",
                frame.decode("latin-1"),
            )
            return None
        values: dict[str, str] = {}
        position = 0
        for name, width in _WIDTHS:
            values[name] = frame[position : position + width].decode("ascii").strip()
            position += width
        before = len(problems.items)

        def code(name: str, allowed: re.Pattern[str] | frozenset[str], reason: str) -> str:
            value = values[name]
            ok = allowed.fullmatch(value) if isinstance(allowed, re.Pattern) else value in allowed
            if not ok:
                problems.add(f"{{H:}}/{name}", reason, value)
            return value

        code("VersionID", frozenset({"02"}), "must be 02 (CNAPS2)")
        sender = code("OrigSender", _PARTICIPANT, "must be a 12-digit 行号 or 0000 (the NPC)")
        receiver = code("OrigReceiver", _PARTICIPANT, "must be a 12-digit 行号 or 0000 (the NPC)")
        for name in ("OrigSenderSID", "OrigReceiverSID"):
            code(name, frozenset({"HVPS"}), "must be HVPS for an hvps.111")
        code("StructType", frozenset({"XML"}), "must be XML")
        code("MesgType", frozenset({HVPS111}), f"must be {HVPS111}")
        for name in ("MesgID", "MesgRefID"):
            code(name, _COMM_ID, "is required")
        priority = _DIGIT_PRIORITY.get(
            code("MesgPriority", frozenset(_DIGIT_PRIORITY), "must be 1, 2 or 3")
        )
        direction = _DIRECTIONS.get(code("MesgDirection", frozenset(_DIRECTIONS), "must be U or D"))
        stamp = values["OrigSendDate"] + values["OrigSendTime"]
        sent_at = None
        try:
            if not re.fullmatch(r"[0-9]{14}", stamp):
                raise ValueError("must be yyyyMMdd then HHmmss")
            sent_at = to_datetime(stamp)
        except ValueError as exc:
            problems.add("{H:}/OrigSendDate", str(exc), stamp)
        if len(problems.items) != before or priority is None or direction is None:
            return None
        return CnapsHeader(
            version=values["VersionID"],
            sender=sender,
            sender_system=values["OrigSenderSID"],
            receiver=receiver,
            receiver_system=values["OrigReceiverSID"],
            sent_at=cast(datetime, sent_at),
            message_type=values["MesgType"],
            communication_id=values["MesgID"],
            communication_reference=values["MesgRefID"],
            priority=priority,
            direction=direction,
        )

    def _agree(self, header: CnapsHeader, facts: dict[str, object]) -> None:
        """The header repeats body facts: a frame whose two halves disagree is refused."""
        if facts["priority"] is not None and facts["priority"] != header.priority:
            self.problems.add(
                "{H:}/MesgPriority",
                "disagrees with SttlmPrty in the body",
                _HEADER_DIGIT[header.priority],
            )
        for name, agent, value in (
            ("OrigSender", "instructing_clearing_bank", header.sender),
            ("OrigReceiver", "instructed_clearing_bank", header.receiver),
        ):
            if value != "0000" and facts[agent] and facts[agent] != value:
                self.problems.add(
                    f"{{H:}}/{name}",
                    f"is not the body's {agent.replace('_', ' ')} {facts[agent]}",
                    value,
                )

    # the body

    def _message(self, root: etree._Element) -> tuple[etree._Element, str]:
        uri = namespace(root)
        if uri is not None and uri != PACS008_NAMESPACE:
            self.problems.add(
                f"/{local_name(root)}", f"namespace {uri!r} is not {PACS008_NAMESPACE!r}"
            )
        message = root if local_name(root) == _ROOT else child(root, _ROOT)
        if local_name(root) not in ("Document", _ROOT) or message is None:
            self.problems.add(
                f"/{local_name(root)}", f"not an hvps.111 body: expected Document/{_ROOT}"
            )
        self.problems.raise_if_any(SOURCE)
        if message is None:
            raise AssertionError("unreachable: a problem was recorded")
        return message, f"/{_ROOT}" if message is root else f"/{local_name(root)}/{_ROOT}"

    def _transaction(self, element: etree._Element, path: str) -> dict[str, object]:
        fields, problems = self.fields, self.problems
        tx = _Children(element)
        ids = tx.get("PmtId")
        if ids is None:
            problems.add(f"{path}/PmtId", "is required")
        end_to_end_id = fields.text(ids, "EndToEndId", f"{path}/PmtId", required=True)
        transaction_id = fields.text(ids, "TxId", f"{path}/PmtId", required=True)
        business_type = self._code(
            child(tx.get("PmtTpInf"), "CtgyPurp"),
            "Prtry",
            f"{path}/PmtTpInf/CtgyPurp",
            _BUSINESS_TYPE,
            "must be a CNAPS 业务类型编码 such as A100",
            required=True,
        )
        amount = self._cnaps_amount(tx.get("IntrBkSttlmAmt"), f"{path}/IntrBkSttlmAmt")
        settlement_date = fields.date(tx.get("IntrBkSttlmDt"), f"{path}/IntrBkSttlmDt")
        priority_text = text_of(tx.get("SttlmPrty"))
        priority = _PRIORITIES.get(priority_text.upper())
        if priority_text and priority is None:
            problems.add(f"{path}/SttlmPrty", "must be one of URGT, HIGH, NORM", priority_text)
        bearer = text_of(tx.get("ChrgBr")).upper()
        if bearer not in _CHARGE_BEARERS:
            problems.add(
                f"{path}/ChrgBr",
                "must be one of DEBT, CRED, SHAR, SLEV" if bearer else "is required",
                bearer or None,
            )
        kind = self._code(
            tx.get("Purp"),
            "Prtry",
            f"{path}/Purp",
            _BUSINESS_KIND,
            "must be a five-digit 业务种类编码",
        )
        return {
            "end_to_end_id": end_to_end_id,
            "transaction_id": transaction_id,
            "business_type": business_type,
            "business_kind": kind,
            "amount": amount,
            "settlement_date": settlement_date,
            "priority": priority,
            "charge_bearer": bearer or "DEBT",
            **self._agents(tx, "InstgAgt", path, "instructing"),
            **self._agents(tx, "InstdAgt", path, "instructed"),
            "debtor": self._side(tx, "Dbtr", path),
            "creditor": self._side(tx, "Cdtr", path),
            "remittance": self._remittance(tx.get("RmtInf"), f"{path}/RmtInf"),
        }

    def _cnaps_amount(self, element: etree._Element | None, path: str) -> Money | None:
        """Renminbi, positive, exact to the fen (the currency is checked even when the amount
        itself is unreadable, so both problems are reported)."""
        amount = self.fields.money(element, path)
        currency = "" if element is None else (element.get("Ccy") or "").strip().upper()
        if re.fullmatch(r"[A-Z]{3}", currency) and currency != "CNY":
            self.problems.add(f"{path}/@Ccy", "must be CNY: HVPS settles renminbi only", currency)
            return None
        if amount is not None and amount.amount <= 0:
            self.problems.add(path, "must be positive", str(amount.amount))
            return None
        return amount

    def _agents(self, tx: _Children, tag: str, path: str, role: str) -> dict[str, str]:
        agent = tx.get(tag)
        at = f"{path}/{tag}"
        return {
            f"{role}_clearing_bank": self._bank(
                child(child(agent, "FinInstnId"), "ClrSysMmbId"),
                "MmbId",
                f"{at}/FinInstnId/ClrSysMmbId",
            ),
            f"{role}_bank": self._bank(child(agent, "BrnchId"), "Id", f"{at}/BrnchId"),
        }

    def _side(self, tx: _Children, side: str, path: str) -> Counterparty | None:
        """付款人 or 收款人: name, account, and the 开户行 (its 行号 is required)."""
        fields, problems = self.fields, self.problems
        before = len(problems.items)
        party = tx.get(side)
        if party is None:
            problems.add(f"{path}/{side}", "is required")
        name = fields.text(party, "Nm", f"{path}/{side}", required=True, max_len=NAME_MAX)
        other = child(child(tx.get(f"{side}Acct"), "Id"), "Othr")
        at = f"{path}/{side}Acct/Id/Othr"
        number = text_of(child(other, "Id")).translate(FOLD).translate(_SPACES)
        if not number:
            problems.add(f"{at}/Id", "the account number is required")
        elif len(number) > ACCOUNT_MAX or not _ACCOUNT.fullmatch(number):
            problems.add(f"{at}/Id", f"must be at most {ACCOUNT_MAX} letters, digits or -", number)
        self._bank(other, "Issr", at)
        agent = child(tx.get(f"{side}Agt"), "FinInstnId")
        agent_path = f"{path}/{side}Agt/FinInstnId"
        bank_code = self._bank(
            child(agent, "ClrSysMmbId"), "MmbId", f"{agent_path}/ClrSysMmbId", required=True
        )
        bank_name = fields.text(agent, "Nm", agent_path, max_len=140)
        if len(problems.items) != before:
            return None
        return Counterparty(
            name=name, account_number=number, bank_code=bank_code, bank_name=bank_name
        )

    def _bank(
        self, parent: etree._Element | None, name: str, path: str, *, required: bool = False
    ) -> str:
        """A 12-digit 行号 (full-width digits and stray spaces folded away)."""
        raw = text_of(child(parent, name))
        value = raw.translate(FOLD).translate(_SPACES)
        if not value:
            if required:
                self.problems.add(f"{path}/{name}", "a 12-digit CNAPS 行号 is required")
            return ""
        if not _BANK.fullmatch(value):
            self.problems.add(f"{path}/{name}", "must be a 12-digit CNAPS 行号", raw)
            return ""
        return value

    def _code(
        self,
        parent: etree._Element | None,
        name: str,
        path: str,
        pattern: re.Pattern[str],
        reason: str,
        *,
        required: bool = False,
    ) -> str:
        value = text_of(child(parent, name)).translate(FOLD).upper()
        if not value:
            if required:
                self.problems.add(f"{path}/{name}", "is required")
            return ""
        if not pattern.fullmatch(value):
            self.problems.add(f"{path}/{name}", reason, value)
            return ""
        return value

    def _remittance(self, element: etree._Element | None, path: str) -> tuple[str, ...]:
        lines = []
        for n, line in enumerate(children(element, "Ustrd"), start=1):
            text = text_of(line)
            if len(text) > 140:
                self.problems.add(f"{path}/Ustrd[{n}]", "is longer than 140 characters", text)
            elif text:
                lines.append(text)
        return tuple(lines)


class _Children(dict[str, etree._Element]):
    """An element's children by local name (the first of each), so a wide element such as
    CdtTrfTxInf is scanned once instead of once per field."""

    def __init__(self, element: etree._Element) -> None:
        super().__init__()
        for item in element:
            name = local_name(item)
            if name not in self:
                self[name] = item


# --- writing ---------------------------------------------------------------------------------


def _write(transfer: CnapsTransfer) -> bytes:
    problems = Problems()
    instruction = transfer.instruction
    message_id = instruction.message_id if transfer.message_id is None else transfer.message_id
    created_at = instruction.created_at if transfer.created_at is None else transfer.created_at
    communication_id = transfer.communication_id
    if communication_id is None:
        communication_id = _communication_id(message_id)
    sender = transfer.sender_bank
    sender = instruction.debtor_account.cnaps_code if sender is None else sender
    receiver = transfer.receiver_bank
    receiver = instruction.creditor_account.cnaps_code if receiver is None else receiver
    _check(problems, transfer, message_id, created_at, communication_id, sender, receiver)
    problems.raise_if_any(SOURCE)

    local = created_at.astimezone(CHINA)
    header = "".join(
        (
            "{H:",
            "02",
            sender.ljust(14),
            "HVPS",
            receiver.ljust(14),
            "HVPS",
            local.strftime("%Y%m%d%H%M%S"),
            "XML",
            HVPS111.ljust(20),
            communication_id.ljust(20),
            communication_id.ljust(20),
            _HEADER_DIGIT[transfer.priority],
            CnapsDirection.UP.value,
            " " * 9,
            "}",
        )
    )
    body = _body(transfer, message_id, local.strftime("%Y-%m-%dT%H:%M:%S"), sender, receiver)
    _validate(body)
    return header.encode("ascii") + b"\r\n" + body


def _communication_id(message_id: str) -> str:
    """The MsgId when it fits the 20-character header field, else a stable digest of it."""
    if re.fullmatch(r"[0-9A-Za-z]{1,20}", message_id):
        return message_id
    return hashlib.new("sm3", message_id.encode()).hexdigest()[:20].upper()


def _check(
    problems: Problems,
    transfer: CnapsTransfer,
    message_id: str,
    created_at: datetime,
    communication_id: str,
    sender: str,
    receiver: str,
) -> None:
    """Everything CNAPS would refuse, found before a frame is built."""
    instruction = transfer.instruction
    if not 1 <= len(message_id) <= 35:
        problems.add("message_id", "must be 1 to 35 characters", message_id)
    check_text(problems, "message_id", message_id)
    require_aware(problems, "created_at", created_at)
    if not _COMM_ID.fullmatch(communication_id):
        problems.add(
            "communication_id",
            "must be 1 to 20 printable ASCII characters without "
            "spaces or braces (the header field is fixed-width)",
            communication_id,
        )
    for name, value in (("sender_bank", sender), ("receiver_bank", receiver)):
        if not _BANK.fullmatch(value):
            problems.add(name, "a 12-digit CNAPS 行号 is required", value)
    if not _BUSINESS_TYPE.fullmatch(transfer.business_type):
        problems.add(
            "business_type", "must be a CNAPS 业务类型编码 such as A100", transfer.business_type
        )
    if transfer.business_kind and not _BUSINESS_KIND.fullmatch(transfer.business_kind):
        problems.add(
            "business_kind", "must be a five-digit 业务种类编码 (or empty)", transfer.business_kind
        )
    at = "instruction"
    check_text(problems, f"{at}.id", instruction.id)
    money = instruction.amount
    if money.currency != "CNY":
        problems.add(
            f"{at}.amount.currency", "must be CNY: HVPS settles renminbi only", money.currency
        )
    if money.amount <= 0:
        problems.add(f"{at}.amount.amount", "must be positive", str(money.amount))
    elif money.amount >= MAX_ABS_AMOUNT:
        problems.add(f"{at}.amount.amount", "must be below 10^15 yuan", str(money.amount))
    elif money.amount != money.amount.quantize(FEN):
        problems.add(
            f"{at}.amount.amount",
            "has more than 2 decimals: a payment is never rounded here",
            str(money.amount),
        )
    for side in ("debtor_account", "creditor_account"):
        account = getattr(instruction, side)
        where = f"{at}.{side}"
        if not _BANK.fullmatch(account.cnaps_code):
            problems.add(
                f"{where}.cnaps_code", "a 12-digit CNAPS 行号 is required", account.cnaps_code
            )
        check_text(problems, f"{where}.number", account.number, max_len=ACCOUNT_MAX)
        check_text(problems, f"{where}.name", account.name, max_len=NAME_MAX)
        check_text(problems, f"{where}.bank_name", account.bank_name)
    check_text(problems, f"{at}.remittance", instruction.remittance, max_len=140 - len(NOTE_TAG))


def _body(
    transfer: CnapsTransfer, message_id: str, created: str, sender: str, receiver: str
) -> bytes:
    instruction = transfer.instruction
    document = etree.Element(f"{_NS}Document", nsmap={None: PACS008_NAMESPACE})  # type: ignore[dict-item]
    message = _sub(document, _ROOT)
    group = _sub(message, "GrpHdr")
    _sub(group, "MsgId", message_id)
    _sub(group, "CreDtTm", created)
    _sub(group, "NbOfTxs", "1")
    _sub(_sub(group, "SttlmInf"), "SttlmMtd", "CLRG")
    tx = _sub(message, "CdtTrfTxInf")
    ids = _sub(tx, "PmtId")
    _sub(ids, "EndToEndId", instruction.id)
    _sub(ids, "TxId", message_id)
    _sub(_sub(_sub(tx, "PmtTpInf"), "CtgyPurp"), "Prtry", transfer.business_type)
    _sub(tx, "IntrBkSttlmAmt", fen_text(instruction.amount.amount)).set("Ccy", "CNY")
    _sub(tx, "IntrBkSttlmDt", instruction.execution_date.isoformat())
    _sub(tx, "SttlmPrty", transfer.priority.value)
    _sub(tx, "ChrgBr", "DEBT")
    _agent(tx, "InstgAgt", sender, instruction.debtor_account.cnaps_code)
    _agent(tx, "InstdAgt", receiver, instruction.creditor_account.cnaps_code)
    debtor, creditor = instruction.debtor_account, instruction.creditor_account
    _party(tx, "Dbtr", debtor)
    _bank(tx, "DbtrAgt", debtor)
    _bank(tx, "CdtrAgt", creditor)
    _party(tx, "Cdtr", creditor)
    if transfer.business_kind:
        _sub(_sub(tx, "Purp"), "Prtry", transfer.business_kind)
    if instruction.remittance.strip():
        _sub(_sub(tx, "RmtInf"), "Ustrd", NOTE_TAG + instruction.remittance.strip())
    xml: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    return xml


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{_NS}{tag}")
    if text is not None:
        element.text = text
    return element


def _agent(parent: etree._Element, tag: str, clearing_bank: str, branch: str) -> None:
    agent = _sub(parent, tag)
    _sub(_sub(_sub(agent, "FinInstnId"), "ClrSysMmbId"), "MmbId", clearing_bank)
    _sub(_sub(agent, "BrnchId"), "Id", branch)


def _party(parent: etree._Element, side: str, account: BankAccount) -> None:
    """`Dbtr`/`Cdtr` and its account: the 户名 is the name the bank checks, hence written."""
    _sub(_sub(parent, side), "Nm", account.name)
    other = _sub(_sub(_sub(parent, f"{side}Acct"), "Id"), "Othr")
    _sub(other, "Id", account.number)
    _sub(other, "Issr", account.cnaps_code)


def _bank(parent: etree._Element, tag: str, account: BankAccount) -> None:
    """The account's 开户行, by 行号 (and name when known)."""
    institution = _sub(_sub(parent, tag), "FinInstnId")
    _sub(_sub(institution, "ClrSysMmbId"), "MmbId", account.cnaps_code)
    if account.bank_name:
        _sub(institution, "Nm", account.bank_name)


def _validate(xml: bytes) -> None:
    validate_against("pacs.008.001.02.xsd", xml, SOURCE)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="cnaps-hvps111",
        family="bank",
        title="CNAPS2 HVPS hvps.111.001.01 customer credit transfer -> CnapsCreditTransfer",
        read=lambda raw, received_at: cnaps_hvps111_to_canonical(raw, received_at=received_at),
        recognise=recognise_cnaps_hvps111,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="cnaps-hvps111",
        title="CnapsTransfer -> CNAPS2 hvps.111.001.01 frame (pacs.008.001.02 body, XSD-checked)",
        model=CnapsTransfer,
        write=canonical_to_cnaps_hvps111,
    ),
)
