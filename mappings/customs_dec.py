"""China customs declaration (DecMessage, 报关单, formats-inbound §4.1-4.4, §4.6) -> canonical.

Read: DecHead (keys, dates, parties, modes), every DecLists/DecList (goods lines) and DecSign
(ClientSeqNo, SignDate). The declared value is Σ DeclTotal in the lines' one TradeCurr: DecHead has
no total of its own, so each line is checked instead (GQty x DeclPrice against DeclTotal, allowing
the 4-decimal rounding of DeclPrice). Paths are XPath-like over local names, so `dec:`-prefixed,
default-namespace and un-namespaced messages read and report the same; a DxpMsg envelope is opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from lxml import etree
from pydantic import ValidationError

from canonical import (
    CustomsDeclaration,
    DocumentLine,
    Money,
    Provenance,
    normalise_uscc,
    uscc_problem,
)
from mappings._customs import (
    Section,
    check_line_total,
    check_namespace,
    parse_customs_xml,
    sniff_root,
)
from mappings._invoice import DEFAULT_TOLERANCE, check_tolerance, fingerprint
from mappings._problems import Problems, guarded, require_aware
from mappings._values import fen
from mappings._xml import child, children, local_name
from mappings.catalogue import InboundFormat

__all__ = ["DEC_NAMESPACE", "INBOUND", "decmessage_to_canonical", "recognise_decmessage"]

SOURCE = "customs-decmessage"
DEC_NAMESPACE = "http://www.chinaport.gov.cn/dec"

_ENTRY_ID = re.compile(r"[0-9]{18}")
_SEQ_NO = re.compile(r"[0-9A-Z]{18}")
_CUSTOMS_CODE = re.compile(r"[0-9A-Z]{10}")
_TRADE_MODE = re.compile(r"[0-9]{4}")
_TRANS_MODE = re.compile(r"[1-7]")
_HS_CODE = re.compile(r"[0-9]{8}(?:[0-9]{2})?")
_GNO = re.compile(r"[1-9][0-9]{0,3}")
_LINES = ("GQty", "DeclPrice", "DeclTotal")
_SIGN_DATES = (("DecHead", "DDate"), ("DecSign", "SignDate"), ("DecHead", "PDate"))
"""Where the declaration date is taken from, first present wins (§4.2, §4.4)."""


def decmessage_to_canonical(
    raw: bytes, *, received_at: datetime, tolerance: Decimal = DEFAULT_TOLERANCE
) -> CustomsDeclaration:
    """Map a DecMessage; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance))


def recognise_decmessage(raw: bytes) -> bool:
    """A DecMessage root in the dec namespace (or none), bare or inside a DxpMsg."""
    return sniff_root(raw) in (("DecMessage", DEC_NAMESPACE), ("DecMessage", ""))


def _read(raw: bytes, received_at: datetime) -> CustomsDeclaration:
    return decmessage_to_canonical(raw, received_at=received_at)


INBOUND = (
    InboundFormat(
        name="customs-decmessage",
        family="customs",
        title="China customs declaration DecMessage (报关单) -> CustomsDeclaration",
        read=_read,
        recognise=recognise_decmessage,
    ),
)


@dataclass(slots=True)
class _Lines:
    lines: list[DocumentLine]
    currency: str | None


def _map(raw: bytes, received_at: datetime, tolerance: Decimal) -> CustomsDeclaration:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root, prefix = parse_customs_xml(problems, raw, SOURCE)
    path = f"{prefix}/{local_name(root)}"
    if local_name(root) != "DecMessage":
        problems.add(path, "not a customs declaration: expected a DecMessage root")
        problems.raise_if_any(SOURCE)
    check_namespace(problems, root, DEC_NAMESPACE, path)
    head_element = child(root, "DecHead")
    if head_element is None:
        problems.add(f"{path}/DecHead", "is required but missing")
    head = Section(problems, head_element, f"{path}/DecHead")
    sign = Section(problems, child(root, "DecSign"), f"{path}/DecSign")

    ie_flag = _ie_flag(head)
    entry_id = head.ident("EntryId", pattern=_ENTRY_ID, expected="18 digits")
    seq_no = head.ident("SeqNo", pattern=_SEQ_NO, expected="18 letters or digits")
    if entry_id and ie_flag and entry_id[8] != ("0" if ie_flag == "E" else "1"):
        problems.add(
            head.where("EntryId"),
            f"its 9th digit {entry_id[8]} (1 import, 0 export) contradicts IEFlag {ie_flag}",
            entry_id,
        )
    key = entry_id or seq_no
    if entry_id == "" and seq_no == "":
        problems.add(
            head.where("EntryId"), "is required (nor is there a SeqNo): the declaration has no key"
        )
    trade_uscc = _uscc(head)
    trade_name = head.text("TradeName", required=True, max_len=140)
    trade_code = head.ident(
        "TradeCode", pattern=_CUSTOMS_CODE, expected="a 10-character customs code"
    )
    side = "Consignee" if ie_flag != "I" else "Consignor"
    overseas = head.text(f"Overseas{side}Ename", max_len=140)
    if overseas == "" and side == "Consignor":
        overseas = head.text("OverseasConsignorCname", max_len=140)
    overseas_code = head.ident(f"Overseas{side}Code", max_len=64)
    trade_mode = head.ident("TradeMode", pattern=_TRADE_MODE, expected="4 digits")
    trans_mode = head.ident("TransMode", pattern=_TRANS_MODE, expected="a digit 1-7")
    declare_date = _declare_date(problems, head, sign)
    ie_date = head.date("IEDate", required=False)
    lines = _lines(problems, root, path, tolerance)
    client_seq_no = sign.ident("ClientSeqNo", max_len=64)
    contract_number = head.text("ContrNo", max_len=64)
    bill_no = head.ident("BillNo", max_len=64)
    problems.raise_if_any(SOURCE)

    if not (key and declare_date and lines.currency):  # each gap was recorded as a problem
        raise RuntimeError("a required part with no recorded problem is missing")
    total = sum((line.amount for line in lines.lines), Decimal("0.00"))
    try:
        return CustomsDeclaration(
            entry_id=key,
            cleared=bool(entry_id),
            declare_date=declare_date,
            ie_flag=ie_flag or "E",
            ie_date=ie_date,
            trade_uscc=trade_uscc or "",
            trade_code=trade_code or "",
            trade_name=trade_name or "",
            overseas_party=overseas or "",
            overseas_party_code=overseas_code or "",
            contract_number=contract_number or "",
            total=Money(amount=total, currency=lines.currency),
            lines=tuple(lines.lines),
            seq_no=seq_no or "",
            client_seq_no=client_seq_no or "",
            trade_mode=trade_mode or "",
            trans_mode=trans_mode or "",
            bill_no=bill_no or "",
            provenance=Provenance(
                source_system=SOURCE,
                source_document_id=key,
                fingerprint=fingerprint(raw),
                received_at=received_at,
            ),
        )
    except ValidationError as exc:
        problems.add_validation_error(path, exc)
        problems.raise_if_any(SOURCE)
        raise


