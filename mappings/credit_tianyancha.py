"""天眼查 (Tianyancha) OpenAPI `ic/baseinfo` answer -> EnterpriseProfile (formats-outbound §4.3).

The envelope is `{"result": {...}, "reason": "ok", "error_code": 0}`; a non-zero `error_code`
(300000 无数据, 300004 rate limited, 300006 balance ...) is an error answer, refused as one problem
naming the vendor's code and reason. Dates are epoch milliseconds (`estiblishTime`); older
answers send date text, which is read as well. `regCapital` is text such as "1000万人民币".
"""

from __future__ import annotations

import re
from datetime import date, datetime

from canonical.credit import EnterpriseProfile
from mappings._credit import (
    build_profile,
    capital_currency_check,
    enterprise_status,
    epoch_or_date,
    provenance,
    read_capital,
    read_uscc,
    sniff_json,
    tianyancha_code,
    vendor_refusal,
)
from mappings._fields import Node, Reader, read_document
from mappings._problems import Problems, guarded, require_aware
from mappings.catalogue import InboundFormat

__all__ = ["INBOUND", "recognise_tianyancha", "tianyancha_to_canonical"]

SOURCE = "tianyancha"
_NAME_SEPARATORS = re.compile(r"[;；,，\t\n]+")


def tianyancha_to_canonical(raw: bytes, *, received_at: datetime) -> EnterpriseProfile:
    """Map a 天眼查 base-info answer; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at))


def recognise_tianyancha(raw: bytes) -> bool:
    return sniff_json(raw, b'"error_code"', b'"reason"')


def _map(raw: bytes, received_at: datetime) -> EnterpriseProfile:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    root = read_document(problems, raw, SOURCE)
    error = root.get("error_code")
    code = tianyancha_code(error.value)
    if code is None:
        problems.add(error.path, "is required: the 天眼查 error code (0 = ok)", error.value)
    elif code != 0:
        vendor_refusal(problems, error, "天眼查", code, root.get("reason").value)
    problems.raise_if_any(SOURCE)
    result = read.object(root.get("result"))
    if result is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable: a problem was recorded")
    status_text = read.text(result.get("regStatus"), max_len=100)
    registered = read_capital(read, result.get("regCapital"))
    capital_currency_check(read, result.get("regCapitalCurrency"), registered)
    uscc = read_uscc(read, result.get("creditCode"))
    fields: dict[str, object] = {
        "uscc": uscc,
        "name": read.text(result.get("name"), max_len=200),
        "legal_representative": read.text(
            result.get("legalPersonName"), required=False, max_len=100
        ),
        "registered_capital": registered,
        "paid_in_capital": read_capital(read, result.get("actualCapital")),
        "established_on": _date(read, result.get("estiblishTime")),
        "status": None if status_text is None else enterprise_status(status_text),
        "status_text": status_text,
        "enterprise_type": read.text(result.get("companyOrgType"), required=False, max_len=100),
        "industry": read.text(result.get("industry"), required=False, max_len=100),
        "address": read.text(result.get("regLocation"), required=False, max_len=300),
        "registration_authority": read.text(
            result.get("regInstitute"), required=False, max_len=200
        ),
        "business_scope": read.text(result.get("businessScope"), required=False, max_len=4000),
        "former_names": _history(read, result.get("historyNames")),
        "cancelled_on": _date(read, result.get("cancelDate")),
        "revoked_on": _date(read, result.get("revokeDate")),
    }
    company_id = read.text(result.get("id"), required=False, max_len=64)
    origin = provenance(problems, SOURCE, company_id or uscc, raw, received_at)
    problems.raise_if_any(SOURCE)
    return build_profile(problems, fields, origin, "/result", SOURCE)


def _date(read: Reader, node: Node) -> date | None:
    if node.blank:
        return None
    try:
        return epoch_or_date(node.value)
    except ValueError as exc:
        read.problems.add(node.path, str(exc), node.value)
        return None


def _history(read: Reader, node: Node) -> tuple[str, ...] | None:
    """`historyNames` is "旧名一;旧名二" (sometimes an array)."""
    if node.blank:
        return ()
    if isinstance(node.value, list):
        items = read.array(node) or []
        names = [read.text(item, max_len=200) for item in items]
        return tuple(n for n in names if n)
    text = read.text(node, max_len=4000)
    if text is None:
        return None
    return tuple(name.strip() for name in _NAME_SEPARATORS.split(text) if name.strip())


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="tianyancha-enterprise",
        family="credit",
        title="天眼查 ic/baseinfo answer -> EnterpriseProfile",
        read=lambda raw, received_at: tianyancha_to_canonical(raw, received_at=received_at),
        recognise=recognise_tianyancha,
    ),
)
