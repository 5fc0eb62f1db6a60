"""Disbursement instructions -> ISO 20022 pain.001.001.09 (CustomerCreditTransferInitiationV09).

One PmtInf block per (debtor account, execution date), in order of first appearance; each
instruction is one CdtTrfTxInf whose InstrId and EndToEndId are the instruction id, so a re-send
of the same instructions yields the same ids (the bank's duplicate check then holds). Chinese
banks are addressed by CNAPS 行号 (ClrSysId/Cd = CNAPS) and accounts by Othr/Id (no IBAN).
Every document is validated against the XSD before it is returned.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from canonical import FEN, BankAccount, DisbursementInstruction, Party
from mappings._problems import Problems, guarded, require_aware
from mappings._xsd import validate_against
from mappings.catalogue import OutboundFormat

__all__ = [
    "OUTBOUND",
    "PAIN001_NAMESPACE",
    "PaymentFile",
    "canonical_to_pain001",
    "validate_pain001",
]

SOURCE = "pain.001"
PAIN001_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
CHINA_TIME = timezone(timedelta(hours=8))

_NS = f"{{{PAIN001_NAMESPACE}}}"
_CNAPS = re.compile(r"[0-9]{12}")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def canonical_to_pain001(
    instructions: Sequence[DisbursementInstruction],
    *,
    message_id: str,
    created_at: datetime,
    initiating_party: Party,
) -> bytes:
    """The pain.001 file (UTF-8) for `instructions`; MappingError lists every problem."""
    return guarded(SOURCE, lambda: _document(instructions, message_id, created_at,
                                             initiating_party))


def validate_pain001(xml: bytes) -> None:
    """Raise MappingError listing every XSD violation of a pain.001.001.09 document."""
    guarded(SOURCE, lambda: _validate(xml))


def _validate(xml: bytes) -> None:
    validate_against("pain.001.001.09.xsd", xml, SOURCE)


def _document(
    instructions: Sequence[DisbursementInstruction],
    message_id: str,
    created_at: datetime,
    initiating_party: Party,
) -> bytes:
    problems = Problems()
    require_aware(problems, "created_at", created_at)
    _check(problems, instructions, message_id, initiating_party)
    problems.raise_if_any(SOURCE)
    blocks: dict[tuple[str, date], list[DisbursementInstruction]] = {}
    for instruction in instructions:
        key = (instruction.debtor_account.number, instruction.execution_date)
        blocks.setdefault(key, []).append(instruction)

    document = etree.Element(f"{_NS}Document", nsmap={None: PAIN001_NAMESPACE})  # type: ignore[dict-item]
    initiation = _sub(document, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created_at.astimezone(CHINA_TIME).isoformat(timespec="seconds"))
    _sub(header, "NbOfTxs", str(len(instructions)))
    _sub(header, "CtrlSum", _amount(sum((i.amount.amount for i in instructions), Decimal(0))))
    _party(header, "InitgPty", initiating_party)
    for number, block in enumerate(blocks.values(), start=1):
        _block(initiation, _block_id(message_id, number), block)
    xml: bytes = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    _validate(xml)
    return xml


def _check(
    problems: Problems,
    instructions: Sequence[DisbursementInstruction],
    message_id: str,
    initiating_party: Party,
) -> None:
    """Everything the bank would refuse, found before a file is built."""
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 35 or _NOT_XML.search(
        message_id
    ):
        problems.add("message_id", "must be 1 to 35 characters", message_id)
    _check_text(problems, "initiating_party.name", initiating_party.name)
    if not instructions:
        problems.add("instructions", "must hold at least one instruction", 0)
    seen: set[str] = set()
    first_of_account: dict[str, DisbursementInstruction] = {}
    for i, instruction in enumerate(instructions):
        at = f"instructions[{i}]"
        if instruction.id in seen:
            problems.add(f"{at}.id", "is used twice: an EndToEndId must be unique", instruction.id)
        seen.add(instruction.id)
        amount = instruction.amount.amount
        if amount <= 0:
            problems.add(f"{at}.amount", "must be positive", str(amount))
        elif amount != amount.quantize(FEN):
            problems.add(f"{at}.amount", "has more than 2 decimals: a payment is never rounded "
                         "here (the bank would refuse it with CH20)", str(amount))
        for side in ("debtor_account", "creditor_account"):
            account: BankAccount = getattr(instruction, side)
            if not _CNAPS.fullmatch(account.cnaps_code):
                problems.add(f"{at}.{side}.cnaps_code", "a 12-digit CNAPS 行号 is required",
                             account.cnaps_code)
        for field, text in (("debtor.name", instruction.debtor.name),
                            ("creditor.name", instruction.creditor.name),
                            ("remittance", instruction.remittance),
                            ("request_id", instruction.request_id),
                            ("creditor_account.bank_name", instruction.creditor_account.bank_name),
                            ("debtor_account.bank_name", instruction.debtor_account.bank_name)):
            _check_text(problems, f"{at}.{field}", text)
        first = first_of_account.setdefault(instruction.debtor_account.number, instruction)
        if (first.debtor, first.debtor_account) != (instruction.debtor,
                                                    instruction.debtor_account):
            problems.add(f"{at}.debtor_account", "the same debtor account number comes with a "
                         "different debtor or bank than in an earlier instruction",
                         instruction.debtor_account.number)


def _check_text(problems: Problems, path: str, text: str) -> None:
    if _NOT_XML.search(text):
        problems.add(path, "contains characters XML cannot carry", text)


def _block_id(message_id: str, number: int) -> str:
    """PmtInfId: deterministic, so a re-send reuses it; hashed if the plain form is too long."""
    plain = f"{message_id}-{number}"
    if len(plain) <= 35:
        return plain
    return hashlib.new("sm3", f"{message_id}\x00{number}".encode()).hexdigest()[:35]


def _block(parent: etree._Element, block_id: str,
           instructions: list[DisbursementInstruction]) -> None:
    first = instructions[0]
    block = _sub(parent, "PmtInf")
    _sub(block, "PmtInfId", block_id)
    _sub(block, "PmtMtd", "TRF")
    _sub(block, "BtchBookg", "false")
    _sub(block, "NbOfTxs", str(len(instructions)))
    _sub(block, "CtrlSum", _amount(sum((i.amount.amount for i in instructions), Decimal(0))))
    _sub(_sub(_sub(block, "PmtTpInf"), "CtgyPurp"), "Cd", "SUPP")
    _sub(_sub(block, "ReqdExctnDt"), "Dt", first.execution_date.isoformat())
    _party(block, "Dbtr", first.debtor)
    _account(block, "DbtrAcct", first.debtor_account)
    _agent(block, "DbtrAgt", first.debtor_account)
    _sub(block, "ChrgBr", "DEBT")
    for instruction in instructions:
        _transaction(block, instruction)


def _transaction(parent: etree._Element, instruction: DisbursementInstruction) -> None:
    tx = _sub(parent, "CdtTrfTxInf")
    ids = _sub(tx, "PmtId")
    _sub(ids, "InstrId", instruction.id)
    _sub(ids, "EndToEndId", instruction.id)
    amount = _sub(_sub(tx, "Amt"), "InstdAmt", _amount(instruction.amount.amount))
    amount.set("Ccy", instruction.amount.currency)
    _agent(tx, "CdtrAgt", instruction.creditor_account)
    _party(tx, "Cdtr", instruction.creditor)
    _account(tx, "CdtrAcct", instruction.creditor_account)
    _sub(_sub(tx, "Purp"), "Cd", "SUPP")
    remittance = instruction.remittance or instruction.request_id[:140]
    if remittance.strip():
        _sub(_sub(tx, "RmtInf"), "Ustrd", remittance)


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{_NS}{tag}")
    if text is not None:
        element.text = text
    return element


def _amount(value: Decimal) -> str:
    """Exactly two decimals (inputs were checked to have no more)."""
    return format(value.quantize(FEN), "f")


def _party(parent: etree._Element, tag: str, party: Party) -> None:
    element = _sub(parent, tag)
    _sub(element, "Nm", party.name)
    other = _sub(_sub(_sub(element, "Id"), "OrgId"), "Othr")
    _sub(other, "Id", party.uscc)
    _sub(_sub(other, "SchmeNm"), "Prtry", "USCC")


def _account(parent: etree._Element, tag: str, account: BankAccount) -> None:
    _sub(_sub(_sub(_sub(parent, tag), "Id"), "Othr"), "Id", account.number)


def _agent(parent: etree._Element, tag: str, account: BankAccount) -> None:
    institution = _sub(_sub(parent, tag), "FinInstnId")
    member = _sub(institution, "ClrSysMmbId")
    _sub(_sub(member, "ClrSysId"), "Cd", "CNAPS")
    _sub(member, "MmbId", account.cnaps_code)
    if account.bank_name:
        _sub(institution, "Nm", account.bank_name)


class PaymentFile(BaseModel):
    """What one pain.001 file is written from (the input of `factorhub render pain001`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(min_length=1, max_length=35)
    created_at: datetime
    initiating_party: Party
    instructions: tuple[DisbursementInstruction, ...] = Field(min_length=1)


def _write(file: PaymentFile) -> bytes:
    return canonical_to_pain001(
        file.instructions,
        message_id=file.message_id,
        created_at=file.created_at,
        initiating_party=file.initiating_party,
    )


OUTBOUND = (
    OutboundFormat(
        name="pain001",
        title="ISO 20022 pain.001.001.09 credit transfer initiation (XSD-checked)",
        model=PaymentFile,
        write=_write,
    ),
)
