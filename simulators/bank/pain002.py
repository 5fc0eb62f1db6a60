"""pain.002.001.10 (CustomerPaymentStatusReportV10) from a bank Report, in XSD element order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from lxml import etree

from simulators.bank.engine import BlockReport, Report, Status, TxReport
from simulators.bank.xmlio import PAIN002_NS
from simulators.common.clock import iso_seconds

ORIGINAL_MESSAGE_NAME = "pain.001.001.09"


def _child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{PAIN002_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _reason(parent: etree._Element, status: Status) -> None:
    if status.reason is None:
        return
    info = _child(parent, "StsRsnInf")
    _child(_child(info, "Rsn"), "Cd", status.reason)
    if status.info:
        _child(info, "AddtlInf", status.info[:105])


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _tx(parent: etree._Element, tx: TxReport) -> None:
    element = _child(parent, "TxInfAndSts")
    if tx.instr_id is not None:
        _child(element, "OrgnlInstrId", tx.instr_id)
    _child(element, "OrgnlEndToEndId", tx.end_to_end_id)
    if tx.uetr is not None:
        _child(element, "OrgnlUETR", tx.uetr)
    _child(element, "TxSts", tx.status.code)
    _reason(element, tx.status)
    if tx.accepted_at is not None:
        _child(element, "AccptncDtTm", iso_seconds(tx.accepted_at))
    if tx.acct_svcr_ref is not None:
        _child(element, "AcctSvcrRef", tx.acct_svcr_ref)


def _block(parent: etree._Element, block: BlockReport) -> None:
    element = _child(parent, "OrgnlPmtInfAndSts")
    _child(element, "OrgnlPmtInfId", block.pmt_inf_id)
    if block.nb_of_txs is not None:
        _child(element, "OrgnlNbOfTxs", block.nb_of_txs)
    if block.ctrl_sum is not None:
        _child(element, "OrgnlCtrlSum", _decimal(block.ctrl_sum))
    _child(element, "PmtInfSts", block.status.code)
    _reason(element, block.status)
    for tx in block.txs:
        _tx(element, tx)


def render_pain002(report: Report, msg_id: str, created_at: datetime) -> bytes:
    document = etree.fromstring(f'<Document xmlns="{PAIN002_NS}"/>')
    root = _child(document, "CstmrPmtStsRpt")
    header = _child(root, "GrpHdr")
    _child(header, "MsgId", msg_id)
    _child(header, "CreDtTm", iso_seconds(created_at))
    group = _child(root, "OrgnlGrpInfAndSts")
    _child(group, "OrgnlMsgId", report.orgnl_msg_id)
    _child(group, "OrgnlMsgNmId", ORIGINAL_MESSAGE_NAME)
    if report.orgnl_cre_dt_tm is not None:
        _child(group, "OrgnlCreDtTm", report.orgnl_cre_dt_tm)
    if report.orgnl_nb_of_txs is not None:
        _child(group, "OrgnlNbOfTxs", report.orgnl_nb_of_txs)
    if report.orgnl_ctrl_sum is not None:
        _child(group, "OrgnlCtrlSum", report.orgnl_ctrl_sum)
    _child(group, "GrpSts", report.status.code)
    _reason(group, report.status)
    for block in report.blocks:
        _block(root, block)
    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
