"""The tax platform's books: invoices, their status marks, and how often each was checked today.

Order of the checks in `verify` follows the national platform: a malformed request is refused
before anything is counted; then the per-invoice daily limit (every well-formed check counts,
whatever its result); then existence; then same-day visibility; then the face comparison.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from simulators.common.clock import Clock, now_cst
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.vat.einvoice import render_einvoice
from simulators.vat.invoices import Party, PlatformInvoice, blue_invoice, red_invoice
from simulators.vat.verification import Answer, Outcome, VerifyRequest

__all__ = ["DatasetSettings", "Marking", "Status", "StatusChange", "VatPlatform"]

Status = Literal["normal", "void", "red_full", "red_partial", "out_of_control", "not_synced"]
AmountBasis = Literal["total", "amount"]

DEFAULT_DAILY_LIMIT = 5  # the platform allows 5 checks per invoice per day (§3.5)
RED_AFTER_DAYS = 10  # a red invoice is dated this many days after its blue one
MAX_AGE_YEARS = 5

# invoiceStatus codes as providers pass them on [L]: 0 正常 1 失控 2 作废 7 部分红冲 8 全额红冲
_INVOICE_STATUS: dict[Status, tuple[str, str]] = {
    "normal": ("0", "正常"),
    "not_synced": ("0", "正常"),
    "out_of_control": ("1", "失控"),
    "void": ("2", "作废"),
    "red_partial": ("7", "部分红冲"),
    "red_full": ("8", "全额红冲"),
}


@dataclass(frozen=True)
class DatasetSettings:
    """Must match the settings the ERP simulators generate their invoices with."""

    count: int = 100
    sellers: int = 5
    buyers: int = 20
    anomaly_rate: float = 0.03


@dataclass(frozen=True)
class Marking:
    status: Status
    red_number: str | None = None


@dataclass(frozen=True)
class StatusChange:
    number: str
    marking: Marking
    red: PlatformInvoice | None


@dataclass
class _Counts:
    total: int = 0
    by_day: Counter[date] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


class VatPlatform:
    """Thread-safe: the server may answer concurrent checks."""

    def __init__(self, seed: int, *, clock: Clock = now_cst) -> None:
        self.seed, self._clock = seed, clock
        self._lock = threading.Lock()
        self.configure(DatasetSettings())

    def configure(self, settings: DatasetSettings) -> None:
        """Rebuild the books from the dataset; forgets marks, counts and settings."""
        companies = generate_companies(self.seed, settings.sellers, settings.buyers)
        rates = {"order_amount_mismatch": settings.anomaly_rate}
        rates["quantity_over_delivery"] = settings.anomaly_rate
        cases = generate_invoices(self.seed, settings.count, companies, rates)
        with self._lock:
            self.settings = settings
            self.invoices: dict[str, PlatformInvoice] = {}
            for case in cases:
                self.invoices[case.invoice.number] = blue_invoice(case)
            self.order = [case.invoice.number for case in cases]
            self._index = {number: i for i, number in enumerate(self.order)}
            self.markings: dict[str, Marking] = {}
            self.daily_limit = DEFAULT_DAILY_LIMIT
            self.amount_basis: AmountBasis = "total"
            self._counts: dict[str, _Counts] = {}
            self.downloads: Counter[str] = Counter()
            self._requests = 0

    def reset(self) -> None:
        self.configure(DatasetSettings())

    def today(self) -> date:
        return self._clock().date()

    def next_request_id(self) -> str:
        with self._lock:
            self._requests += 1
            return f"VAT{self.seed % 10_000:04d}{self._requests:010d}"

    def number_at(self, index: int) -> str:
        if not 0 <= index < len(self.order):
            raise IndexError(f"index {index} outside the dataset (0..{len(self.order) - 1})")
        return self.order[index]

    def plan(self, number: str, status: Status, red_amount: Decimal | None = None) -> StatusChange:
        """Check a status change and make its red invoice, changing nothing yet."""
        blue = self.invoices.get(number)
        if blue is None or blue.is_red:
            raise KeyError(f"no blue invoice {number} in the dataset")
        if (status == "red_partial") != (red_amount is not None):
            raise ValueError("red_amount is given for red_partial and only for it")
        red = None
        if status in ("red_full", "red_partial"):
            red_day = blue.issue_date + timedelta(days=RED_AFTER_DAYS)
            red = red_invoice(self.seed, blue, red_day, red_amount)
        return StatusChange(number, Marking(status, red.number if red else None), red)

    def mark(self, plans: list[StatusChange]) -> None:
        """Apply planned status changes; a red flush issues its red invoice."""
        with self._lock:
            for plan in plans:
                old = self.markings.pop(plan.number, None)
                if old is not None and old.red_number is not None:
                    del self.invoices[old.red_number]
                if plan.marking.status != "normal":
                    self.markings[plan.number] = plan.marking
                if plan.red is not None:
                    self.invoices[plan.red.number] = plan.red

    def verify(self, request: VerifyRequest) -> Answer:
        today = self.today()
        with self._lock:
            counts = self._counts.setdefault(request.invoice_no, _Counts())
            if counts.by_day[today] >= self.daily_limit:
                return self._count(counts, Answer(Outcome.DAILY_LIMIT))
            counts.total += 1
            counts.by_day[today] += 1
            invoice = self.invoices.get(request.invoice_no) if request.electronic else None
            if invoice is None or invoice.issue_date > today:
                return self._count(counts, Answer(Outcome.NOT_FOUND))
            status = self._status(invoice)
            if invoice.issue_date == today or status == "not_synced":
                return self._count(counts, Answer(Outcome.NOT_YET_VISIBLE))
            if self._mismatches(invoice, request):
                return self._count(counts, Answer(Outcome.INCONSISTENT))
            data = self._face(invoice, status, counts.by_day[today])
            return self._count(counts, Answer(Outcome.CONSISTENT, data))

    def too_old(self, request: VerifyRequest) -> bool:
        today = self.today()
        try:
            limit = today.replace(year=today.year - MAX_AGE_YEARS)
        except ValueError:  # 29 February
            limit = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
        return request.invoice_date < limit

    def download(self, number: str) -> bytes | None:
        with self._lock:
            invoice = self.invoices.get(number)
            if invoice is None or invoice.issue_date > self.today():
                return None
            self.downloads[number] += 1
        return render_einvoice(invoice)

    def state(self) -> dict[str, Any]:
        today = self.today()
        with self._lock:
            return {
                "dataset": {**vars(self.settings), "invoices": len(self.order)},
                "daily_limit": self.daily_limit,
                "amount_basis": self.amount_basis,
                "markings": {
                    n: {"status": m.status, "red_invoice": m.red_number}
                    for n, m in self.markings.items()
                },
                "queries": {
                    n: {"total": c.total, "today": c.by_day[today], "outcomes": dict(c.outcomes)}
                    for n, c in self._counts.items()
                },
                "downloads": dict(self.downloads),
                "totals": {
                    "queries": sum(sum(c.outcomes.values()) for c in self._counts.values()),
                    "downloads": sum(self.downloads.values()),
                },
            }

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {
                    "index": self._index.get(n),
                    "case_id": inv.case_id,
                    "invoiceNo": n,
                    "invoiceDate": f"{inv.issue_date:%Y%m%d}",
                    "invoiceType": _type_code(inv),
                    "totalAmount": _money(inv.total),
                    "status": self._status(inv),
                    "originalInvoiceNo": inv.blue_number,
                }
                for n, inv in self.invoices.items()
            ]

    def _count(self, counts: _Counts, result: Answer) -> Answer:
        counts.outcomes[result.outcome.code] += 1
        return result

    def _status(self, invoice: PlatformInvoice) -> Status:
        marking = self.markings.get(invoice.number)
        return "normal" if marking is None else marking.status

    def _mismatches(self, invoice: PlatformInvoice, request: VerifyRequest) -> list[str]:
        wrong = []
        if request.invoice_date != invoice.issue_date:
            wrong.append("invoiceDate")
        expected = invoice.total if self.amount_basis == "total" else invoice.amount
        if request.invoice_amount != expected:
            wrong.append("invoiceAmount")
        if request.invoice_type and request.invoice_type != _type_code(invoice):
            wrong.append("invoiceType")
        return wrong

    def _face(self, invoice: PlatformInvoice, status: Status, today_count: int) -> dict[str, Any]:
        face, marking = invoice.face, self.markings.get(invoice.number)
        red = self.invoices.get(marking.red_number) if marking and marking.red_number else None
        code, name = _INVOICE_STATUS[status]
        return {
            "invoiceType": _type_code(invoice),
            "invoiceCode": "",
            "invoiceNo": invoice.number,
            "invoiceDate": f"{invoice.issue_date:%Y%m%d}",
            "machineNo": "",
            "checkCode": "",
            **_party("seller", face.seller),
            **_party("buyer", face.buyer),
            "invoiceAmount": _money(invoice.amount),
            "taxAmount": _money(invoice.tax),
            "totalAmount": _money(invoice.total),
            "remark": face.remark,
            "drawer": face.drawer,
            "cancellationMark": "1" if status == "void" else "0",
            "invoiceStatus": code,
            "invoiceStatusName": name,
            "redFlushStatus": {"red_full": "2", "red_partial": "1"}.get(status, "0"),
            "redInvoices": [] if red is None else [_red_summary(red)],
            "originalInvoiceNo": invoice.blue_number or "",
            "checkCount": str(today_count),
            "detailList": [
                {
                    "detailNo": str(line.line_no),
                    "goodsName": line.item_name,
                    "specificationModel": "",
                    "unit": line.unit,
                    "num": "" if line.quantity is None else str(line.quantity),
                    "unitPrice": "" if line.unit_price is None else _money(line.unit_price),
                    "detailAmount": _money(line.amount),
                    "taxRate": f"{line.tax_rate}%",
                    "taxAmount": _money(line.tax),
                    "flbm": line.tax_code,
                }
                for line in face.lines
            ],
        }


def _type_code(invoice: PlatformInvoice) -> str:
    return "31" if invoice.face.kind == "special" else "32"


def _red_summary(red: PlatformInvoice) -> dict[str, str]:
    return {
        "invoiceNo": red.number,
        "invoiceDate": f"{red.issue_date:%Y%m%d}",
        "invoiceAmount": _money(red.amount),
        "taxAmount": _money(red.tax),
        "totalAmount": _money(red.total),
        "confirmationNo": red.confirmation_no or "",
    }


def _party(prefix: str, party: Party) -> dict[str, str]:
    return {
        f"{prefix}Name": party.name,
        f"{prefix}TaxNo": party.tax_no,
        f"{prefix}AddressPhone": f"{party.address} {party.phone}",
        f"{prefix}BankAccount": f"{party.bank_name} {party.bank_account}",
    }


def _money(value: Decimal) -> str:
    return f"{value:.2f}"
