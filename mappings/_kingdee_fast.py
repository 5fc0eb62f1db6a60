"""The Kingdee sales-invoice push read the direct way, for the documents that need no care.

Most pushes are plain: the keys spelled as documented, numbers as plain decimals, ISO dates.
This reads such a push straight from the decoded JSON, with no per-field path bookkeeping, and
builds the same drafts the careful reader does, through the same `assemble` (so the same
checks and the same canonical objects). At the first thing that is not plain — a missing or
blank required field, a number with a separator, a date in another shape, any check that
fails — it gives up (`None`), and the careful reader maps the document again and reports every
problem with its path. Equivalence with the careful reader is a tested property.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from canonical import (
    InvoiceKind,
    InvoiceStatus,
    MappingError,
    Party,
    PartyRole,
    normalise_uscc,
    uscc_problem,
)
from canonical.text import fold_identifier
from mappings._fields import MAX_ABS_INT, MISSING, PLAIN_AMOUNT, cached_rate
from mappings._invoice import (
    Figure,
    InvoiceDraft,
    Labels,
    LineDraft,
    OrderDraft,
    Origin,
    assemble,
    fingerprint,
)
from mappings._json import JsonRefused, decode_bytes, loads
from mappings._problems import Problems
from mappings._values import MAX_ABS_AMOUNT, MAX_FRACTION_DIGITS, SPACES
from mappings.erp import InvoicePush

__all__ = ["map_plain_push"]


class _Bail(Exception):
    """Not plain: leave this document to the careful reader."""


def map_plain_push(
    raw: bytes,
    received_at: datetime,
    tolerance: Decimal,
    *,
    source: str,
    kinds: dict[str, InvoiceKind],
    currencies: dict[str, str],
    labels: tuple[Labels, Labels],
) -> InvoicePush | None:
    """The push, or None when anything about it needs the careful reader."""
    try:
        return _map(raw, received_at, tolerance, source, kinds, currencies, labels)
    except (_Bail, MappingError, JsonRefused, ValueError, TypeError, AttributeError):
        return None


def _map(
    raw: bytes,
    received_at: datetime,
    tolerance: Decimal,
    source: str,
    kinds: dict[str, InvoiceKind],
    currencies: dict[str, str],
    labels: tuple[Labels, Labels],
) -> InvoicePush:
    if received_at.utcoffset() is None or not tolerance.is_finite() or tolerance < 0:
        raise _Bail
    root = _object(loads(decode_bytes(raw)))
    parameters = _get(root, "parameters")
    if parameters is MISSING:
        formid, payload = _get(root, "formid"), _get(root, "data")
    elif isinstance(parameters, list) and len(parameters) >= 2:
        formid, payload = parameters[0], parameters[1]
    else:
        raise _Bail
    kind = kinds.get(_text(formid, 64).upper())
    if kind is None:
        raise _Bail
    body = _object(loads(payload) if isinstance(payload, str) and payload.strip() else payload)
    model = _object(_get(body, "Model"))
    seller_org = _object(_get(body, "SellerOrg"))
    related = _get(body, "Related")
    related = None if related is MISSING or related is None else _object(related)

    status, blue = _status(model)
    number, code = _invoice_key(_first(model, "FIVNUMBER", "FINVOICENO"), _get(model, "FIVCODE"))
    buyer_code = _code(_get(model, "FCUSTOMERID"))
    buyer = _party(model, "FINVOICETITLE", "FTAXREGISTERCODE", PartyRole.BUYER, buyer_code)
    seller_code = _code(_get(seller_org, "FNumber")) or _code(_get(model, "FSETTLEORGID"))
    seller = _party(seller_org, "FName", "FSOCIALCRECODE", PartyRole.SELLER, seller_code)
    invoice_labels, order_labels = labels
    draft = InvoiceDraft(
        number=number,
        code=code,
        kind=kind,
        status=status,
        blue=blue,
        issue_date=_date(_first(model, "FINVOICEDATE", "FDATE")),
        due_date=_due_date(related),
        seller=seller,
        buyer=buyer,
        buyer_path="",
        currency=_currency(_get(model, "FCURRENCYID"), currencies),
        amount=_figure(_get(model, "FHEADAUXPRICEFOR")),
        tax=_figure(_get(model, "FTAXAMOUNTFOR")),
        total=_figure(_get(model, "FAFTERTOTALTAXFOR")),
        lines=[
            _line(e, i, invoice_labels, True) for i, e in enumerate(_list(model, "FSALESICENTRY"))
        ],
        lines_path="",
        labels=invoice_labels,
    )
    orders = [_order(o, buyer_code, order_labels) for o in _optional_list(related, "SAL_SaleOrder")]
    origin = Origin(
        source_system=source,
        document_id=_text(_first(model, "FBillNo", "FIVNUMBER"), 128),
        fingerprint=fingerprint(raw),
        received_at=received_at,
    )
    return assemble(Problems(), origin, draft, orders, tolerance)


def _get(obj: dict[str, Any], key: str) -> Any:
    """`obj[key]`, else the first key equal to it but for case (Kingdee mixes FNumber/FNUMBER)."""
    value = obj.get(key, MISSING)
    if value is MISSING:
        lower = key.lower()
        for actual in obj:
            if actual.lower() == lower:
                return obj[actual]
    return value


def _blank(value: Any) -> bool:
    return value is MISSING or value is None or (type(value) is str and not value.strip())


def _first(obj: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = _get(obj, key)
        if not _blank(value):
            return value
    return MISSING


def _object(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Bail
    return value


def _list(obj: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = _get(obj, key)
    if type(items) is not list or any(type(item) is not dict for item in items):
        raise _Bail
    return items


def _optional_list(obj: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    if obj is None:
        return []
    items = _get(obj, key)
    return [] if items is MISSING or items is None else _list(obj, key)


def _text(value: Any, max_len: int | None, *, required: bool = True) -> str:
    if type(value) is str:
        text = value.strip(SPACES)
        if not text.isprintable():  # a line break, or a hidden character: the reader decides
            raise _Bail
    elif type(value) is int:
        text = str(value)
    elif not required and (value is MISSING or value is None):
        return ""
    else:
        raise _Bail
    if (not text and required) or (max_len is not None and len(text) > max_len):
        raise _Bail
    return text


def _code(value: Any, *, required: bool = False) -> str:
    if type(value) is dict:
        value = _get(value, "FNumber")
    return _text(value, 64, required=required)


def _amount(value: Any) -> Decimal:
    if type(value) is str and PLAIN_AMOUNT.fullmatch(value):
        return Decimal(value)
    if type(value) is int and -MAX_ABS_INT < value < MAX_ABS_INT:
        return Decimal(value)
    if type(value) is Decimal and value.is_finite() and -MAX_ABS_AMOUNT < value < MAX_ABS_AMOUNT:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent <= MAX_FRACTION_DIGITS:
            return value
    raise _Bail


def _figure(value: Any) -> Figure:
    return Figure(_amount(value), "")


def _date(value: Any, *, required: bool = True) -> date | None:
    if not required and _blank(value):
        return None
    if type(value) is str and len(value) in (10, 19) and value[4:5] == value[7:8] == "-":
        return (
            date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()
        )
    raise _Bail


def _status(model: dict[str, Any]) -> tuple[InvoiceStatus, bool]:
    if _text(_get(model, "FDOCUMENTSTATUS"), 8).upper() != "C":
        raise _Bail
    red_blue = _get(model, "FRedBlue")
    blue = _blank(red_blue) or _text(red_blue, 8) == "0"
    cancel = _get(model, "FCancelStatus")
    cancelled = "A" if _blank(cancel) else _text(cancel, 8).upper()
    if cancelled == "B":
        return InvoiceStatus.VOID, blue
    if cancelled != "A":
        raise _Bail
    return (InvoiceStatus.NORMAL if blue else InvoiceStatus.RED_FLUSHED), blue


def _invoice_key(number: Any, code: Any) -> tuple[str, str]:
    digits = fold_identifier(_text(number, 64))
    code_digits = fold_identifier(_text(code, 64, required=False))
    plain = digits.isascii() and digits.isdigit()
    if code_digits:
        if not (code_digits.isascii() and code_digits.isdigit() and len(code_digits) in (10, 12)):
            raise _Bail
        if not plain or len(digits) != 8:
            raise _Bail
    elif not plain or len(digits) != 20:
        raise _Bail
    return digits, code_digits


def _party(obj: dict[str, Any], name: str, uscc: str, role: PartyRole, code: str) -> Party:
    title = _text(_get(obj, name), 140)
    normalised = normalise_uscc(_text(_get(obj, uscc), 64))
    if uscc_problem(normalised):
        raise _Bail
    return Party(name=title, uscc=normalised, role=role, erp_code=code)


def _currency(value: Any, currencies: dict[str, str]) -> str:
    if _blank(value):
        return "CNY"
    code = _code(value, required=True).upper()
    iso = currencies.get(code, code)
    if len(iso) != 3 or not iso.isascii() or not iso.isalpha():
        raise _Bail
    return iso


def _due_date(related: dict[str, Any] | None) -> date | None:
    plan_dates: list[date] = []
    header_dates: list[date] = []
    for receivable in _optional_list(related, "AR_receivable"):
        for plan in _optional_list(receivable, "FEntityPlan"):
            if (when := _date(_get(plan, "FENDDATE"), required=False)) is not None:
                plan_dates.append(when)
        if (when := _date(_get(receivable, "FENDDATE_H"), required=False)) is not None:
            header_dates.append(when)
    return max(plan_dates or header_dates, default=None)


def _line(entry: dict[str, Any], index: int, labels: Labels, invoice: bool) -> LineDraft:
    if invoice:
        item, qty, price, rate = "FMATERIALID", "FPRICEQTY", "FAUXPRICE", "FTAXRATE"
        order_number = _text(_get(entry, "FSALESORDERNO"), 64, required=False)
        source_type = _get(entry, "FSRCBILLTYPEID")
        if not order_number and source_type == "SAL_SaleOrder":
            order_number = _text(_get(entry, "FSRCBILLNO"), 64, required=False)
    else:
        item, qty, price, rate = "FMaterialId", "FQty", "FPrice", "FEntryTaxRate"
        order_number = ""
    seq = _get(entry, "FSeq")
    if _blank(seq):
        line_no = index + 1
    elif type(seq) is int and 0 <= seq < 10**9:
        line_no = seq
    else:
        raise _Bail
    rate_value = _get(entry, rate)
    if type(rate_value) not in (str, int, Decimal):
        raise _Bail
    return LineDraft(
        path="",
        line_no=line_no,
        item_code=_code(_get(entry, item)),
        description=_text(_get(entry, "FMATERIALNAME"), None, required=False),
        quantity=_amount(_get(entry, qty)),
        unit_price=_amount(_get(entry, price)),
        tax_rate=cached_rate(rate_value),
        amount=_figure(_get(entry, labels.amount)),
        tax=_figure(_get(entry, labels.tax)),
        total=_figure(_get(entry, labels.total)),
        order_number=order_number,
    )


def _order(order: dict[str, Any], buyer_code: str, labels: Labels) -> OrderDraft:
    customer = _code(_first(order, "FCustId", "FCUSTOMERID"))
    return OrderDraft(
        path="",
        number=_text(_get(order, "FBillNo"), 64),
        order_date=_date(_get(order, "FDate")),
        buyer_code=customer,
        same_buyer=bool(customer) and customer == buyer_code,
        lines=[_line(e, i, labels, False) for i, e in enumerate(_list(order, "FSaleOrderEntry"))],
        lines_path="",
        labels=labels,
    )
