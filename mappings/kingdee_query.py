"""Kingdee K/3 Cloud answers -> canonical: View (one bill) and ExecuteBillQuery (rows of bills).

formats-inbound §2.4. A View answer is `{"Result": {"ResponseStatus": ..., "Result": {bill}}}`
with ORM names (no `F` prefix, base data as `{"Id", "Number", "Name": [{Key, Value}]}`); the
form is the bill's `FFormId` unless the caller names it. An ExecuteBillQuery answer is a bare
array of rows, one per entry line (header values repeat), columns in the order of the FieldKeys
the caller asked for: the reader takes them as a parameter (default: `DEFAULT_FIELD_KEYS`).
Forms: IV_SALESIC / IV_SALESOC -> InvoicePush (the seller's tax number is not in these answers,
so the caller passes the seller `Party`), AR_receivable -> ReceivableBill, SAL_SaleOrder ->
PurchaseOrder. A refused call (`ResponseStatus.IsSuccess` false, also wrapped as `[[{...}]]` in
a query answer) is a MappingError with one problem per `Errors[]` entry, at its pointer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from canonical import InvoiceKind, Party, PartyRole, PurchaseOrder, ReceivableBill
from mappings._fields import Node, Reader, read_document, tax_invoice_key
from mappings._invoice import (
    DEFAULT_TOLERANCE,
    Checker,
    Figure,
    InvoiceDraft,
    Labels,
    Origin,
    assemble,
    check_line_tax,
    check_tolerance,
    fingerprint,
)
from mappings._json import JsonRefused, decode_bytes, loads
from mappings._kingdee_common import (
    SOURCE,
    LineKeys,
    RowNode,
    ViewNode,
    read_lines,
    sniff_json,
)
from mappings._problems import Problems, guarded, pointer, require_aware
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush
from mappings.kingdee import bill_status, kingdee_currency
from mappings.kingdee_order import order_from_bill
from mappings.kingdee_receivable import receivable_from_bill

__all__ = [
    "DEFAULT_FIELD_KEYS",
    "INBOUND",
    "BillQueryResult",
    "KingdeeDocument",
    "kingdee_bill_query_to_canonical",
    "kingdee_view_to_canonical",
]

KingdeeDocument = InvoicePush | ReceivableBill | PurchaseOrder
"""What one K/3 bill maps to, by form."""

INVOICE_LINES = LineKeys(
    entity="FSALESICENTRY",
    item="FMATERIALID",
    names=("FMATERIALNAME", "FMATERIALID.FName"),
    quantity="FPRICEQTY",
    price="FAUXPRICE",
    rate="FTAXRATE",
    amount="FAMOUNTFOR",
    tax="FDETAILTAXAMOUNTFOR",
    total="FALLAMOUNTFOR",
    orders=("FSALESORDERNO",),
)
_INVOICE_LABELS = Labels("FSALESICENTRY", "FAMOUNTFOR", "FDETAILTAXAMOUNTFOR", "FALLAMOUNTFOR")
_INVOICE_KINDS = {"IV_SALESIC": InvoiceKind.SPECIAL, "IV_SALESOC": InvoiceKind.ORDINARY}
_FORMS = {
    "IV_SALESIC": "IV_SALESIC",
    "IV_SALESOC": "IV_SALESOC",
    "AR_RECEIVABLE": "AR_receivable",
    "SAL_SALEORDER": "SAL_SaleOrder",
}

_INVOICE_KEYS = (
    "FID,FBillNo,FDATE,FDOCUMENTSTATUS,FCancelStatus,FRedBlue,FIVCODE,FIVNUMBER,FINVOICEDATE,"
    "FCUSTOMERID.FNumber,FINVOICETITLE,FTAXREGISTERCODE,FSETTLEORGID.FNumber,"
    "FCURRENCYID.FNumber,FHEADAUXPRICEFOR,FTAXAMOUNTFOR,FAFTERTOTALTAXFOR,FMATERIALID.FNumber,"
    "FMATERIALNAME,FPRICEQTY,FAUXPRICE,FTAXRATE,FAMOUNTFOR,FDETAILTAXAMOUNTFOR,FALLAMOUNTFOR,"
    "FSALESORDERNO,FSRCBILLTYPEID,FSRCBILLNO"
)
DEFAULT_FIELD_KEYS: Mapping[str, str] = {
    "AR_receivable": (
        "FID,FBillNo,FDATE,FDOCUMENTSTATUS,FCancelStatus,FENDDATE_H,FCUSTOMERID.FNumber,"
        "FSETTLEORGID.FNumber,FCURRENCYID.FNumber,FALLAMOUNTFOR,FNoTaxAmountFor,FTaxAmountFor,"
        "FMATERIALID.FNumber,FMaterialDesc,FPriceQty,FPrice,FEntryTaxRate,FNoTaxAmountFor_D,"
        "FTAXAMOUNTFOR_D,FALLAMOUNTFOR_D,FORDERNUMBER,FSRCBILLTYPEID,FSRCBILLNO"
    ),
    "SAL_SaleOrder": (
        "FID,FBillNo,FDate,FDocumentStatus,FCancelStatus,FCustId.FNumber,FLocalCurrId.FNumber,"
        "FMaterialId.FNumber,FMaterialName,FQty,FPrice,FEntryTaxRate,FAmount,FTaxAmount,FAllAmount"
    ),
    "IV_SALESIC": _INVOICE_KEYS,
    "IV_SALESOC": _INVOICE_KEYS,
}
"""The FieldKeys each form's query is expected to ask for (header columns, then one entry)."""

