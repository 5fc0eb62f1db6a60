"""National VAT invoice verification (发票查验, formats-inbound §3.5): the request we send, the
answer we read.

Providers mirror the official platform's inputs; the request is written as JSON with the common
field names (`invoiceType`, `invoiceCode`, `invoiceNo`, `invoiceDate` YYYYMMDD, `invoiceAmount`,
`checkCode`) and the amount rule by type: 专票 01/03/08 the amount excluding tax, 数电 31/32 the
tax-inclusive total, 普票 04/10/11/14 the last 6 digits of the 校验码 instead.

The answer is `{"code", "message" | "msg", "checkTime"?, "invoiceCode"?, "invoiceNo"?, "data"}`
where `data` holds the face data (seller `salerName`/`sellerName` ..., `invoiceAmount`,
`taxAmount`, `totalAmount`, `cancellationMark` 0/1, `redFlushMark` 0/1/2 (none/full/partial),
`abnormalMark` 0/1/2 (none/失控/异常), `detailList[]`) and is null when nothing was found; the
top-level `invoiceCode`/`invoiceNo` echo the request so a not-found answer still names its
invoice. Result codes: `0000`/`0`/`001` consistent, `002`/`003` throttled, `004`/`010` service
busy, `005` invalid request, `006` inconsistent, `009` not found, `rqerr` issued today (the
official platform's codes), plus the provider names `CheckInvoicesOverFiveYears` etc.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from canonical import Invoice, InvoiceKind, InvoiceStatus, PartyRole, Provenance
from canonical.money import Amount, Money
from canonical.text import fold_identifier
from canonical.uscc import normalise_uscc
from canonical.verification import InvoiceVerification, TaxStatus, VerificationResult
from mappings._fields import Node, Reader, read_document
from mappings._invoice import DEFAULT_TOLERANCE, check_tolerance, fingerprint
from mappings._problems import Problems, guarded, pointer, require_aware
from mappings._values import FOLD, fen
from mappings._vat import (
    LineFields,
    VatDraft,
    VatLine,
    finish,
    invoice_digits,
    kind_of_type,
    read_line,
    read_party,
)
from mappings._vat import amount as read_amount
from mappings.catalogue import InboundFormat, OutboundFormat

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "RESULT_CODES",
    "SOURCE",
    "VerificationRequest",
    "recognise_verification_answer",
    "request_for",
    "verification_answer_to_canonical",
    "verification_request_to_json",
]

SOURCE = "vat-verification"
CHINA = timezone(timedelta(hours=8))
RESULT_CODES: dict[str, VerificationResult] = {
    "0000": VerificationResult.CONSISTENT,
    "0": VerificationResult.CONSISTENT,
    "001": VerificationResult.CONSISTENT,
    "002": VerificationResult.LIMIT_EXCEEDED,
    "003": VerificationResult.LIMIT_EXCEEDED,
    "004": VerificationResult.SERVICE_ERROR,
    "005": VerificationResult.INVALID_REQUEST,
    "006": VerificationResult.INCONSISTENT,
    "009": VerificationResult.NOT_FOUND,
    "010": VerificationResult.SERVICE_ERROR,
    "rqerr": VerificationResult.NOT_YET_CHECKABLE,
    "CheckInvoiceForTheSameFrequent": VerificationResult.LIMIT_EXCEEDED,
    "CheckInvoicesOverFiveYears": VerificationResult.TOO_OLD,
    "CheckInvoicesMoreThanToday": VerificationResult.INVALID_REQUEST,
    "IllegalParameter": VerificationResult.INVALID_REQUEST,
}
"""The service's result code -> our result; `IllegalParameter.*` codes are invalid requests."""

