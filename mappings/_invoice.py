"""Shared by the ERP mappers: reconcile what was read, then build the canonical objects.

A mapper reads fields into the drafts below (None wherever it recorded a problem), then calls
`assemble`. Cross-checks only use values that read cleanly, so one bad field yields one problem
rather than a cascade. Money is rounded to the fen (half-up) only when the models are built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from pydantic import ValidationError

from canonical import (
    DocumentLine,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Money,
    Party,
    PurchaseOrder,
)
from mappings._problems import Problems
from mappings._values import fen
from mappings.erp import InvoicePush

__all__ = [
    "DEFAULT_TOLERANCE",
    "Checker",
    "Figure",
    "InvoiceDraft",
    "Labels",
    "LineDraft",
    "OrderDraft",
    "Origin",
    "assemble",
    "check_line_tax",
    "check_tolerance",
    "document_line",
    "fingerprint",
]

T = TypeVar("T")

DEFAULT_TOLERANCE = Decimal("0.01")
"""How far amount + tax may be from the total, and Σ lines from the header, before it is wrong."""


class _Located(Protocol):
    @property
    def path(self) -> str: ...


class Figure:
    """One amount as read (exact, unrounded) and where it was read from; None if absent/bad.

    `where` is the path, or the Node the amount was read from: its path is then only spelled
    out if a problem has to name it.
    """

    __slots__ = ("_where", "value")

    def __init__(self, value: Decimal | None, where: str | _Located) -> None:
        self.value = value
        self._where = where

    @property
    def path(self) -> str:
        where = self._where
        return where if isinstance(where, str) else where.path

    def __repr__(self) -> str:
        return f"Figure({self.value!r}, {self.path!r})"


@dataclass(slots=True)
class LineDraft:
    path: str
    line_no: int | None
    item_code: str | None
    description: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    tax_rate: Decimal | None
    amount: Figure
    tax: Figure
    total: Figure
    order_number: str | None = ""


@dataclass(slots=True)
class Labels:
    """Field names used in reasons: the lines' collection and their amount/tax/total keys."""

    lines: str
    amount: str
    tax: str
    total: str


@dataclass(slots=True)
class InvoiceDraft:
    number: str | None
    code: str | None
    kind: InvoiceKind | None
    status: InvoiceStatus | None
    blue: bool
    issue_date: date | None
    due_date: date | None
    seller: Party | None
    buyer: Party | None
    buyer_path: str
    currency: str | None
    amount: Figure
    tax: Figure
    total: Figure
    lines: list[LineDraft] | None
    lines_path: str
    labels: Labels


@dataclass(slots=True)
class OrderDraft:
    path: str
    number: str | None
    order_date: date | None
    buyer_code: str | None
    same_buyer: bool
    lines: list[LineDraft] | None
    lines_path: str
    labels: Labels
    amount: Figure = field(default_factory=lambda: Figure(None, ""))
    tax: Figure = field(default_factory=lambda: Figure(None, ""))
    total: Figure = field(default_factory=lambda: Figure(None, ""))


@dataclass(slots=True)
class Origin:
    source_system: str
    document_id: str | None
    fingerprint: str
    received_at: datetime


def assemble(
    problems: Problems,
    origin: Origin,
    draft: InvoiceDraft,
    orders: Sequence[OrderDraft],
    tolerance: Decimal,
) -> InvoicePush:
    """Reconcile the drafts, raise every problem at once, or build the push."""
    check = Checker(problems, tolerance)
    check.invoice(draft)
    for order in orders:
        check.order(order)
    if draft.seller and draft.buyer and draft.seller.uscc == draft.buyer.uscc:
        problems.add(
            draft.buyer_path, "the buyer has the seller's 统一社会信用代码", draft.buyer.uscc
        )
    problems.raise_if_any(origin.source_system)
    try:
        return _build(origin, draft, orders)
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(origin.source_system)
        raise


def fingerprint(raw: bytes) -> str:
    """SM3 of the bytes exactly as received (GB/T 32905), hex."""
    return hashlib.new("sm3", bytes(raw)).hexdigest()