_ENTRY_COLUMNS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "AR_receivable": {
        "fentitydetail": frozenset(
            {
                "fmaterialid",
                "fmaterialdesc",
                "fmaterialname",
                "fpriceqty",
                "fprice",
                "ftaxprice",
                "fentrytaxrate",
                "fnotaxamountfor_d",
                "ftaxamountfor_d",
                "fallamountfor_d",
                "fordernumber",
                "fsrcbilltypeid",
                "fsrcbillno",
                "fisfree",
            }
        ),
        "fentityplan": frozenset({"fenddate", "fpayrate", "fpayamountfor"}),
    },
    "SAL_SaleOrder": {
        "fsaleorderentry": frozenset(
            {
                "fmaterialid",
                "fmaterialname",
                "fqty",
                "fprice",
                "ftaxprice",
                "fentrytaxrate",
                "famount",
                "ftaxamount",
                "fallamount",
                "fdeliverydate",
            }
        ),
    },
    "IV_SALESIC": {
        "fsalesicentry": frozenset(
            {
                "fmaterialid",
                "fmaterialname",
                "fpriceqty",
                "fauxprice",
                "fauxtaxprice",
                "ftaxrate",
                "famountfor",
                "fdetailtaxamountfor",
                "fallamountfor",
                "fsalesorderno",
                "fsrcbilltypeid",
                "fsrcbillno",
            }
        ),
    },
}
_REQUIRED_COLUMNS = {
    "AR_receivable": ("FBillNo", "FDATE", "FDOCUMENTSTATUS", "FCUSTOMERID", "FALLAMOUNTFOR"),
    "SAL_SaleOrder": ("FBillNo", "FDate", "FDocumentStatus", "FCustId"),
    "IV_SALESIC": (
        "FBillNo",
        "FDOCUMENTSTATUS",
        "FIVNUMBER",
        "FINVOICEDATE",
        "FINVOICETITLE",
        "FTAXREGISTERCODE",
        "FHEADAUXPRICEFOR",
        "FTAXAMOUNTFOR",
        "FAFTERTOTALTAXFOR",
    ),
}
_VIEW_ALIASES: Mapping[str, tuple[str, ...]] = {
    # ORM names of the 应收单 sub-entities as seen in BOS plug-ins ([L]: no View sample found)
    "FEntityDetail": ("AR_RECEIVABLEENTRY", "EntityDetail"),
    "FEntityPlan": ("AR_RECEIVABLEPLAN", "EntityPlan"),
    "FsubHeadFinc": ("AR_RECEIVABLEFIN", "subHeadFinc"),
    "FSALESICENTRY": ("SALESICENTRY", "SALESOCENTRY", "SaleSicEntry", "SaleSocEntry"),
}
_MSG_CODES = {
    0: "default",
    1: "context lost (session expired)",
    2: "no permission",
    3: "empty operation",
    4: "exception",
    5: "empty form id",
    6: "database failure",
    7: "licence",
    8: "parameter error",
    9: "field or value does not exist",
    10: "no data",
    11: "validation failed",
    12: "not operable",
    13: "network-control conflict",
    14: "call limit reached",
    15: "administrator login forbidden",
}


