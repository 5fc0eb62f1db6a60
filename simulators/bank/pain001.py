"""The parts of a validated pain.001.001.09 that the bank acts on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from simulators.bank.xmlio import PAIN001_NS

_NS = {"p": PAIN001_NS}


@dataclass(frozen=True)
class Transfer:
    pmt_inf_id: str
    instr_id: str | None
    end_to_end_id: str
    uetr: str | None
    amount: Decimal
    currency: str
    creditor_name: str | None
    creditor_account: str | None
    creditor_agent: str | None  # CNAPS 行号 (ClrSysMmbId/MmbId) or BIC


@dataclass(frozen=True)
class PaymentBlock:
    pmt_inf_id: str
    nb_of_txs: str | None
    ctrl_sum: Decimal | None
    debtor_name: str | None
    debtor_account: str
    transfers: tuple[Transfer, ...]


@dataclass(frozen=True)
class Pain001:
    msg_id: str
    cre_dt_tm: str
    nb_of_txs: str
    ctrl_sum: Decimal | None
    ctrl_sum_text: str | None
    blocks: tuple[PaymentBlock, ...]

    @property
    def transfers(self) -> tuple[Transfer, ...]:
        return tuple(t for block in self.blocks for t in block.transfers)

    def fingerprint(self) -> str:
        """Digest of the instructions: a resend with a new CreDtTm or layout is the same file."""
        facts = [
            self.nb_of_txs,
            self.ctrl_sum_text,
            [
                [b.pmt_inf_id, b.debtor_account, b.nb_of_txs, str(b.ctrl_sum)]
                + [
                    [t.instr_id, t.end_to_end_id, str(t.amount), t.currency, t.creditor_account]
                    for t in b.transfers
                ]
                for b in self.blocks
            ],
        ]
        return hashlib.sha256(json.dumps(facts, ensure_ascii=False).encode()).hexdigest()


def _text(element: etree._Element, path: str) -> str | None:
    found = element.find(path, _NS)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _required(element: etree._Element, path: str) -> str:
    value = _text(element, path)
    if value is None:  # the XSD already guarantees it; this guards our own paths
        raise ValueError(f"missing {path}")
    return value


def _account(element: etree._Element, path: str) -> str | None:
    return _text(element, f"{path}/p:Id/p:Othr/p:Id") or _text(element, f"{path}/p:Id/p:IBAN")


def _transfer(tx: etree._Element, pmt_inf_id: str) -> Transfer:
    instructed = tx.find("p:Amt/p:InstdAmt", _NS)
    if instructed is not None:
        amount, currency = instructed.text or "", instructed.get("Ccy", "")
    else:
        amount = _required(tx, "p:Amt/p:EqvtAmt/p:Amt")
        currency = _required(tx, "p:Amt/p:EqvtAmt/p:CcyOfTrf")
    agent = _text(tx, "p:CdtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId") or _text(
        tx, "p:CdtrAgt/p:FinInstnId/p:BICFI"
    )
    return Transfer(
        pmt_inf_id=pmt_inf_id,
        instr_id=_text(tx, "p:PmtId/p:InstrId"),
        end_to_end_id=_required(tx, "p:PmtId/p:EndToEndId"),
        uetr=_text(tx, "p:PmtId/p:UETR"),
        amount=Decimal(amount.strip()),
        currency=currency,
        creditor_name=_text(tx, "p:Cdtr/p:Nm"),
        creditor_account=_account(tx, "p:CdtrAcct"),
        creditor_agent=agent,
    )


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def read_pain001(document: etree._Element) -> Pain001:
    """From an XSD-valid Document element."""
    initiation = document.find("p:CstmrCdtTrfInitn", _NS)
    if initiation is None:
        raise ValueError("missing CstmrCdtTrfInitn")
    blocks = []
    for block in initiation.findall("p:PmtInf", _NS):
        pmt_inf_id = _required(block, "p:PmtInfId")
        blocks.append(
            PaymentBlock(
                pmt_inf_id=pmt_inf_id,
                nb_of_txs=_text(block, "p:NbOfTxs"),
                ctrl_sum=_decimal(_text(block, "p:CtrlSum")),
                debtor_name=_text(block, "p:Dbtr/p:Nm"),
                debtor_account=_account(block, "p:DbtrAcct") or "",
                transfers=tuple(
                    _transfer(tx, pmt_inf_id) for tx in block.findall("p:CdtTrfTxInf", _NS)
                ),
            )
        )
    ctrl_sum_text = _text(initiation, "p:GrpHdr/p:CtrlSum")
    return Pain001(
        msg_id=_required(initiation, "p:GrpHdr/p:MsgId"),
        cre_dt_tm=_required(initiation, "p:GrpHdr/p:CreDtTm"),
        nb_of_txs=_required(initiation, "p:GrpHdr/p:NbOfTxs"),
        ctrl_sum=_decimal(ctrl_sum_text),
        ctrl_sum_text=ctrl_sum_text,
        blocks=tuple(blocks),
    )
