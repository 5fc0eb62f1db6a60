"""中登网 (动产融资统一登记公示系统): registration records and search certificates in, the 保理
registration request out (formats-outbound §3).

中登网 has no public API; the hub speaks the JSON the bundled simulator (and the RPA connector)
uses: snake_case keys, `assignor` = 担保人 (转让人), `assignee` = 担保权人 (the factor). The §3.3
fields the simulator does not know (登记类型 other than 初始, party type, 法定代表人, 行业,
企业规模, 住所, 履行期限, attachments, receivables amount) are optional keys, written only when
set, so a plain 保理 filing stays exactly what the simulator accepts.

    登记证明编号 registration_no      登记类型 registration_type   业务类型 business_type
    修改码 modification_code         登记时间 registered_at       登记到期日 expires_at
    登记期限 period_months            填表人归档号 filer_reference   财产描述 property_description
    主合同 main_contract{number, currency, amount, term_start, term_end}
    party{name, uscc | id_type + id_number, type, legal_representative, industry, scale,
          address{country, province, city, detail}}
    查询证明 {certificate_no, query_time, query{assignor_name, assignor_uscc, registration_no},
              registrations[...], total?}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from canonical import FEN, MappingError, Money, Party, PartyRole, Problem
from canonical.registry import (
    BusinessType,
    MainContract,
    RegistrationEntry,
    RegistrationKind,
    RegistrationRecord,
    RegistrationState,
    RegistryIdType,
    RegistryParty,
    RegistryPartyKind,
    SearchCertificate,
    SearchCriteria,
)
from mappings._credit import (
    CHINA,
    fold_id,
    provenance,
    read_currency,
    read_moment,
    read_uscc,
    sniff_json,
)
from mappings._fields import Node, Reader, read_document
from mappings._problems import Problems, guarded, require_aware
from mappings.catalogue import InboundFormat, OutboundFormat

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "RegistrantDetails",
    "ZhongdengRegistrationRequest",
    "add_months",
    "canonical_to_zhongdeng_request",
    "zhongdeng_record_to_canonical",
    "zhongdeng_request_from_json",
    "zhongdeng_search_to_canonical",
]

SOURCE = "zhongdeng"
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

KIND_LABELS = {
    RegistrationKind.INITIAL: "初始登记",
    RegistrationKind.CHANGE: "变更登记",
    RegistrationKind.EXTENSION: "展期登记",
    RegistrationKind.CANCELLATION: "注销登记",
    RegistrationKind.OBJECTION: "异议登记",
}
BUSINESS_LABELS = {
    BusinessType.FACTORING: "保理",
    BusinessType.RECEIVABLE_PLEDGE: "应收账款质押",
    BusinessType.FINANCIAL_LEASE: "融资租赁",
    BusinessType.RETENTION_OF_TITLE: "所有权保留",
    BusinessType.MOVABLES_MORTGAGE: "生产设备、原材料、半成品、产品抵押",
    BusinessType.DOCUMENT_PLEDGE: "存单、仓单、提单质押",
    BusinessType.OTHER: "其他",
}
PARTY_KIND_LABELS = {
    RegistryPartyKind.ENTERPRISE: "企业",
    RegistryPartyKind.PUBLIC_INSTITUTION: "事业单位",
    RegistryPartyKind.INDIVIDUAL: "个人",
    RegistryPartyKind.OTHER: "其他",
}
ID_LABELS = {
    RegistryIdType.USCC: "统一社会信用代码",
    RegistryIdType.RESIDENT_ID: "身份证",
    RegistryIdType.OTHER: "其他",
}
STATE_LABELS = {
    RegistrationState.ACTIVE: "有效",
    RegistrationState.EXPIRED: "已到期",
    RegistrationState.CANCELLED: "已注销",
}


def _lookup(labels: dict[T, str], *extra: tuple[str, T]) -> dict[str, T]:
    """Label -> member, from the Chinese labels, the enum values and a few short forms."""
    table = {label: member for member, label in labels.items()}
    table.update({str(member): member for member in labels})
    table.update(extra)
    return table


_KINDS = _lookup(KIND_LABELS, *((label[:2], kind) for kind, label in KIND_LABELS.items()))
_BUSINESS = _lookup(BUSINESS_LABELS, ("动产抵押", BusinessType.MOVABLES_MORTGAGE))
_PARTY_KINDS = _lookup(PARTY_KIND_LABELS)
_ID_TYPES = _lookup(
    ID_LABELS, ("居民身份证", RegistryIdType.RESIDENT_ID), ("USCC", RegistryIdType.USCC)
)
_STATES = _lookup(STATE_LABELS, ("已过期", RegistrationState.EXPIRED))


def add_months(start: date, months: int) -> date:
    """`start` plus whole months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    year, month0 = divmod(start.month - 1 + months, 12)
    year += start.year
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    last = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month0]
    return date(year, month0 + 1, min(start.day, last))


