"""DecMessage (formats-inbound §4.1-4.4) and DecImportResponse writers, with the simulator's own
code: UTF-8, the `dec` default namespace, sections in the official order, official misspellings
(`GrossWet`, `DistinatePort`, `PromiseItmes`) kept verbatim.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from lxml import etree

from simulators.customs.declarations import (
    CUT_MODE,
    TRADE_MODE,
    TRAF_MODE,
    TRANS_MODE,
    Declaration,
    DeclarationLine,
)

__all__ = ["DEC_NS", "DXP_NS", "decmessage", "dxp_wrapped", "import_response"]

DEC_NS = "http://www.chinaport.gov.cn/dec"
DXP_NS = "http://www.chinaport.gov.cn/dxp"
VERSION = "3.1"
_DEFAULT_DEC: Any = {None: DEC_NS}  # lxml stubs type nsmap keys as str; None is the default
_DEFAULT_DXP: Any = {None: DXP_NS}


def decmessage(declaration: Declaration) -> bytes:
    """The cleared export declaration as a bare DecMessage."""
    root = etree.Element(_q("DecMessage"), nsmap=_DEFAULT_DEC)
    root.set("version", VERSION)
    _fields(etree.SubElement(root, _q("DecHead")), _head(declaration))
    lists = etree.SubElement(root, _q("DecLists"))
    for line in declaration.lines:
        _fields(etree.SubElement(lists, _q("DecList")), _list(declaration, line))
    etree.SubElement(root, _q("DecContainers"))
    etree.SubElement(root, _q("DecLicenseDocus"))
    _fields(
        etree.SubElement(root, _q("DecFreeTxt")),
        {"RelId": "", "RelManNo": "", "BonNo": "", "VoyNo": "", "DecBpNo": "", "CusFie": ""},
    )
    _fields(etree.SubElement(root, _q("DecSign")), _sign(declaration))
    return _bytes(root)


def dxp_wrapped(declaration: Declaration, message_id: str) -> bytes:
    """The same DecMessage, Base64 inside a DxpMsg transport envelope."""
    root = etree.Element(f"{{{DXP_NS}}}DxpMsg", nsmap=_DEFAULT_DXP)
    root.set("ver", "1.0")
    info = etree.SubElement(root, f"{{{DXP_NS}}}TransInfo")
    etree.SubElement(info, f"{{{DXP_NS}}}CopMsgId").text = message_id
    etree.SubElement(info, f"{{{DXP_NS}}}SenderId").text = "DXPEDCCEB0000001"
    receivers = etree.SubElement(info, f"{{{DXP_NS}}}ReceiverIds")
    etree.SubElement(receivers, f"{{{DXP_NS}}}ReceiverId").text = declaration.trade_code
    etree.SubElement(
        info, f"{{{DXP_NS}}}CreatTime"
    ).text = f"{declaration.declare_date:%Y-%m-%d}T09:00:00"
    etree.SubElement(info, f"{{{DXP_NS}}}MsgType").text = "DecMessage"
    etree.SubElement(root, f"{{{DXP_NS}}}Data").text = base64.b64encode(
        decmessage(declaration)
    ).decode("ascii")
    return _bytes(root)


def import_response(code: str, message: str, *, seq_no: str = "") -> bytes:
    """DecImportResponse: the customs data centre's answer envelope (ResponseCode 0 = ok)."""
    root = etree.Element(_q("DecImportResponse"), nsmap=_DEFAULT_DEC)
    _fields(
        root,
        {
            "ResponseCode": code,
            "ErrorMessage": message,
            "ClientSeqNo": "",
            "SeqNo": seq_no,
            "TrnPreId": "",
        },
    )
    return _bytes(root)


