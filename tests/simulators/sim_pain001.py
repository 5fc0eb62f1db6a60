"""Hand-built pain.001.001.09 files for the bank tests, written from formats-outbound.md §1.1.

Deliberately independent of simulators.bank: a shared builder would hide a shared bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

NS = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
NS002 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"
FACTOR_ACCOUNT = "6225880137001234"


@dataclass
class Tx:
    end_to_end_id: str
    amount: str
    creditor_account: str = "31050161373600001234"
    creditor_name: str = "苏州华盛精密机械有限公司"
    instr_id: str | None = None
    currency: str = "CNY"


@dataclass
class Block:
    txs: list[Tx]
    pmt_inf_id: str = "PMT-0001"
    debtor_account: str = FACTOR_ACCOUNT
    nb_of_txs: str | None = None  # None: the right count
    ctrl_sum: str | None = None  # None: the right sum


@dataclass
class Message:
    msg_id: str
    blocks: list[Block] = field(default_factory=list)
    nb_of_txs: str | None = None
    ctrl_sum: str | None = None
    cre_dt_tm: str = "2026-11-28T10:15:00+08:00"


def _e(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _agent(parent: etree._Element, tag: str, cnaps: str, name: str) -> None:
    fin = _e(_e(parent, tag), "FinInstnId")
    member = _e(fin, "ClrSysMmbId")
    _e(_e(member, "ClrSysId"), "Cd", "CNAPS")
    _e(member, "MmbId", cnaps)
    _e(fin, "Nm", name)


def _account(parent: etree._Element, tag: str, number: str) -> None:
    _e(_e(_e(_e(parent, tag), "Id"), "Othr"), "Id", number)


def _party(parent: etree._Element, tag: str, name: str, uscc: str | None = None) -> None:
    party = _e(parent, tag)
    _e(party, "Nm", name)
    if uscc:
        other = _e(_e(_e(party, "Id"), "OrgId"), "Othr")
        _e(other, "Id", uscc)
        _e(_e(other, "SchmeNm"), "Prtry", "USCC")


def build(message: Message) -> bytes:
    root = etree.fromstring(f'<Document xmlns="{NS}"/>')
    init = _e(root, "CstmrCdtTrfInitn")
    all_txs = [tx for block in message.blocks for tx in block.txs]
    header = _e(init, "GrpHdr")
    _e(header, "MsgId", message.msg_id)
    _e(header, "CreDtTm", message.cre_dt_tm)
    _e(header, "NbOfTxs", message.nb_of_txs or str(len(all_txs)))
    total = sum((Decimal(tx.amount) for tx in all_txs), Decimal(0))
    _e(header, "CtrlSum", message.ctrl_sum or str(total))
    _party(header, "InitgPty", "苏州保理示例有限公司", "9132050571358240X0")
    for block in message.blocks:
        pmt = _e(init, "PmtInf")
        _e(pmt, "PmtInfId", block.pmt_inf_id)
        _e(pmt, "PmtMtd", "TRF")
        _e(pmt, "BtchBookg", "false")
        _e(pmt, "NbOfTxs", block.nb_of_txs or str(len(block.txs)))
        block_sum = sum((Decimal(tx.amount) for tx in block.txs), Decimal(0))
        _e(pmt, "CtrlSum", block.ctrl_sum or str(block_sum))
        _e(_e(_e(pmt, "PmtTpInf"), "CtgyPurp"), "Cd", "SUPP")
        _e(_e(pmt, "ReqdExctnDt"), "Dt", "2026-11-28")
        _party(pmt, "Dbtr", "苏州保理示例有限公司", "9132050571358240X0")
        _account(pmt, "DbtrAcct", block.debtor_account)
        _agent(pmt, "DbtrAgt", "308305000012", "招商银行股份有限公司苏州分行")
        _e(pmt, "ChrgBr", "DEBT")
        for tx in block.txs:
            ctti = _e(pmt, "CdtTrfTxInf")
            pmt_id = _e(ctti, "PmtId")
            if tx.instr_id:
                _e(pmt_id, "InstrId", tx.instr_id)
            _e(pmt_id, "EndToEndId", tx.end_to_end_id)
            amt = _e(_e(ctti, "Amt"), "InstdAmt", tx.amount)
            amt.set("Ccy", tx.currency)
            _agent(ctti, "CdtrAgt", "102305000034", "中国工商银行股份有限公司苏州工业园区支行")
            _party(ctti, "Cdtr", tx.creditor_name)
            _account(ctti, "CdtrAcct", tx.creditor_account)
            _e(_e(ctti, "Purp"), "Cd", "SUPP")
            rmt = _e(ctti, "RmtInf")
            _e(rmt, "Ustrd", f"保理融资放款 合同 FC-2026-0001 发票 {tx.end_to_end_id}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def one(msg_id: str, end_to_end_id: str, amount: str, **tx_fields: str) -> bytes:
    """A file with one payment block and one transaction."""
    tx = Tx(end_to_end_id, amount, instr_id=f"DISB-{end_to_end_id}", **tx_fields)
    return build(Message(msg_id, [Block([tx])]))
