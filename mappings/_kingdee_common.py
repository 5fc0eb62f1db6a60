"""Shared by the Kingdee K/3 Cloud bill mappers (应收单, 销售订单, View and query answers).

A bill is read through its Save-model field keys (`FBillNo`, `FEntityDetail`, ...) whatever the
wire shape: `SaveNode` walks a Save `Model`, `ViewNode` a View answer's ORM names (no `F`
prefix, base data as `{"Number": ...}`, one-row sub-entities as one-element arrays) and
`mappings.kingdee_query` adds a node over ExecuteBillQuery rows. A dotted key
(`FsubHeadFinc.FNoTaxAmountFor`) walks into a sub-entity. Problem paths stay true JSON pointers
into the body as received.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from canonical import Party, PartyRole
from mappings._fields import MISSING, Node, Reader, read_document
from mappings._invoice import (
    Checker,
    Figure,
    LineDraft,
    OrderDraft,
    check_line_tax,
    check_tolerance,
    fingerprint,
)
from mappings._problems import Problems, pointer, require_aware
from mappings._values import FOLD, fen
from mappings.kingdee import save_envelope

__all__ = [
    "SOURCE",
    "LineKeys",
    "RowNode",
    "SaveNode",
    "ViewNode",
    "check_bill",
    "entries",
    "figure",
    "latest",
    "map_save_body",
    "read_lines",
    "require_audited",
    "save_model",
    "side_party",
    "sniff_json",
    "sniff_save",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

SOURCE = "kingdee"
SNIFF_LIMIT = 512 * 1024
"""`recognise` looks at bodies up to this size only (a real bill is a few KiB)."""
_CHINESE = 2052
"""lcid of 简体中文: the name picked from a View answer's multilingual `[{Key, Value}]`."""


class SaveNode(Node):
    """A Save `Model` (or a part of it): dotted keys walk into one-row sub-entities."""

    __slots__ = ()

    def get(self, key: str) -> Node:
        if "." not in key:
            return self._field(key)
        node: Node = self
        for part in key.split("."):
            node = _single_row(node).get(part) if isinstance(node, SaveNode) else node.get(part)
        return node

    def _field(self, key: str) -> Node:
        found = super().get(key)
        return type(self)(found.value, found.path, self.fold)

    def row(self, node: Node) -> SaveNode:
        """An entry row (a Node from `Reader.array`) read the same way as this bill."""
        return type(self)(node.value, node.path, self.fold)