_AMOUNT_EXCLUDING_TAX = frozenset({"01", "03", "08"})
_TOTAL = frozenset({"31", "32"})
_CHECK_CODE = frozenset({"04", "10", "11", "14"})
_MARKS: dict[str, dict[str, TaxStatus | None]] = {
    "cancellationMark": {"0": None, "1": TaxStatus.VOID},
    "redFlushMark": {"0": None, "1": TaxStatus.RED_FLUSHED, "2": TaxStatus.PARTLY_RED_FLUSHED},
    "abnormalMark": {"0": None, "1": TaxStatus.OUT_OF_CONTROL, "2": TaxStatus.ABNORMAL},
    # the other convention providers pass on (the platform's own status code, §3.5)
    "redFlushStatus": {"0": None, "1": TaxStatus.PARTLY_RED_FLUSHED, "2": TaxStatus.RED_FLUSHED},
    "invoiceStatus": {
        "0": None,
        "1": TaxStatus.OUT_OF_CONTROL,
        "2": TaxStatus.VOID,
        "7": TaxStatus.PARTLY_RED_FLUSHED,
        "8": TaxStatus.RED_FLUSHED,
    },
}
_INVOICE_STATUS = {
    TaxStatus.VOID: InvoiceStatus.VOID,
    TaxStatus.RED_FLUSHED: InvoiceStatus.RED_FLUSHED,
}
_LINE = LineFields(
    collection="detailList",
    description="goodsName",
    item_code="flbm",
    quantity="num",
    unit_price="unitPrice",
    amount="detailAmount",
    rate="taxRate",
    tax="taxAmount",
    total="",
)


def _digits(length: tuple[int, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value and not (value.isascii() and value.isdigit() and len(value) in length):
            raise ValueError(f"must be {' or '.join(map(str, length))} digits")
        return value

    return AfterValidator(check)


class VerificationRequest(BaseModel):
    """What one verification needs (factoring-domain §3.2 lists the inputs by type)."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    invoice_type: str = Field(pattern=r"^[0-9]{2,3}$")
    """01 专票, 04 普票, 08 电子专票, 10 电子普票, 11 卷票, 14 通行费, 31/32 数电专/普 ..."""
    number: Annotated[str, _digits((8, 20))]
    code: Annotated[str, _digits((10, 12))] = ""
    issue_date: date
    amount: Amount | None = None
    """Excluding tax for 01/03/08; the tax-inclusive total for 31/32; unused otherwise."""
    check_code: Annotated[str, _digits((6, 20))] = ""
    """The 校验码 (20 digits) or its last 6 digits, for 04/10/11/14."""


def verification_answer_to_canonical(
    raw: bytes,
    *,
    received_at: datetime,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    face: bool = True,
) -> InvoiceVerification:
    """Map one verification answer; raise MappingError listing every problem.

    `face=False` leaves out the invoice as the platform knows it (`invoice` is None): a caller
    that only needs the verdict (the flow) does not pay for reading every line."""
    return guarded(SOURCE, lambda: _map(raw, received_at, tolerance, face))


def verification_request_to_json(request: VerificationRequest) -> bytes:
    """The request body (UTF-8 JSON); MappingError lists every input the type needs but lacks."""
    return guarded(SOURCE, lambda: _write(request))


def request_for(invoice: Invoice) -> VerificationRequest:
    """The request that verifies `invoice`: its type from the key's shape (§3.1) and kind."""
    special = invoice.kind is InvoiceKind.SPECIAL
    if not invoice.code:
        return VerificationRequest(
            invoice_type="31" if special else "32",
            number=invoice.number,
            issue_date=invoice.issue_date,
            amount=invoice.total.amount,
        )
    if special:
        kind = "08" if len(invoice.code) == 12 else "01"
        return VerificationRequest(
            invoice_type=kind,
            number=invoice.number,
            code=invoice.code,
            issue_date=invoice.issue_date,
            amount=invoice.amount.amount,
        )
    kind = "10" if len(invoice.code) == 12 and invoice.code.endswith("11") else "04"
    return VerificationRequest(
        invoice_type=kind,
        number=invoice.number,
        code=invoice.code,
        issue_date=invoice.issue_date,
        check_code=invoice.check_code,
    )


def recognise_verification_answer(raw: bytes) -> bool:
    """A JSON object whose `code` is a verification result code and whose `data` (if any) has
    `cancellationMark` or `invoiceNo`."""
    try:
        if not isinstance(raw, bytes | bytearray) or b'"code"' not in raw[:4096]:
            return False
        document = json.loads(bytes(raw).lstrip(b"\xef\xbb\xbf"))
        code = document.get("cyjgdm", document.get("code")) if isinstance(document, dict) else None
        if not isinstance(document, dict) or _result(str(code)) is None:
            return False
        data = document.get("data")
        if data is None:
            return "invoiceNo" in document
        return isinstance(data, dict) and ("cancellationMark" in data or "invoiceNo" in data)
    except Exception:  # recognise never raises
        return False


def _read(raw: bytes, received_at: datetime) -> InvoiceVerification:
    return verification_answer_to_canonical(raw, received_at=received_at)


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="vat-verification-answer",
        family="vat",
        title="National invoice verification answer (JSON) -> InvoiceVerification",
        read=_read,
        recognise=recognise_verification_answer,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="vat-verification-request",
        title="National invoice verification request (JSON) from VerificationRequest",
        model=VerificationRequest,
        write=verification_request_to_json,
    ),
)