def check_line_tax(problems: Problems, lines: Iterable[LineDraft], tolerance: Decimal) -> None:
    """Each line's tax must be its amount x rate to the fen (within `tolerance`)."""
    for line in lines:
        amount, tax, rate = line.amount.value, line.tax.value, line.tax_rate
        if amount is None or tax is None or rate is None:
            continue
        if problems.paths and problems.any_at(line.amount.path, line.tax.path):
            continue
        expected = fen(amount * rate)
        if abs(fen(tax) - expected) > tolerance:
            problems.add(
                line.tax.path,
                f"tax {tax} is not amount {amount} x rate {rate} = "
                f"{expected} (tolerance {tolerance})",
                tax,
            )


def check_tolerance(problems: Problems, tolerance: object) -> Decimal:
    if isinstance(tolerance, Decimal) and tolerance.is_finite() and tolerance >= 0:
        return tolerance
    problems.add("tolerance", "must be a finite, non-negative Decimal", tolerance)
    return DEFAULT_TOLERANCE


class Checker:
    def __init__(self, problems: Problems, tolerance: Decimal) -> None:
        self.problems = problems
        self.tolerance = tolerance

    def _usable(self, *figures: Figure) -> list[Decimal] | None:
        """The figures' values, or None if any is absent or already has a problem."""
        values = [f.value for f in figures if f.value is not None]
        if len(values) != len(figures):
            return None
        if self.problems.paths and self.problems.any_at(*(f.path for f in figures)):
            return None
        return values

    def invoice(self, draft: InvoiceDraft) -> None:
        self._signs(draft)
        self._adds_up(draft.amount, draft.tax, draft.total, exact_at_fen=True)
        self._lines(
            draft.lines, draft.lines_path, draft.labels, draft.amount, draft.tax, draft.total
        )

    def order(self, order: OrderDraft) -> None:
        self._adds_up(order.amount, order.tax, order.total, exact_at_fen=False)
        self._lines(
            order.lines, order.lines_path, order.labels, order.amount, order.tax, order.total
        )

    def _signs(self, draft: InvoiceDraft) -> None:
        add = self.problems.add
        for figure, name in ((draft.amount, "amount"), (draft.tax, "tax")):
            if draft.blue and figure.value is not None and figure.value < 0:
                add(figure.path, f"{name} must not be negative on a blue invoice", figure.value)
        total = draft.total.value
        if total is not None:
            if total == 0:
                add(draft.total.path, "total must not be zero", total)
            elif draft.blue and total < 0:
                add(draft.total.path, "total must be positive on a blue invoice", total)

    def _adds_up(self, amount: Figure, tax: Figure, total: Figure, *, exact_at_fen: bool) -> None:
        values = self._usable(amount, tax, total)
        if values is None:
            return
        a, t, s = values
        difference = a + t - s
        if abs(difference) > self.tolerance:
            self.problems.add(
                total.path,
                f"amount + tax = {a + t} does not equal the total "
                f"{s} (difference {difference}, tolerance {self.tolerance})",
                s,
            )
        elif exact_at_fen and fen(a) + fen(t) != fen(s):
            self.problems.add(
                total.path,
                f"amount + tax = {a + t} is within tolerance of the "
                f"total {s}, but at the fen {fen(a)} + {fen(t)} != {fen(s)} and "
                "a canonical invoice must add up exactly",
                s,
            )

    def _lines(
        self,
        lines: list[LineDraft] | None,
        path: str,
        labels: Labels,
        amount: Figure,
        tax: Figure,
        total: Figure,
    ) -> None:
        if lines is None:
            return
        if not lines:
            self.problems.add(path, "must have at least one line", [])
            return
        check_line_tax(self.problems, lines, self.tolerance)
        for line in lines:
            self._adds_up(line.amount, line.tax, line.total, exact_at_fen=False)
        columns = (
            (amount, labels.amount, [line.amount for line in lines]),
            (tax, labels.tax, [line.tax for line in lines]),
            (total, labels.total, [line.total for line in lines]),
        )
        for header, key, figures in columns:
            values = self._usable(header, *figures)
            if values is None:
                continue
            stated, summed = values[0], sum(values[1:], Decimal(0))
            difference = stated - summed
            if abs(difference) > self.tolerance:
                self.problems.add(
                    header.path,
                    f"does not match the lines: the sum of "
                    f"{labels.lines}[*].{key} is {summed}, the header says "
                    f"{stated} (difference {difference}, tolerance "
                    f"{self.tolerance})",
                    stated,
                )