@dataclass(frozen=True)
class BillQueryResult:
    """The bills of one ExecuteBillQuery answer, in the order of their first row."""

    form_id: str
    documents: tuple[KingdeeDocument, ...] = ()


def kingdee_view_to_canonical(
    raw: bytes,
    *,
    received_at: datetime,
    form_id: str | None = None,
    seller: Party | None = None,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> KingdeeDocument:
    """Map a View answer (the bill's `FFormId`, or `form_id`); raise MappingError on any problem."""
    return guarded(SOURCE, lambda: _view(raw, received_at, form_id, seller, tolerance))


def kingdee_bill_query_to_canonical(
    raw: bytes,
    *,
    received_at: datetime,
    form_id: str = "AR_receivable",
    field_keys: str | Sequence[str] | None = None,
    seller: Party | None = None,
    tolerance: Decimal = DEFAULT_TOLERANCE,
) -> BillQueryResult:
    """Map an ExecuteBillQuery answer whose columns are `field_keys` (default: the form's)."""
    return guarded(SOURCE, lambda: _query(raw, received_at, form_id, field_keys, seller, tolerance))


class _Context:
    """What every bill of one answer shares: problems, the bytes' SM3, the time, the seller."""

    def __init__(
        self, raw: bytes, received_at: datetime, seller: Party | None, tolerance: Decimal
    ) -> None:
        self.problems = Problems()
        self.read = Reader(self.problems)
        require_aware(self.problems, "received_at", received_at)
        self.tolerance = check_tolerance(self.problems, tolerance)
        self.received_at = received_at
        self.fingerprint = fingerprint(raw) if isinstance(raw, bytes | bytearray) else ""
        if seller is not None and not isinstance(seller, Party):
            self.problems.add("seller", "must be a canonical Party", seller)
            seller = None
        self.seller = seller
        self.invoices: list[tuple[InvoiceDraft, Origin]] = []

    def bill(self, form: str, bill: Node) -> KingdeeDocument | InvoiceDraft | None:
        if form == "AR_receivable":
            return receivable_from_bill(
                self.read,
                bill,
                body=None,
                fingerprint=self.fingerprint,
                received_at=self.received_at,
                tolerance=self.tolerance,
            )
        if form == "SAL_SaleOrder":
            return order_from_bill(
                self.read,
                bill,
                body=None,
                fingerprint=self.fingerprint,
                received_at=self.received_at,
                tolerance=self.tolerance,
            )
        return self._invoice(form, bill)

    def _invoice(self, form: str, bill: Node) -> InvoiceDraft:
        read = self.read
        status, blue = bill_status(read, bill)
        number, code = tax_invoice_key(
            read, bill.first("FIVNUMBER", "FINVOICENO"), bill.get("FIVCODE")
        )
        customer = bill.get("FCUSTOMERID")
        buyer_uscc = bill.get("FTAXREGISTERCODE")
        buyer = read.party(
            bill.get("FINVOICETITLE"), buyer_uscc, PartyRole.BUYER, read.code(customer) or ""
        )
        if self.seller is None:
            read.problems.add(
                bill.get("FSETTLEORGID").path,
                "a K/3 answer does not carry the "
                "seller's name and 统一社会信用代码: pass the seller Party",
            )
        lines = read_lines(read, bill, INVOICE_LINES)
        check_line_tax(read.problems, lines or (), self.tolerance)
        draft = InvoiceDraft(
            number=number,
            code=code,
            kind=_INVOICE_KINDS[form],
            status=status,
            blue=blue,
            issue_date=read.date(bill.first("FINVOICEDATE", "FDATE")),
            due_date=None,
            seller=self.seller,
            buyer=buyer,
            buyer_path=buyer_uscc.path,
            currency=kingdee_currency(read, bill.get("FCURRENCYID")),
            amount=_figure(read, bill.get("FHEADAUXPRICEFOR")),
            tax=_figure(read, bill.get("FTAXAMOUNTFOR")),
            total=_figure(read, bill.get("FAFTERTOTALTAXFOR")),
            lines=lines,
            lines_path=bill.get("FSALESICENTRY").path,
            labels=_INVOICE_LABELS,
        )
        Checker(self.problems, self.tolerance).invoice(draft)
        self.invoices.append(
            (
                draft,
                Origin(
                    source_system=SOURCE,
                    document_id=read.text(bill.first("FBillNo", "FIVNUMBER"), max_len=128),
                    fingerprint=self.fingerprint,
                    received_at=self.received_at,
                ),
            )
        )
        return draft

    def finish(
        self, found: Iterable[KingdeeDocument | InvoiceDraft | None]
    ) -> list[KingdeeDocument]:
        """Every bill's problems at once, or the documents (invoices assembled last)."""
        found = list(found)
        self.problems.raise_if_any(SOURCE)
        assembled = iter(
            [
                assemble(self.problems, origin, draft, (), self.tolerance)
                for draft, origin in self.invoices
            ]
        )
        return [
            next(assembled) if isinstance(item, InvoiceDraft) else _present(item) for item in found
        ]


def _view(
    raw: bytes, received_at: datetime, form_id: str | None, seller: Party | None, tolerance: Decimal
) -> KingdeeDocument:
    context = _Context(raw, received_at, seller, tolerance)
    read = context.read
    root = read_document(context.problems, raw, SOURCE, fold=True)
    result = read.object(root.get("Result"))
    if result is not None and not _refused(read, result.get("ResponseStatus")):
        document = read.object(result.get("Result"))
        if document is not None:
            form_node = (
                document.first("FFormId", "FormId") if form_id is None else Node(form_id, "form_id")
            )
            form = _form(read, form_node)
            if form is not None:
                bill = ViewNode(document.value, document.path, True, _VIEW_ALIASES)
                (mapped,) = context.finish([context.bill(form, bill)])
                return mapped
    context.problems.raise_if_any(SOURCE)
    raise AssertionError("unreachable")  # every branch above that maps nothing records why


def _query(
    raw: bytes,
    received_at: datetime,
    form_id: str,
    field_keys: object,
    seller: Party | None,
    tolerance: Decimal,
) -> BillQueryResult:
    context = _Context(raw, received_at, seller, tolerance)
    read, problems = context.read, context.problems
    form = _form(read, Node(form_id, "form_id"))
    keys = _field_keys(problems, form, field_keys)
    try:
        root = loads(decode_bytes(raw))
    except JsonRefused as exc:
        problems.add("", str(exc))
        problems.raise_if_any(SOURCE)
        raise
    node = Node(root, "", fold=True)
    if isinstance(root, dict):  # a refusal sent as the bare envelope
        result = read.object(node.get("Result"))
        if result is None or not _refused(read, result.get("ResponseStatus")):
            problems.add("", "must be a JSON array of rows", root)
    elif not isinstance(root, list):
        problems.add("", "must be a JSON array of rows", root)
    elif root and isinstance(root[0], list) and root[0] and isinstance(root[0][0], dict):
        first = Node(root[0][0], "/0/0", fold=True)  # `[[{"Result": {...}}]]`: a refusal
        result = read.object(first.get("Result"))
        if result is None or not _refused(read, result.get("ResponseStatus")):
            problems.add("/0/0", "must be a row of values, not an object", root[0][0])
    problems.raise_if_any(SOURCE)
    if form is None or keys is None or not isinstance(root, list):
        raise AssertionError("unreachable")  # each of these recorded a problem
    bills = _bills(read, form, keys, root)
    problems.raise_if_any(SOURCE)  # a bill missing a row would only add false sum mismatches
    found = [context.bill(form, bill) for bill in bills]
    return BillQueryResult(form_id=form, documents=tuple(context.finish(found)))


def _field_keys(problems: Problems, form: str | None, given: object) -> list[str] | None:
    if form is None:
        return None
    if given is None:
        given = DEFAULT_FIELD_KEYS[form]
    if isinstance(given, str):
        given = given.split(",")
    if not isinstance(given, list | tuple) or not all(isinstance(k, str) for k in given):
        problems.add("field_keys", "must be a comma-separated string or a list of keys", given)
        return None
    keys = [key.strip() for key in given]
    lower = {key.lower() for key in keys}
    bases = {key.split(".")[0] for key in lower}
    for needed in _REQUIRED_COLUMNS[_family(form)]:
        if needed.lower() not in bases:
            problems.add("field_keys", f"must include {needed}", ",".join(keys))
    entities = [e for e, cols in _ENTRY_COLUMNS[_family(form)].items() if cols & bases]
    if len(entities) > 1:
        problems.add(
            "field_keys",
            "must not mix fields of two entry collections ("
            + " and ".join(entities)
            + "): the rows would multiply",
            ",".join(keys),
        )
    if len(lower) != len(keys) or "" in lower:
        problems.add("field_keys", "must not repeat a key or hold an empty one", ",".join(keys))
    return keys


def _bills(read: Reader, form: str, keys: list[str], rows: list[object]) -> list[RowNode]:
    """One RowNode per bill: rows grouped by FID (else FBillNo), in order of first appearance."""
    lower = [key.lower() for key in keys]
    entity = next(
        (
            e
            for e, cols in _ENTRY_COLUMNS[_family(form)].items()
            if cols & {key.split(".")[0] for key in lower}
        ),
        None,
    )
    group_at = lower.index("fid") if "fid" in lower else lower.index("fbillno")
    grouped: dict[object, list[RowNode]] = {}
    for index, row in enumerate(rows):
        path = pointer("", index)
        if not isinstance(row, list):
            read.problems.add(path, "must be an array of values (a row)", row)
            continue
        if len(row) != len(keys):
            read.problems.add(
                path, f"has {len(row)} values but {len(keys)} FieldKeys were asked for", len(row)
            )
            continue
        cells = {
            key: Node(value, pointer(path, i))
            for i, (key, value) in enumerate(zip(lower, row, strict=True))
        }
        group = row[group_at]
        if isinstance(group, list | dict):
            read.problems.add(pointer(path, group_at), "must be a bill id or number", group)
            continue
        grouped.setdefault(group, []).append(RowNode(cells, {}, row, path))
    entry_columns = _ENTRY_COLUMNS[_family(form)].get(entity or "", frozenset())
    header = [i for i, key in enumerate(lower) if key.split(".")[0] not in entry_columns]
    bills = []
    for members in grouped.values():
        first = members[0]
        _same_header(read, first, members[1:], header)
        groups: dict[str, list[Node]] = {entity: [*members]} if entity else {}
        bills.append(RowNode(first.cells, groups, first.value, first.path))
    return bills


def _same_header(read: Reader, first: RowNode, others: list[RowNode], header: list[int]) -> None:
    """A bill's header columns repeat on each of its rows; a row that differs is contradictory."""
    expected = first.value
    if not isinstance(expected, list):
        return
    for row in others:
        values = row.value
        if not isinstance(values, list):
            continue
        for i in header:
            if values[i] != expected[i]:
                read.problems.add(
                    pointer(row.path, i),
                    f"differs from the bill's first row "
                    f"({pointer(first.path, i)}): header fields must repeat",
                    values[i],
                )


def _refused(read: Reader, status: Node) -> bool:
    """Whether a ResponseStatus says the call failed; one problem per Errors[] entry if so."""
    if not isinstance(status.value, dict):
        return False
    success = status.get("IsSuccess")
    if success.value is not False and str(success.value).lower() != "false":
        return False
    code = status.get("MsgCode").value
    meaning = _MSG_CODES.get(code) if isinstance(code, int) else None
    suffix = f"; MsgCode {code}: {meaning}" if meaning else ""
    errors = read.array(status.get("Errors"), required=False) or []
    for error in errors:
        field, message = error.get("FieldName").value, error.get("Message").value
        index = error.get("DIndex").value
        where = ", ".join(
            part
            for part in (
                f"field {field}" if isinstance(field, str) and field else "",
                f"DIndex {index}" if isinstance(index, int) else "",
            )
            if part
        )
        text = message if isinstance(message, str) and message else "no message"
        read.problems.add(
            error.path,
            f"Kingdee refused the call: {text}"
            + (f" ({where}{suffix})" if where or suffix else ""),
            field if isinstance(field, str) else None,
        )
    if not errors:
        error_code = status.get("ErrorCode").value
        read.problems.add(
            status.path,
            f"Kingdee refused the call (ErrorCode {error_code}{suffix}) without listing errors",
            error_code,
        )
    return True


def _form(read: Reader, node: Node) -> str | None:
    text = read.text(node, max_len=64)
    if text is None:
        return None
    form = _FORMS.get(text.upper())
    if form is None:
        read.problems.add(
            node.path, "must be IV_SALESIC, IV_SALESOC, AR_receivable or SAL_SaleOrder", node.value
        )
    return form


def _family(form: str) -> str:
    return "IV_SALESIC" if form == "IV_SALESOC" else form


def _figure(read: Reader, node: Node) -> Figure:
    return Figure(read.amount(node), node)


def _present(item: KingdeeDocument | InvoiceDraft | None) -> KingdeeDocument:
    if item is None or isinstance(item, InvoiceDraft):  # only after a recorded problem
        raise AssertionError("a bill with no recorded problem was not mapped")
    return item


def _looks_like_view(raw: bytes) -> bool:
    root = sniff_json(raw)
    result = root.get("Result") if isinstance(root, dict) else None
    return isinstance(result, dict) and isinstance(result.get("Result"), dict)


def _looks_like_query(raw: bytes) -> bool:
    root = sniff_json(raw)
    return isinstance(root, list) and bool(root) and all(isinstance(row, list) for row in root)


INBOUND = (
    InboundFormat(
        name="kingdee-view-response",
        family="kingdee",
        title="Kingdee K/3 Cloud View answer (AR_receivable, SAL_SaleOrder; invoices need a "
        "seller) -> receivable bill / purchase order",
        read=lambda raw, at: kingdee_view_to_canonical(raw, received_at=at),
        recognise=_looks_like_view,
    ),
    InboundFormat(
        name="kingdee-bill-query-response",
        family="kingdee",
        title="Kingdee K/3 Cloud ExecuteBillQuery answer for AR_receivable with the default "
        "FieldKeys -> receivable bills",
        read=lambda raw, at: kingdee_bill_query_to_canonical(raw, received_at=at),
        recognise=_looks_like_query,
    ),
)