def _result(code: str) -> VerificationResult | None:
    if code.startswith("IllegalParameter"):
        return VerificationResult.INVALID_REQUEST
    return RESULT_CODES.get(code)


def _write(request: VerificationRequest) -> bytes:
    problems = Problems()
    kind = request.invoice_type
    if kind in _TOTAL:
        if request.code:
            problems.add("code", "a 数电 invoice (31/32) has no invoice code", request.code)
        if len(request.number) != 20:
            problems.add("number", "a 数电 invoice number must be 20 digits", request.number)
    else:
        if not request.code:
            problems.add("code", f"is required for invoice type {kind}")
        if len(request.number) != 8:
            problems.add("number", "a legacy invoice number must be 8 digits", request.number)
    amount = ""
    if kind in _AMOUNT_EXCLUDING_TAX or kind in _TOTAL:
        what = "the tax-inclusive total" if kind in _TOTAL else "the amount excluding tax"
        if request.amount is None:
            problems.add("amount", f"is required for invoice type {kind}: {what}")
        elif request.amount == 0:
            problems.add("amount", "must not be zero", request.amount)
        else:
            amount = f"{fen(request.amount):f}"
    check_code = ""
    if kind in _CHECK_CODE:
        if not request.check_code:
            problems.add(
                "check_code",
                f"is required for invoice type {kind}: the last 6 digits of the 校验码",
            )
        check_code = request.check_code[-6:]
    problems.raise_if_any(SOURCE)
    body = {
        "invoiceType": kind,
        "invoiceCode": request.code,
        "invoiceNo": request.number,
        "invoiceDate": request.issue_date.strftime("%Y%m%d"),
        "invoiceAmount": amount,
        "checkCode": check_code,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _map(
    raw: bytes, received_at: datetime, tolerance: Decimal, face: bool = True
) -> InvoiceVerification:
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, SOURCE)
    # A provider wraps the platform's 查验结果代码 (`cyjgdm`) in its own `code`; the platform's
    # code is the one with a fixed meaning, so it wins when both are there.
    code_node = root.first("cyjgdm", "code")
    code = read.text(code_node, max_len=64)
    result = None
    if code is not None:
        result = _result(code)
        if result is None:
            problems.add(code_node.path, "is not a known verification result code", code)
    message = read.text(root.first("message", "msg"), required=False, max_len=500) or ""
    checked_at = _checked_at(read, root.get("checkTime"), received_at)
    data = read.object(root.get("data"), required=result is VerificationResult.CONSISTENT)
    source = data if data is not None else root
    code_text = read.text(source.get("invoiceCode"), required=False, max_len=64)
    number_node = source.get("invoiceNo")
    legacy_code = None
    if code_text:
        legacy_code = invoice_digits(
            problems, code_text, source.get("invoiceCode").path, (10, 12), "a legacy invoice code"
        )
    number = invoice_digits(
        problems,
        read.text(number_node, max_len=64),
        number_node.path,
        (8,) if code_text else (20,),
        "a legacy invoice number" if code_text else "a 数电 invoice number",
    )
    status = _status(read, data) if data is not None else None
    count_node = data.get("checkCount") if data is not None else Node(None, "")
    count = None if count_node.blank else read.integer(count_node)
    seller_tax_no = buyer_tax_no = ""
    red_total = None
    if data is not None:
        seller_tax_no = _tax_no(read, data.first("salerTaxNo", "sellerTaxNo"))
        buyer_tax_no = _tax_no(read, data.get("buyerTaxNo"))
        if status is TaxStatus.PARTLY_RED_FLUSHED:
            red_total = _red_total(problems, read, data.get("redInvoices"))
    invoice = None
    if face and data is not None and result is VerificationResult.CONSISTENT:
        invoice = _invoice(
            problems, read, data, raw, received_at, tolerance, status, number, legacy_code
        )
    problems.raise_if_any(SOURCE)
    key = f"{legacy_code or ''}{number}"
    try:
        return InvoiceVerification(
            invoice_key=key,
            result=result or VerificationResult.SERVICE_ERROR,
            result_code=code or "",
            message=message,
            status=status or (TaxStatus.NORMAL if data is not None else None),
            invoice=invoice,
            checked_at=checked_at or received_at,
            check_count=count,
            seller_tax_no=seller_tax_no,
            buyer_tax_no=buyer_tax_no,
            red_total=None if red_total is None else Money(amount=red_total, currency="CNY"),
            provenance=Provenance(
                source_system=SOURCE,
                source_document_id=key,
                fingerprint=fingerprint(raw),
                received_at=received_at,
            ),
        )
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(SOURCE)
        raise