class ViewNode(SaveNode):
    """A View answer's bill: `FDATE` is read as `Date`, `FCUSTOMERID.FNumber` as `Number`, ..."""

    __slots__ = ("aliases",)

    def __init__(
        self,
        value: object,
        path: str = "",
        fold: bool = True,
        aliases: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(value, path, fold)
        self.aliases = aliases or {}

    def _field(self, key: str) -> Node:
        bare = (key[1:],) if key[:1] in ("F", "f") and len(key) > 1 else ()
        names = (*self.aliases.get(key, ()), *bare, key)
        found = Node(MISSING, pointer(self.path, names[0]))
        for name in names:
            found = Node.get(self, name)
            if not found.missing:
                break
        return ViewNode(_chinese_name(found.value), found.path, self.fold, self.aliases)

    def row(self, node: Node) -> SaveNode:
        return ViewNode(node.value, node.path, self.fold, self.aliases)


def _single_row(node: SaveNode) -> SaveNode:
    """A one-row sub-entity, sent as an object (Save) or as a one-element array (View)."""
    value = node.value
    if isinstance(value, list) and len(value) == 1:
        return node.row(Node(value[0], pointer(node.path, 0)))
    return node


def _chinese_name(value: object) -> object:
    """`[{"Key": 2052, "Value": "..."}, ...]` -> the Chinese value (else the first); else as is."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(item, dict) and "Value" in item for item in value)
    ):
        for item in value:
            if item.get("Key") == _CHINESE:
                return item["Value"]
        return value[0]["Value"]
    return value


class RowNode(Node):
    """One bill of an ExecuteBillQuery answer: cells by lower-cased field key, rows per entity.

    `get("FCUSTOMERID")` finds the `FCUSTOMERID.FNumber` column; a dotted key falls back to its
    last part (`FsubHeadFinc.FNoTaxAmountFor` is queried as `FNoTaxAmountFor`).
    """

    __slots__ = ("cells", "groups")

    def __init__(
        self, cells: Mapping[str, Node], groups: Mapping[str, list[Node]], value: object, path: str
    ) -> None:
        super().__init__(value, path)
        self.cells = cells
        self.groups = groups

    def get(self, key: str) -> Node:
        cells = self.cells
        lower = key.lower()
        found = cells.get(lower)
        if found is None and "." in lower:
            lower = lower.rsplit(".", 1)[1]
            found = cells.get(lower)
        if found is None:
            found = cells.get(lower + ".fnumber")
        return found if found is not None else Node(MISSING, pointer(self.path, key))


def entries(read: Reader, bill: Node, key: str, *, required: bool = True) -> list[Node] | None:
    """The rows of an entry collection; None when it is missing or bad (a problem if required).

    A query answer brings its rows grouped per bill, and None when no column of that entry
    collection was asked for.
    """
    if isinstance(bill, RowNode):
        return bill.groups.get(key.lower())
    nodes = read.array(bill.get(key), required=required)
    if nodes is None:
        return None
    rows = [node for node in nodes if read.object(node) is not None]
    return [bill.row(node) for node in rows] if isinstance(bill, SaveNode) else rows


class FromBill(Protocol[T_co]):
    def __call__(
        self,
        read: Reader,
        bill: Node,
        *,
        body: Node | None,
        fingerprint: str,
        received_at: datetime,
        tolerance: Decimal,
    ) -> T_co | None: ...


def map_save_body(
    raw: bytes,
    received_at: datetime,
    tolerance: Decimal,
    *,
    source: str,
    form_id: str,
    from_bill: FromBill[T_co],
) -> T_co:
    """A Save body of `form_id` read by `from_bill`; MappingError listing every problem."""
    problems = Problems()
    read = Reader(problems)
    require_aware(problems, "received_at", received_at)
    tolerance = check_tolerance(problems, tolerance)
    root = read_document(problems, raw, source, fold=True)
    found = save_model(read, root, (form_id,))
    if found is None:
        problems.raise_if_any(source)
        raise AssertionError("unreachable")  # save_model recorded why there is no Model
    model, body = found
    result = from_bill(
        read,
        model,
        body=body,
        fingerprint=fingerprint(raw),
        received_at=received_at,
        tolerance=tolerance,
    )
    problems.raise_if_any(source)
    if result is None:
        raise AssertionError("unreachable")  # None is only ever returned with a problem
    return result


def save_model(read: Reader, root: Node, forms: Iterable[str]) -> tuple[SaveNode, Node] | None:
    """(Model, the payload holding it) of a Save body whose form id is one of `forms`."""
    formid, payload = save_envelope(read, root)
    form = read.text(formid, max_len=64)
    wanted = tuple(forms)
    if form is not None and form.upper() not in {f.upper() for f in wanted}:
        read.problems.add(formid.path, f"must be {' or '.join(wanted)}", formid.value)
    body = read.embedded_object(payload) if payload is not None else None
    model = read.object(body.get("Model")) if body is not None else None
    if body is None or model is None:
        return None
    return SaveNode(model.value, model.path, fold=True), body


def require_audited(read: Reader, bill: Node, *, what: str) -> None:
    """Only 已审核 (C), not cancelled (FCancelStatus B = 作废) bills are accepted."""
    node = bill.get("FDOCUMENTSTATUS")
    status = read.text(node, max_len=8)
    if status is not None and status.upper() != "C":
        read.problems.add(
            node.path,
            f"document status {status!r} is not C (已审核): only audited {what} are accepted",
            node.value,
        )
    cancel = bill.get("FCancelStatus")
    cancelled = "A" if cancel.blank else read.text(cancel, max_len=8)
    if cancelled is not None and cancelled.upper() == "B":
        read.problems.add(
            cancel.path,
            f"the bill is cancelled (作废): cancelled {what} are not accepted",
            cancel.value,
        )
    elif cancelled is not None and cancelled.upper() != "A":
        read.problems.add(cancel.path, "must be A (normal) or B (cancelled)", cancel.value)


def figure(read: Reader, node: Node, *, required: bool = True) -> Figure:
    """An amount as a Figure; an absent optional one has neither value nor path."""
    if not required and node.blank:
        return Figure(None, "")
    return Figure(read.amount(node), node)


def side_party(
    read: Reader, body: Node | None, key: str, role: PartyRole, code: str | None, code_path: str
) -> Party | None:
    """A party from a `SellerOrg` / `Customer` object sent beside `Model` (FName, FSOCIALCRECODE).

    Its FNumber must be the code the bill references, so a party can never be attached to
    another organisation's or customer's bill.
    """
    if body is None:
        return None
    node = read.object(body.get(key), required=False)
    if node is None:
        return None
    own = read.code(node.get("FNumber"))
    if own and code and own != code:
        read.problems.add(
            node.get("FNumber").path,
            f"is not the code the bill references at {code_path} ({code})",
            own,
        )
        return None
    return read.party(node.get("FName"), node.get("FSOCIALCRECODE"), role, code or own or "")


@dataclass(frozen=True, slots=True)
class LineKeys:
    """Where an entry collection keeps each line figure (Save-model keys)."""

    entity: str
    item: str
    names: tuple[str, ...]
    quantity: str
    price: str
    rate: str
    amount: str
    tax: str
    total: str
    orders: tuple[str, ...] = ()
    """Keys holding the line's sales-order number, tried in turn."""


def read_lines(
    read: Reader,
    bill: Node,
    keys: LineKeys,
    *,
    required: bool = True,
    order_number: str | None = None,
) -> list[LineDraft] | None:
    """The bill's lines as drafts; `order_number` gives every line that order (a sales order)."""
    rows = entries(read, bill, keys.entity, required=required)
    if rows is None:
        return None
    drafts = []
    for index, entry in enumerate(rows):
        seq = entry.get("FSeq")
        drafts.append(
            LineDraft(
                path=entry.path,
                line_no=index + 1 if seq.blank else read.integer(seq),
                item_code=_ident(read, entry.get(keys.item)),
                description=read.text(entry.first(*keys.names), required=False, max_len=400),
                quantity=read.amount(entry.get(keys.quantity)),
                unit_price=read.amount(entry.get(keys.price)),
                tax_rate=read.rate(entry.get(keys.rate)),
                amount=figure(read, entry.get(keys.amount)),
                tax=figure(read, entry.get(keys.tax)),
                total=figure(read, entry.get(keys.total)),
                order_number=order_number
                if order_number is not None
                else _line_order(read, entry, keys.orders),
            )
        )
    return drafts


def _line_order(read: Reader, entry: Node, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        number = _ident(read, entry.get(key), max_len=64)
        if number:
            return number
    source_type = entry.get("FSRCBILLTYPEID")
    if read.code(source_type) == "SAL_SaleOrder":
        return _ident(read, entry.get("FSRCBILLNO"), max_len=64)
    return ""


def _ident(read: Reader, node: Node, *, max_len: int = 64) -> str | None:
    """A code or number (`{"FNumber": ..}` or bare), full-width digits and letters folded."""
    text = read.code(node)
    if not text or text.isascii():
        return text
    folded = "".join(
        chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in text.translate(FOLD)
    ).strip()
    if len(folded) > max_len:
        read.problems.add(node.path, f"is longer than {max_len} characters", node.value)
        return None
    return folded


def _present(value: T | None) -> T:
    if value is None:  # unreachable: a line is only built when nothing had a problem
        raise AssertionError("a field with no recorded problem is missing")
    return value


def check_bill(
    problems: Problems, draft: OrderDraft, tolerance: Decimal, *, exact_at_fen: bool
) -> None:
    """amount + tax = total (header and lines), Σ lines = header, line tax = amount x rate.

    `exact_at_fen` also requires the header to add up once rounded to the fen, which a
    canonical receivable states as a rule.
    """
    Checker(problems, tolerance).order(draft)
    check_line_tax(problems, draft.lines or (), tolerance)
    a, t, s = draft.amount, draft.tax, draft.total
    if (
        exact_at_fen
        and a.value is not None
        and t.value is not None
        and s.value is not None
        and not problems.any_at(a.path, t.path, s.path)
        and fen(a.value) + fen(t.value) != fen(s.value)
    ):
        problems.add(
            s.path,
            f"amount + tax = {a.value + t.value} is within tolerance of the "
            f"total {s.value}, but at the fen {fen(a.value)} + {fen(t.value)} != "
            f"{fen(s.value)} and a canonical receivable must add up exactly",
            s.value,
        )


def latest(dates: Iterable[date | None]) -> date | None:
    return max((d for d in dates if d is not None), default=None)


def sniff_json(raw: bytes) -> object:
    """The decoded JSON of a body small enough to sniff, else None; never raises."""
    try:
        if not isinstance(raw, bytes | bytearray) or len(raw) > SNIFF_LIMIT:
            return None
        head = bytes(raw[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")
        if not head.startswith((b"{", b"[")):
            return None
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            text = bytes(raw).decode("gb18030")
        return json.loads(text)
    except Exception:  # recognise never raises, whatever the bytes
        return None


def sniff_save(raw: bytes, forms: Iterable[str]) -> bool:
    """Whether `raw` is a Save body (`formid`/`data` or native `parameters`) for one of `forms`."""
    root = sniff_json(raw)
    if not isinstance(root, dict):
        return False
    form = root.get("formid")
    parameters = root.get("parameters")
    if isinstance(parameters, list) and parameters:
        form = parameters[0]
    return isinstance(form, str) and form.strip().upper() in {f.upper() for f in forms}