# ---------------------------------------------------------------------------------------------
# The outbound request


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


Trimmed = Annotated[str, AfterValidator(_trimmed)]


class RegistrantDetails(BaseModel):
    """The §3.3 party fields a canonical Party does not carry (all optional on the form)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    kind: RegistryPartyKind = RegistryPartyKind.ENTERPRISE
    legal_representative: Trimmed = Field(default="", max_length=100)
    industry: Trimmed = Field(default="", max_length=100)
    size: Trimmed = Field(default="", max_length=20)
    country: Trimmed = Field(default="", max_length=50)
    province: Trimmed = Field(default="", max_length=50)
    city: Trimmed = Field(default="", max_length=50)
    address: Trimmed = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _not_a_person(self) -> RegistrantDetails:
        if self.kind is RegistryPartyKind.INDIVIDUAL:
            raise ValueError("a party identified by a USCC is not an individual")
        return self


class ZhongdengRegistrationRequest(BaseModel):
    """A 保理 registration the hub files: transferor and factor, what is transferred, the term.

    Parties are canonical `Party` objects (the transferor a SELLER, the factor a FACTOR); the
    registry has no place for their ERP codes, so those are not sent.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    filer_reference: Trimmed = Field(min_length=1, max_length=64)
    """填表人归档号: the hub's financing request id (the simulator's idempotency key)."""
    kind: RegistrationKind = RegistrationKind.INITIAL
    business_type: BusinessType = BusinessType.FACTORING
    original_registration_no: Trimmed = Field(default="", max_length=32)
    assignor: Party
    assignee: Party
    assignor_details: RegistrantDetails = RegistrantDetails()
    assignee_details: RegistrantDetails = RegistrantDetails()
    property_description: Trimmed = Field(min_length=1, max_length=8000)
    period_months: int = Field(ge=1, le=360)
    main_contract: MainContract | None = None
    receivables_amount: Money | None = None
    invoices: tuple[Annotated[Trimmed, Field(min_length=1, max_length=64)], ...] = Field(
        default=(), max_length=10_000
    )
    attachments: tuple[Annotated[Trimmed, Field(min_length=1, max_length=200)], ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ZhongdengRegistrationRequest:
        reasons = []
        if self.assignor.role is not PartyRole.SELLER:
            reasons.append("the assignor (担保人) must be the SELLER")
        if self.assignee.role is not PartyRole.FACTOR:
            reasons.append("the assignee (担保权人) must be the FACTOR")
        for party in (self.assignor, self.assignee):
            if party.erp_code:
                reasons.append(f"{party.name}: the registry has no ERP code (leave it empty)")
            if party.name != party.name.strip():
                reasons.append(f"{party.name!r}: a name must not start or end with whitespace")
        if (self.kind is RegistrationKind.INITIAL) == bool(self.original_registration_no):
            reasons.append(
                "original_registration_no is required for every kind but an initial "
                "registration, and only then"
            )
        contract = self.main_contract
        if contract is not None:
            if not contract.number or contract.amount is None:
                reasons.append("a main contract needs its number and amount")
            if contract.number != contract.number.strip():
                reasons.append("the main contract number must not start or end with whitespace")
        amounts = [("receivables amount", self.receivables_amount)]
        if contract is not None:
            amounts.append(("main contract amount", contract.amount))
        for name, money in amounts:
            if money is not None and (
                money.amount <= 0 or money.amount != money.amount.quantize(FEN)
            ):
                reasons.append(f"the {name} must be positive and whole fen")
        if reasons:
            raise ValueError("; ".join(reasons))
        return self


def canonical_to_zhongdeng_request(request: ZhongdengRegistrationRequest) -> bytes:
    """The request body (UTF-8 JSON); MappingError if `request` is not a valid request."""
    return guarded(SOURCE, lambda: _write(request))


def _write(request: ZhongdengRegistrationRequest) -> bytes:
    if not isinstance(request, ZhongdengRegistrationRequest):
        raise MappingError(
            [
                Problem(
                    path="",
                    reason="must be a ZhongdengRegistrationRequest",
                    value=type(request).__name__,
                )
            ],
            source=SOURCE,
        )
    body: dict[str, Any] = {"filer_reference": request.filer_reference}
    if request.kind is not RegistrationKind.INITIAL:
        body["registration_type"] = KIND_LABELS[request.kind]
        body["original_registration_no"] = request.original_registration_no
    body["business_type"] = BUSINESS_LABELS[request.business_type]
    body["assignor"] = _party_json(request.assignor, request.assignor_details)
    body["assignee"] = _party_json(request.assignee, request.assignee_details)
    body["property_description"] = request.property_description
    body["period_months"] = request.period_months
    if request.main_contract is not None:
        body["main_contract"] = _contract_json(request.main_contract)
    if request.receivables_amount is not None:
        body["receivables_amount"] = _money_json(request.receivables_amount)
    body["invoices"] = list(request.invoices)
    if request.attachments:
        body["attachments"] = list(request.attachments)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _money_json(money: Money) -> dict[str, str]:
    return {"currency": money.currency, "amount": format(money.amount, "f")}


def _contract_json(contract: MainContract) -> dict[str, str]:
    out = {"number": contract.number}
    if contract.amount is not None:
        out.update(_money_json(contract.amount))
    if contract.starts_on is not None:
        out["term_start"] = contract.starts_on.isoformat()
    if contract.ends_on is not None:
        out["term_end"] = contract.ends_on.isoformat()
    return out


def _party_json(party: Party, details: RegistrantDetails) -> dict[str, Any]:
    out: dict[str, Any] = {"name": party.name, "uscc": party.uscc}
    if details.kind is not RegistryPartyKind.ENTERPRISE:
        out["type"] = PARTY_KIND_LABELS[details.kind]
    for key, value in (
        ("legal_representative", details.legal_representative),
        ("industry", details.industry),
        ("scale", details.size),
    ):
        if value:
            out[key] = value
    address = {
        k: v
        for k, v in (
            ("country", details.country),
            ("province", details.province),
            ("city", details.city),
            ("detail", details.address),
        )
        if v
    }
    if address:
        out["address"] = address
    return out


# ---------------------------------------------------------------------------------------------
# Reading: parties, contracts, entries


@dataclass(slots=True)
class _PartyRead:
    kind: RegistryPartyKind | None
    name: str | None
    id_type: RegistryIdType | None
    id_number: str | None
    details: dict[str, str]


def _choice(
    read: Reader, node: Node, table: dict[str, T], what: str, *, default: T | None = None
) -> T | None:
    if node.blank and default is not None:
        return default
    text = read.text(node, max_len=64)
    if text is None:
        return None
    member = table.get(text) or table.get(text.lower())
    if member is None:
        read.problems.add(node.path, f"unknown {what}", node.value)
    return member


def _read_party(read: Reader, node: Node) -> _PartyRead | None:
    if read.object(node) is None:
        return None
    kind = _choice(
        read,
        node.get("type"),
        _PARTY_KINDS,
        "party type (企业/事业单位/个人/其他)",
        default=RegistryPartyKind.ENTERPRISE,
    )
    name = read.text(node.get("name"), max_len=200)
    uscc = node.get("uscc")
    id_type: RegistryIdType | None
    if not uscc.blank or node.get("id_number").blank:
        id_type, id_number = RegistryIdType.USCC, read_uscc(read, uscc)
    else:
        id_type = _choice(
            read, node.get("id_type"), _ID_TYPES, "id type", default=RegistryIdType.USCC
        )
        id_number = read.text(node.get("id_number"), max_len=64)
        if id_type is RegistryIdType.USCC:
            id_number = read_uscc(read, node.get("id_number"))
        elif id_number is not None:
            id_number = fold_id(id_number)
    details = {}
    for key, limit in (("legal_representative", 100), ("industry", 100), ("scale", 20)):
        details[key] = read.text(node.get(key), required=False, max_len=limit) or ""
    address = node.get("address")
    if not address.blank and read.object(address) is not None:
        for key, limit in (("country", 50), ("province", 50), ("city", 50), ("detail", 300)):
            details[key] = read.text(address.get(key), required=False, max_len=limit) or ""
    return _PartyRead(kind, name, id_type, id_number, details)


def _registry_party(
    problems: Problems, party: _PartyRead | None, path: str
) -> RegistryParty | None:
    if party is None or None in (party.kind, party.name, party.id_type, party.id_number):
        return None
    values = {
        "kind": party.kind,
        "name": party.name,
        "id_type": party.id_type,
        "id_number": party.id_number,
        **_detail_values(party.details),
    }
    return _build(problems, path, RegistryParty, values)


def _detail_values(details: dict[str, str]) -> dict[str, str]:
    """The read JSON party details under the model's field names."""
    return {
        "legal_representative": details.get("legal_representative", ""),
        "industry": details.get("industry", ""),
        "size": details.get("scale", ""),
        "country": details.get("country", ""),
        "province": details.get("province", ""),
        "city": details.get("city", ""),
        "address": details.get("detail", ""),
    }


def _build(problems: Problems, path: str, model: type[M], values: dict[str, Any]) -> M | None:
    """A model from values read cleanly; a rule only the model knows becomes a problem."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems.add_validation_error(path, exc)
        return None


def _money(read: Reader, node: Node, *, required: bool) -> Money | None:
    """`{"currency", "amount"}` (currency defaults to CNY)."""
    if read.object(node, required=required) is None:
        return None
    amount = read.amount(node.get("amount"))
    currency = read_currency(read, node.get("currency"))
    if amount is None or currency is None:
        return None
    if amount.quantize(FEN) != amount:
        read.problems.add(node.get("amount").path, "must be whole fen", node.get("amount").value)
        return None
    return Money(amount=amount.quantize(FEN), currency=currency)


def _contract(read: Reader, node: Node) -> MainContract | None:
    if node.blank or read.object(node) is None:
        return None
    number = read.text(node.get("number"), required=False, max_len=100)
    amount = None
    if not node.get("amount").blank:
        amount = _money(read, node, required=True)
    starts = read.date(node.get("term_start"), required=False)
    ends = read.date(node.get("term_end"), required=False)
    if starts and ends and ends < starts:
        read.problems.add(node.get("term_end").path, "is before term_start", ends.isoformat())
    values = {"number": number or "", "amount": amount, "starts_on": starts, "ends_on": ends}
    return _build(read.problems, node.path, MainContract, values)


def _texts(read: Reader, node: Node, limit: int) -> tuple[str, ...] | None:
    items = read.array(node, required=False)
    if items is None:
        return None
    out = []
    for item in items:
        text = read.text(item, max_len=limit)
        if text is not None:
            out.append(text)
    return tuple(out)


def _registration_no(read: Reader, node: Node, *, required: bool = True) -> str | None:
    text = read.text(node, required=required, max_len=64)
    if not text:
        return text
    number = fold_id(text)
    if len(number) > 32 or not number.isascii() or not number.isalnum():
        read.problems.add(node.path, "must be up to 32 letters and digits", node.value)
        return None
    return number


def _entry_fields(read: Reader, node: Node) -> dict[str, Any] | None:
    """The public fields of a registration, or None when any is wrong (problems recorded)."""
    problems = read.problems
    before = len(problems.items)
    number = _registration_no(read, node.get("registration_no"))
    kind = _choice(
        read,
        node.get("registration_type"),
        _KINDS,
        "registration type",
        default=RegistrationKind.INITIAL,
    )
    original = _registration_no(read, node.get("original_registration_no"), required=False)
    if kind not in (None, RegistrationKind.INITIAL) and original == "":
        problems.add(
            node.get("original_registration_no").path, f"is required for a {KIND_LABELS[kind]}"
        )
    business = _choice(read, node.get("business_type"), _BUSINESS, "business type")
    registered_at = read_moment(read, node.get("registered_at"))
    period_node = node.get("period_months")
    period = read.integer(period_node) if not period_node.blank else None
    if period_node.blank:
        problems.add(period_node.path, "is required but missing")
    elif period is not None and not 1 <= period <= 360:
        problems.add(period_node.path, "must be 1 to 360 months", period_node.value)
        period = None
    expires = read.date(node.get("expires_at"))
    if registered_at and period and expires:
        expected = add_months(registered_at.astimezone(CHINA).date(), period)
        if expected != expires:
            problems.add(
                node.get("expires_at").path,
                f"is not the registration date plus {period} months ({expected.isoformat()})",
                node.get("expires_at").value,
            )
    assignor = _registry_party(
        problems, _read_party(read, node.get("assignor")), node.get("assignor").path
    )
    assignee = _registry_party(
        problems, _read_party(read, node.get("assignee")), node.get("assignee").path
    )
    fields = {
        "registration_no": number,
        "kind": kind,
        "business_type": business,
        "registered_at": registered_at,
        "period_months": period,
        "expires_on": expires,
        "original_registration_no": original or "",
        "filer_reference": read.text(node.get("filer_reference"), required=False, max_len=100),
        "assignor": assignor,
        "assignee": assignee,
        "main_contract": _contract(read, node.get("main_contract")),
        "property_description": read.text(node.get("property_description"), max_len=20000),
        "receivables_amount": _money(read, node.get("receivables_amount"), required=False),
        "invoice_numbers": _texts(read, node.get("invoices"), 64),
        "attachments": _texts(read, node.get("attachments"), 200),
        "state": _choice(read, node.get("status"), _STATES, "status")
        if not node.get("status").blank
        else None,
        "cancelled_at": read_moment(read, node.get("cancelled_at"), required=False),
    }
    if len(problems.items) > before:
        return None
    return fields


# ---------------------------------------------------------------------------------------------
# Inbound: record and search certificate


def zhongdeng_record_to_canonical(raw: bytes, *, received_at: datetime) -> RegistrationRecord:
    """A registration as the registry shows it (its receipt fields included when present)."""
    return guarded(SOURCE, lambda: _record(raw, received_at))


def _record(raw: bytes, received_at: datetime) -> RegistrationRecord:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    root = read_document(problems, raw, SOURCE)
    fields = _entry_fields(read, root)
    code = read.text(root.get("modification_code"), required=False, max_len=64)
    number = fields["registration_no"] if fields is not None else None
    origin = provenance(problems, SOURCE, number, raw, received_at)
    problems.raise_if_any(SOURCE)
    assert fields is not None  # no problem means every part was read
    assert origin is not None
    values = {**fields, "modification_code": code or "", "provenance": origin}
    record = _build(problems, "", RegistrationRecord, values)
    problems.raise_if_any(SOURCE)
    assert record is not None
    return record


def zhongdeng_search_to_canonical(raw: bytes, *, received_at: datetime) -> SearchCertificate:
    """A 查询证明: when, on what, and every registration it lists."""
    return guarded(SOURCE, lambda: _search(raw, received_at))


def _search(raw: bytes, received_at: datetime) -> SearchCertificate:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    root = read_document(problems, raw, SOURCE)
    number = read.text(root.get("certificate_no"), max_len=64)
    searched_at = read_moment(read, root.get("query_time"))
    criteria = None
    query = read.object(root.get("query"))
    if query is not None:
        name = read.text(query.get("assignor_name"), required=False, max_len=200)
        uscc = read_uscc(read, query.get("assignor_uscc"), required=False)
        reg_no = _registration_no(read, query.get("registration_no"), required=False)
        if name == "" and uscc == "" and reg_no == "":
            problems.add(query.path, "names no assignor and no registration number")
        elif None not in (name, uscc, reg_no):
            criteria = _build(
                problems,
                query.path,
                SearchCriteria,
                {"assignor_name": name, "assignor_uscc": uscc, "registration_no": reg_no},
            )
    hits = []
    entries = read.array(root.get("registrations"))
    for entry in entries or []:
        if read.object(entry) is not None:
            fields = _entry_fields(read, entry)
            if fields is not None:
                hits.append(_build(problems, entry.path, RegistrationEntry, fields))
    total = root.get("total")
    if not total.blank and entries is not None:
        count = read.integer(total)
        if count is not None and count != len(entries):
            problems.add(
                total.path, f"says {count} registrations but {len(entries)} are listed", total.value
            )
    origin = provenance(problems, SOURCE, number, raw, received_at)
    problems.raise_if_any(SOURCE)
    values = {
        "certificate_no": number,
        "searched_at": searched_at,
        "criteria": criteria,
        "hits": tuple(hits),
        "provenance": origin,
    }
    certificate = _build(problems, "", SearchCertificate, values)
    problems.raise_if_any(SOURCE)
    assert certificate is not None
    return certificate


# ---------------------------------------------------------------------------------------------
# Reading the request back (the simulator's side, and the round-trip proof)


def zhongdeng_request_from_json(raw: bytes) -> ZhongdengRegistrationRequest:
    """Read a registration request body as `canonical_to_zhongdeng_request` writes it."""
    return guarded(SOURCE, lambda: _request(raw))


def _request(raw: bytes) -> ZhongdengRegistrationRequest:
    problems = Problems()
    read = Reader(problems)
    root = read_document(problems, raw, SOURCE)
    parties: dict[str, BaseModel | None] = {}
    for key, role in (("assignor", PartyRole.SELLER), ("assignee", PartyRole.FACTOR)):
        read_party = _read_party(read, root.get(key))
        if read_party is not None and read_party.id_type not in (None, RegistryIdType.USCC):
            problems.add(root.get(key).path, "a filing party is identified by its USCC")
        elif read_party is not None and None not in (
            read_party.name,
            read_party.id_number,
            read_party.kind,
        ):
            path = root.get(key).path
            parties[key] = _build(
                problems,
                path,
                Party,
                {"name": read_party.name, "uscc": read_party.id_number, "role": role},
            )
            values = _detail_values(read_party.details)
            parties[f"{key}_details"] = _build(
                problems, path, RegistrantDetails, {"kind": read_party.kind, **values}
            )
    kind = _choice(
        read,
        root.get("registration_type"),
        _KINDS,
        "registration type",
        default=RegistrationKind.INITIAL,
    )
    period_node = root.get("period_months")
    fields: dict[str, Any] = {
        "filer_reference": read.text(root.get("filer_reference"), max_len=64),
        "kind": kind,
        "business_type": _choice(read, root.get("business_type"), _BUSINESS, "business type"),
        "original_registration_no": _registration_no(
            read, root.get("original_registration_no"), required=False
        ),
        **parties,
        "property_description": read.text(root.get("property_description"), max_len=8000),
        "period_months": read.integer(period_node) if not period_node.blank else None,
        "main_contract": _contract(read, root.get("main_contract")),
        "receivables_amount": _money(read, root.get("receivables_amount"), required=False),
        "invoices": _texts(read, root.get("invoices"), 64),
        "attachments": _texts(read, root.get("attachments"), 200),
    }
    if period_node.blank:
        problems.add(period_node.path, "is required but missing")
    problems.raise_if_any(SOURCE)
    request = _build(problems, "", ZhongdengRegistrationRequest, fields)
    problems.raise_if_any(SOURCE)
    assert request is not None
    return request


# ---------------------------------------------------------------------------------------------
# Catalogue


def recognise_record(raw: bytes) -> bool:
    return sniff_json(
        raw, b'"registration_no"', b'"property_description"', absent=(b'"certificate_no"',)
    )


def recognise_search(raw: bytes) -> bool:
    return sniff_json(raw, b'"certificate_no"', b'"query_time"', b'"registrations"')


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="zhongdeng-registration-record",
        family="registry",
        title="中登网 registration (public view or receipt) -> RegistrationRecord",
        read=lambda raw, received_at: zhongdeng_record_to_canonical(raw, received_at=received_at),
        recognise=recognise_record,
    ),
    InboundFormat(
        name="zhongdeng-search-certificate",
        family="registry",
        title="中登网 查询证明 (search certificate) -> SearchCertificate",
        read=lambda raw, received_at: zhongdeng_search_to_canonical(raw, received_at=received_at),
        recognise=recognise_search,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="zhongdeng-registration-request",
        title="中登网 保理 registration request (JSON) from a ZhongdengRegistrationRequest",
        model=ZhongdengRegistrationRequest,
        write=canonical_to_zhongdeng_request,
    ),
)