def _tax_no(read: Reader, node: Node) -> str:
    """A 税号 (the USCC for an enterprise), folded to half-width capitals; "" when absent."""
    text = read.text(node, required=False, max_len=20) or ""
    return normalise_uscc(text)


def _red_total(problems: Problems, read: Reader, node: Node) -> Decimal | None:
    """部分红冲: the red-letter invoices' totals (negative as issued, or positive), as the
    positive amount they take off; None when the service lists none."""
    items = read.array(node, required=False)
    if not items:
        return None
    total = Decimal("0.00")
    for item in items:
        value = read_amount(problems, _texts(item.value), "totalAmount", item.path)
        if value is not None:
            total += abs(value)
    return total


def _checked_at(read: Reader, node: Node, received_at: datetime) -> datetime | None:
    """`checkTime` as China local time (`YYYY-MM-DD HH:MM:SS` or `YYYYMMDDHHMMSS`)."""
    text = read.text(node, required=False, max_len=32)
    if not text:
        return received_at
    folded = text.translate(FOLD)
    for shape in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(folded, shape).replace(tzinfo=CHINA)
        except ValueError:
            continue
    read.problems.add(node.path, "is not a time (expected YYYY-MM-DD HH:MM:SS)", text)
    return None


def _status(read: Reader, data: Node) -> TaxStatus | None:
    """The most severe of the marks: void, then red-flushed, then out of control."""
    found: list[TaxStatus] = []
    for key, meanings in _MARKS.items():
        node = data.get(key)
        if node.blank:
            continue
        value = read.text(node, max_len=4)
        if value is None:
            continue
        if value not in meanings:
            read.problems.add(node.path, f"must be one of {', '.join(meanings)}", node.value)
        elif meanings[value] is not None:
            found.append(meanings[value])  # type: ignore[arg-type]  # None excluded above
    return found[0] if found else None