def _present(value: T | None) -> T:
    if value is None:  # unreachable once the problems list was empty
        raise RuntimeError("a field with no recorded problem is missing")
    return value


def _money(figure: Figure, currency: str) -> Money:
    return Money(amount=fen(_present(figure.value)), currency=currency)


def document_line(draft: LineDraft, order_number: str | None = None) -> DocumentLine:
    """A line read without problems, amounts at the fen (prices and quantities keep their
    digits); `order_number` overrides the line's own."""
    return DocumentLine(
        line_no=_present(draft.line_no),
        item_code=draft.item_code or "",
        description=draft.description or "",
        quantity=_present(draft.quantity),
        unit_price=_present(draft.unit_price),
        tax_rate=_present(draft.tax_rate),
        amount=fen(_present(draft.amount.value)),
        tax=fen(_present(draft.tax.value)),
        order_number=draft.order_number or "" if order_number is None else order_number,
    )


def _line_fields(draft: LineDraft, order_number: str) -> dict[str, object]:
    return {
        "line_no": _present(draft.line_no),
        "item_code": draft.item_code or "",
        "description": draft.description or "",
        "quantity": _present(draft.quantity),
        "unit_price": _present(draft.unit_price),
        "tax_rate": _present(draft.tax_rate),
        "amount": fen(_present(draft.amount.value)),
        "tax": fen(_present(draft.tax.value)),
        "order_number": order_number,
    }


def _build(origin: Origin, draft: InvoiceDraft, orders: Sequence[OrderDraft]) -> InvoicePush:
    """The canonical objects, each validated in one call from plain fields (a third cheaper
    than building every line, amount and provenance as a model of its own first)."""
    currency = _present(draft.currency)
    lines = tuple(_line_fields(d, d.order_number or "") for d in _present(draft.lines))
    buyer = _present(draft.buyer)
    invoice = Invoice.model_validate(
        {
            "number": _present(draft.number),
            "code": draft.code or "",
            "kind": _present(draft.kind),
            "issue_date": _present(draft.issue_date),
            "due_date": draft.due_date,
            "seller": _present(draft.seller),
            "buyer": buyer,
            "amount": {"amount": fen(_present(draft.amount.value)), "currency": currency},
            "tax": {"amount": fen(_present(draft.tax.value)), "currency": currency},
            "total": {"amount": fen(_present(draft.total.value)), "currency": currency},
            "status": _present(draft.status),
            "lines": lines,
            "order_numbers": tuple(
                dict.fromkeys(str(line["order_number"]) for line in lines if line["order_number"])
            ),
            "provenance": _provenance(origin, _present(origin.document_id)),
        }
    )
    built = []
    for order in orders:
        number = _present(order.number)
        total = order.total.value
        if total is None:
            total = sum((_present(d.total.value) for d in _present(order.lines)), Decimal(0))
        built.append(
            PurchaseOrder.model_validate(
                {
                    "number": number,
                    "order_date": _present(order.order_date),
                    "buyer": buyer if order.same_buyer else None,
                    "buyer_code": order.buyer_code or "",
                    "total": {"amount": fen(total), "currency": currency},
                    "lines": tuple(_line_fields(d, number) for d in _present(order.lines)),
                    "provenance": _provenance(origin, number),
                }
            )
        )
    return InvoicePush(invoice=invoice, orders=tuple(built))


def _provenance(origin: Origin, document_id: str) -> dict[str, object]:
    return {
        "source_system": origin.source_system,
        "source_document_id": document_id,
        "fingerprint": origin.fingerprint,
        "received_at": origin.received_at,
    }