def _head(d: Declaration) -> dict[str, str]:
    exporter = d.exporter
    return {
        "SeqNo": d.seq_no,
        "IEFlag": "E",
        "Type": "",
        "AgentCode": d.trade_code,
        "AgentName": exporter.name,
        "AgentCodeScc": exporter.uscc,
        "ApprNo": "",
        "BillNo": d.bill_no,
        "ContrNo": d.contract_no,
        "CustomMaster": d.customs_master,
        "CutMode": CUT_MODE,
        "DistinatePort": d.overseas.port,
        "FeeCurr": "",
        "FeeMark": "",
        "FeeRate": "",
        "GrossWet": _number(d.gross_weight),
        "IEDate": f"{d.ie_date:%Y%m%d}",
        "IEPort": d.ie_port,
        "InsurCurr": "",
        "InsurMark": "",
        "InsurRate": "",
        "LicenseNo": "",
        "ManualNo": "",
        "NetWt": _number(d.net_weight),
        "NoteS": f"发票号 {d.invoice_number}",
        "OtherCurr": "",
        "OtherMark": "",
        "OtherRate": "",
        "OwnerCode": d.trade_code,
        "OwnerName": exporter.name,
        "OwnerCodeScc": exporter.uscc,
        "PackNo": str(d.pack_no),
        "TradeCountry": d.overseas.country,
        "TradeMode": TRADE_MODE,
        "TradeCode": d.trade_code,
        "TradeCoScc": exporter.uscc,
        "TradeName": exporter.name,
        "TrafMode": TRAF_MODE,
        "TrafName": "",
        "TransMode": TRANS_MODE,
        "WrapType": "22",
        "EntryId": d.entry_id,
        "PreEntryId": d.seq_no,
        "EdiId": "1",
        "CopName": exporter.name,
        "CopCode": d.trade_code,
        "CopCodeScc": exporter.uscc,
        "EntryType": "M",
        "PDate": f"{d.declare_date:%Y%m%d}",
        "TypistNo": "",
        "InputerName": "",
        "DeclTrnRel": "0",
        "ChkSurety": "0",
        "BillType": "1",
        "PromiseItmes": "000",
        "TradeAreaCode": d.overseas.country,
        "DespPortCode": d.desp_port,
        "OverseasConsigneeCode": d.overseas.code,
        "OverseasConsigneeEname": d.overseas.name,
        "DomesticConsigneeEname": "",
        "MarkNo": "N/M",
    }


def _list(d: Declaration, line: DeclarationLine) -> dict[str, str]:
    return {
        "ClassMark": "",
        "CodeTS": line.code_ts,
        "ContrItem": "",
        "DeclPrice": _number(line.price),
        "DutyMode": "1",
        "Factor": "",
        "GModel": line.g_model,
        "GName": line.g_name,
        "GNo": str(line.g_no),
        "OriginCountry": "CHN",
        "TradeCurr": d.currency,
        "DeclTotal": f"{line.total:.2f}",
        "GQty": str(line.quantity),
        "FirstQty": str(line.quantity),
        "SecondQty": "",
        "GUnit": line.unit,
        "FirstUnit": line.unit,
        "SecondUnit": "",
        "UseTo": "",
        "WorkUsd": "",
        "ExgNo": "",
        "ExgVersion": "",
        "DestinationCountry": d.overseas.country,
        "DistrictCode": d.exporter.uscc[2:7],
    }


def _sign(d: Declaration) -> dict[str, str]:
    return {
        "OperType": "G",
        "ICCode": "",
        "CopCode": d.trade_code,
        "OperName": d.exporter.name,
        "ClientSeqNo": d.client_seq_no,
        "Sign": "",
        "SignDate": f"{d.declare_date:%Y%m%d}09000000",
        "Certificate": "",
        "HostId": "",
        "BillSeqNo": "",
        "DomainId": "",
        "Note": "",
    }


def _number(value: Decimal) -> str:
    """Plain decimal text without trailing zeros (`12.5`, `300`), never exponent notation."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fields(parent: etree._Element, values: dict[str, str]) -> None:
    for name, text in values.items():
        etree.SubElement(parent, _q(name)).text = text


def _q(name: str) -> str:
    return f"{{{DEC_NS}}}{name}"


def _bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