def _invoice(
    problems: Problems,
    read: Reader,
    data: Node,
    raw: bytes,
    received_at: datetime,
    tolerance: Decimal,
    status: TaxStatus | None,
    number: str | None,
    code: str | None,
) -> Invoice | None:
    """The face data as a canonical Invoice (its problems are collected with the rest)."""
    type_node = data.get("invoiceType")
    kind_code = read.text(type_node, max_len=8)
    kind = None
    if kind_code is not None:
        kind = kind_of_type(kind_code)
        if kind is None:
            problems.add(
                type_node.path,
                "is not a VAT invoice type this hub maps (01/08/31 专票, 04/10/11/14/32 普票)",
                kind_code,
            )
    seller_name, seller_id = (
        data.first("salerName", "sellerName"),
        data.first("salerTaxNo", "sellerTaxNo"),
    )
    buyer_name, buyer_id = data.get("buyerName"), data.get("buyerTaxNo")
    fields = _texts(data.value)
    lines = _lines(problems, read, data.get("detailList"), tolerance)
    net = read_amount(problems, fields, "invoiceAmount", data.path)
    total = read_amount(problems, fields, "totalAmount", data.path)
    check_node = data.get("checkCode")
    check_code = read.text(check_node, required=False, max_len=64) or ""
    check_code = fold_identifier(check_code)
    if check_code and not (check_code.isdigit() and len(check_code) == 20):
        check_code = ""  # some services return only the last 6 digits: not the full 校验码
    draft = VatDraft(
        source=SOURCE,
        base=data.path,
        number=number,
        code=code or "",
        kind=kind,
        blue=not (total is not None and total < 0),
        issue_date=read.date(data.get("invoiceDate")),
        seller=read_party(
            problems,
            _text(seller_name.value),
            seller_name.path,
            _text(seller_id.value),
            seller_id.path,
            PartyRole.SELLER,
        ),
        buyer=read_party(
            problems,
            _text(buyer_name.value),
            buyer_name.path,
            _text(buyer_id.value),
            buyer_id.path,
            PartyRole.BUYER,
        ),
        buyer_path=buyer_id.path,
        amount=net,
        amount_path=pointer(data.path, "invoiceAmount"),
        tax=read_amount(problems, fields, "taxAmount", data.path),
        tax_path=pointer(data.path, "taxAmount"),
        total=total,
        total_path=pointer(data.path, "totalAmount"),
        lines=lines,
        lines_path=pointer(data.path, "detailList"),
        names=_LINE,
        check_code=check_code,
        reverses_required=False,
        status=_INVOICE_STATUS.get(status) if status else InvoiceStatus.NORMAL,
    )
    return finish(problems, draft, raw, received_at, tolerance)


def _lines(
    problems: Problems, read: Reader, node: Node, tolerance: Decimal
) -> list[VatLine] | None:
    items = read.array(node, required=False)
    if items is None:
        return None
    lines = []
    for item in items:
        if read.object(item) is None or not isinstance(item.value, dict):
            continue
        lines.append(read_line(problems, _texts(item.value), item.path, _LINE, tolerance))
    return lines


_MAX_EXPONENT = 32
"""A JSON fraction written with a larger exponent is passed on in scientific notation (and
refused as an amount) rather than expanded."""


def _texts(value: object) -> dict[str, str]:
    """A JSON object's values as the texts the VAT readers take (null is absent; fractions
    were decoded as Decimal, so their digits are exact)."""
    texts: dict[str, str] = {}
    if not isinstance(value, dict):
        return texts
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, str):
            texts[key] = item.strip()
        elif isinstance(item, bool):
            texts[key] = "<boolean>"
        elif isinstance(item, Decimal):
            # fixed-point only when short: `f"{Decimal('1E-999999999'):f}"` is a 1 GB string
            exponent = item.as_tuple().exponent
            plain = isinstance(exponent, int) and -_MAX_EXPONENT <= exponent <= _MAX_EXPONENT
            texts[key] = f"{item:f}" if plain else str(item)
        elif isinstance(item, int):
            texts[key] = str(item)
        else:
            texts[key] = "<object>" if isinstance(item, dict) else "<array>"
    return texts


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) else None