def _ie_flag(head: Section) -> str | None:
    """I or E; internal databases send digits, even = export, odd = import (§4.2)."""
    text = head.ident("IEFlag", required=True, max_len=1)
    if not text:
        return None
    flag = text.upper()
    if flag.isascii() and flag.isdigit():
        return "E" if int(flag) % 2 == 0 else "I"
    if flag not in ("E", "I"):
        head.problems.add(head.where("IEFlag"), "must be I (import) or E (export)", text)
        return None
    return flag


def _uscc(head: Section) -> str | None:
    code = head.ident("TradeCoScc", required=True, max_len=18)
    if not code:
        return None
    code = normalise_uscc(code)
    why = uscc_problem(code)
    if why:
        head.problems.add(
            head.where("TradeCoScc"),
            f"invalid 统一社会信用代码: {why}",
            head.raw("TradeCoScc"),
        )
        return None
    return code


def _declare_date(problems: Problems, head: Section, sign: Section) -> date | None:
    sections = {"DecHead": head, "DecSign": sign}
    for section_name, field in _SIGN_DATES:
        section = sections[section_name]
        if section.text(field):
            return section.date(field)
    problems.add(
        sign.where("SignDate"),
        "is required (nor is there a DecHead/PDate): the declaration has no date",
    )
    return None


def _lines(problems: Problems, root: etree._Element, path: str, tolerance: Decimal) -> _Lines:
    lists_path = f"{path}/DecLists"
    items = children(child(root, "DecLists"), "DecList")
    if not items:
        problems.add(lists_path, "must hold at least one DecList (goods line)")
        return _Lines([], None)
    result = _Lines([], None)
    first_currency_path = ""
    seen: dict[str, str] = {}
    for index, item in enumerate(items, start=1):
        line = Section(problems, item, f"{lists_path}/DecList[{index}]")
        number = line.ident("GNo", required=True, pattern=_GNO, expected="a line number 1-9999")
        if number:
            if number in seen:
                problems.add(
                    line.where("GNo"), f"repeats the line number of {seen[number]}", number
                )
            seen[number] = line.path
        quantity = _positive(line, "GQty")
        price = line.amount("DeclPrice")
        if price is not None and price < 0:
            problems.add(line.where("DeclPrice"), "must not be negative", str(price))
            price = None
        total = _positive(line, "DeclTotal")
        currency = line.currency("TradeCurr")
        if currency and result.currency is None:
            result.currency, first_currency_path = currency, line.where("TradeCurr")
        elif currency and currency != result.currency:
            problems.add(
                line.where("TradeCurr"),
                f"is {currency} but {first_currency_path} is "
                f"{result.currency}: a declaration is valued in one currency",
                currency,
            )
        if quantity is not None and price is not None and total is not None:
            check_line_total(
                problems, line.where("DeclTotal"), quantity, price, total, tolerance, _LINES
            )
        code = line.ident("CodeTS", pattern=_HS_CODE, expected="an 8- or 10-digit HS code")
        name = line.text("GName", required=True)
        if number and quantity is not None and price is not None and total is not None:
            result.lines.append(
                DocumentLine(
                    line_no=int(number),
                    item_code=code or "",
                    description=name or "",
                    quantity=quantity,
                    unit_price=price,
                    amount=fen(total),
                )
            )
    return result


def _positive(line: Section, name: str) -> Decimal | None:
    value = line.amount(name)
    if value is not None and value <= 0:
        line.problems.add(line.where(name), "must be positive", str(value))
        return None
    return value
