"""企查查 (QCC) OpenAPI 410 `GetBasicDetailsByName` answer -> EnterpriseProfile (formats-outbound
§4.2).

The envelope is `{"Status": "200", "Message", "OrderNumber", "Result": {...}}`; `Status` is a
string and anything but "200" (e.g. "201" 查询无结果) is an error answer, refused as one problem
naming the vendor's code and message. Registered capital comes both as text (`RegistCapi`,
"5000万元人民币") and split (`RegisteredCapital` + `RegisteredCapitalUnit` + `...CCY`); when both
are present they must agree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from canonical import FEN, Money
from canonical.credit import EnterpriseProfile
from mappings._credit import (
    build_profile,
    enterprise_status,
    provenance,
    read_capital,
    read_currency,
    read_uscc,
    sniff_json,
    vendor_refusal,
)
from mappings._fields import Node, Reader, read_document
from mappings._problems import Problems, guarded, require_aware
from mappings.catalogue import InboundFormat

__all__ = ["INBOUND", "qcc_to_canonical", "recognise_qcc"]

SOURCE = "qcc"
_UNITS = {
    "": Decimal(1),
    "元": Decimal(1),
    "万": Decimal(10_000),
    "万元": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "亿元": Decimal(100_000_000),
}


def qcc_to_canonical(raw: bytes, *, received_at: datetime) -> EnterpriseProfile:
    """Map a 企查查 basic-details answer; raise MappingError listing every problem."""
    return guarded(SOURCE, lambda: _map(raw, received_at))


def recognise_qcc(raw: bytes) -> bool:
    return sniff_json(raw, b'"Status"', b'"OrderNumber"')


def _map(raw: bytes, received_at: datetime) -> EnterpriseProfile:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    root = read_document(problems, raw, SOURCE)
    status = root.get("Status")
    code = status.value if isinstance(status.value, str | int) else None
    if code is None or str(code).strip() != "200":
        if status.missing or code is None:
            problems.add(status.path, "is required: the 企查查 status code", status.value)
        else:
            vendor_refusal(problems, status, "企查查", code, root.get("Message").value)
        problems.raise_if_any(SOURCE)
    result = read.object(root.get("Result"))
    if result is None:
        problems.raise_if_any(SOURCE)
        raise AssertionError("unreachable: a problem was recorded")
    revoke = result.get("RevokeInfo")
    revoke_info = None if revoke.blank else read.object(revoke)
    status_text = read.text(result.get("Status"), max_len=100)
    uscc = read_uscc(read, result.get("CreditCode"))
    fields: dict[str, object] = {
        "uscc": uscc,
        "name": read.text(result.get("Name"), max_len=200),
        "legal_representative": read.text(result.get("OperName"), required=False, max_len=100),
        "registered_capital": _capital(read, result, "RegistCapi", "RegisteredCapital"),
        "paid_in_capital": _capital(read, result, "RecCap", "PaidUpCapital"),
        "established_on": read.date(result.get("StartDate"), required=False),
        "status": None if status_text is None else enterprise_status(status_text),
        "status_text": status_text,
        "enterprise_type": read.text(result.get("EconKind"), required=False, max_len=100),
        "industry": _industry(read, result.get("Industry")),
        "address": read.text(result.get("Address"), required=False, max_len=300),
        "registration_authority": read.text(result.get("BelongOrg"), required=False, max_len=200),
        "business_scope": read.text(result.get("Scope"), required=False, max_len=4000),
        "former_names": _former_names(read, result.get("OriginalName")),
        "cancelled_on": None
        if revoke_info is None
        else read.date(revoke_info.get("CancelDate"), required=False),
        "revoked_on": None
        if revoke_info is None
        else read.date(revoke_info.get("RevokeDate"), required=False),
    }
    order = read.text(root.get("OrderNumber"), required=False, max_len=128)
    origin = provenance(problems, SOURCE, order or uscc, raw, received_at)
    problems.raise_if_any(SOURCE)
    return build_profile(problems, fields, origin, "/Result", SOURCE)


def _capital(read: Reader, result: Node, text_key: str, split_key: str) -> Money | None:
    """From the text; cross-checked with the split fields when both are given."""
    text_node = result.get(text_key)
    from_text = read_capital(read, text_node)
    number = result.get(split_key)
    if number.blank:
        return from_text
    amount = read.amount(number)
    unit_node = result.get(f"{split_key}Unit")
    unit = read.text(unit_node, required=False, max_len=8)
    currency = read_currency(
        read, result.get(f"{split_key}CCY"), default=from_text.currency if from_text else "CNY"
    )
    if amount is None or unit is None or currency is None:
        return None
    if unit not in _UNITS:
        read.problems.add(unit_node.path, "unknown unit (expected 万, 亿 or 元)", unit_node.value)
        return None
    scaled = amount * _UNITS[unit]
    if scaled.quantize(FEN) != scaled:
        read.problems.add(number.path, "is not a whole number of fen once scaled", number.value)
        return None
    split = Money(amount=scaled.quantize(FEN), currency=currency)
    if from_text is not None and from_text != split:
        read.problems.add(
            text_node.path, f"disagrees with {split_key}/Unit/CCY ({split})", text_node.value
        )
        return None
    return split


def _industry(read: Reader, node: Node) -> str | None:
    """`Industry` is text in some answers and `{"Industry": ..., "SubIndustry": ...}` in others."""
    if isinstance(node.value, dict):
        return read.text(node.get("Industry"), required=False, max_len=100)
    return read.text(node, required=False, max_len=100)


def _former_names(read: Reader, node: Node) -> tuple[str, ...] | None:
    items = read.array(node, required=False)
    if items is None:
        return None
    names = []
    for item in items:
        if read.object(item) is not None:
            name = read.text(item.get("Name"), max_len=200)
            if name is not None:
                names.append(name)
    return tuple(names)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="qcc-enterprise",
        family="credit",
        title="企查查 GetBasicDetailsByName answer -> EnterpriseProfile",
        read=lambda raw, received_at: qcc_to_canonical(raw, received_at=received_at),
        recognise=recognise_qcc,
    ),
)
