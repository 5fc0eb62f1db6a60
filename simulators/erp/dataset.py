"""Deterministic companies, invoices and sales orders: the same seed always gives the same bytes.

Every case carries the outcome a correct hub must reach, so QA can assert on it. Each case draws
from its own RNG stream: changing `count` or the anomaly rates leaves the other cases as they are.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Literal

from simulators import uscc
from simulators.erp.money import from_cents, line_amounts, to_fen
from simulators.erp.vocabulary import (
    ACCESSORIES,
    BANKS,
    BRANCHES,
    BRANDS,
    CITIES,
    GOODS,
    INDUSTRIES,
    SERVICES,
    City,
    Product,
)

Vendor = Literal["kingdee", "yonyou"]
VENDORS: tuple[Vendor, ...] = ("kingdee", "yonyou")
InvoiceKind = Literal["special", "normal"]  # 专票 / 普票

DISBURSABLE = "disbursable"
ORDER_AMOUNT_MISMATCH = "order_amount_mismatch"
QUANTITY_OVER_DELIVERY = "quantity_over_delivery"
ANOMALIES = (ORDER_AMOUNT_MISMATCH, QUANTITY_OVER_DELIVERY)
DEFAULT_ANOMALY_RATE = 0.03
STANDARD_CASES = 100
"""The dataset cases every simulator holds by default. Anomaly positions depend on the count,
so simulators built on one seed tell the same story only when they hold the same count."""

# An order total is "different" when it is off by more than 1 % AND more than ¥100.
MISMATCH_RATIO = Decimal("0.01")
MISMATCH_MIN = Decimal("100")

# Fixed (never "today") so payloads stay byte-identical; due dates then fall in 2026-12..2027-03.
DEFAULT_ISSUED_FROM = date(2026, 10, 15)
DEFAULT_ISSUED_DAYS = 30


@dataclass(frozen=True)
class Company:
    name: str
    uscc: str
    city: str
    kingdee_org_number: str  # FSETTLEORGID / FSALEORGID FNumber when the company sells
    kingdee_customer_number: str  # FCUSTOMERID FNumber when the company buys
    yonyou_org_id: str  # YonBIP orgId (a string)
    yonyou_org_code: str
    yonyou_agent_id: int  # YonBIP agentId (a long)
    bank_account: str
    bank_name: str
    cnaps_code: str  # 12-digit 行号


@dataclass(frozen=True)
class Companies:
    sellers: tuple[Company, ...]
    buyers: tuple[Company, ...]


@dataclass(frozen=True)
class Line:
    line_no: int
    product_code: str
    product_name: str
    unit: str
    quantity: int
    unit_price: Decimal  # excl. tax, 2 places
    tax_rate: int  # percent
    amount: Decimal
    tax: Decimal
    total: Decimal

    @property
    def unit_price_incl_tax(self) -> Decimal:
        """Exact tax-inclusive unit price (at most 4 places)."""
        return self.unit_price * (100 + self.tax_rate) / 100


def make_line(line_no: int, product: Product, quantity: int, unit_price: Decimal) -> Line:
    amount, tax, total = line_amounts(quantity, unit_price, product.tax_rate)
    return Line(
        line_no=line_no,
        product_code=product.code,
        product_name=product.name,
        unit=product.unit,
        quantity=quantity,
        unit_price=unit_price,
        tax_rate=product.tax_rate,
        amount=amount,
        tax=tax,
        total=total,
    )


def _sum(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal("0.00"))


@dataclass(frozen=True)
class Invoice:
    number: str  # 20-digit 数电 number
    kind: InvoiceKind
    issue_date: date
    lines: tuple[Line, ...]

    @property
    def amount(self) -> Decimal:
        return _sum([line.amount for line in self.lines])

    @property
    def tax(self) -> Decimal:
        return _sum([line.tax for line in self.lines])

    @property
    def total(self) -> Decimal:
        return _sum([line.total for line in self.lines])


@dataclass(frozen=True)
class SalesOrder:
    """The seller's sales order, which is the buyer's purchase order."""

    number: str
    order_date: date
    delivery_date: date
    lines: tuple[Line, ...]

    @property
    def amount(self) -> Decimal:
        return _sum([line.amount for line in self.lines])

    @property
    def tax(self) -> Decimal:
        return _sum([line.tax for line in self.lines])

    @property
    def total(self) -> Decimal:
        return _sum([line.total for line in self.lines])


@dataclass(frozen=True)
class DeliveryNote:
    """Goods shipped against the order (Kingdee 销售出库单 SAL_OUTSTOCK, YonBIP 发货单): every goods
    line of the order, in full, on its delivery date. Services are not delivered."""

    number: str
    delivery_date: date
    order_number: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class GeneratedCase:
    case_id: str
    index: int
    vendor: Vendor
    seller: Company
    buyer: Company
    invoice: Invoice
    order: SalesOrder
    due_date: date
    document_no: str  # Kingdee FBillNo / YonBIP code of the invoice document
    erp_id: int  # YonBIP data.id (Kingdee sends FID 0 for a new document)
    receivable_no: str | None  # Kingdee AR_receivable FBillNo; None for YonBIP
    expected_outcome: str  # "disbursable" or an anomaly name
    delivery: DeliveryNote | None = None  # None when the order is for services only


def classify(invoice: Invoice, order: SalesOrder) -> str:
    """The outcome a correct hub reaches by matching an invoice against its order."""
    ordered: dict[str, int] = {}
    for line in order.lines:
        ordered[line.product_code] = ordered.get(line.product_code, 0) + line.quantity
    if any(line.quantity > ordered.get(line.product_code, 0) for line in invoice.lines):
        return QUANTITY_OVER_DELIVERY
    diff = abs(order.total - invoice.total)
    if diff > invoice.total * MISMATCH_RATIO and diff > MISMATCH_MIN:
        return ORDER_AMOUNT_MISMATCH
    return DISBURSABLE


def generate_companies(seed: int, sellers: int = 5, buyers: int = 20) -> Companies:
    """Distinct sellers and buyers with valid USCCs, ERP codes and bank details."""
    if sellers < 1 or buyers < 1:
        raise ValueError("need at least one seller and one buyer")
    total = sellers + buyers
    if total > 2000:
        raise ValueError("at most 2000 companies")
    rng = random.Random(f"factorhub-sim:companies:{seed}")
    customer_numbers = rng.sample(range(1, 10_000), total)
    names: set[str] = set()
    codes: set[str] = set()
    made: list[Company] = []
    for j in range(total):
        city = rng.choice(CITIES)
        name = _unique(partial(_company_name, rng, city), names)
        code = _unique(partial(uscc.generate, rng, city.region), codes)
        made.append(_company(rng, j, city, name, code, customer_numbers[j]))
    return Companies(sellers=tuple(made[:sellers]), buyers=tuple(made[sellers:]))


def _unique(make: Callable[[], str], seen: set[str]) -> str:
    for _ in range(1000):
        value = make()
        if value not in seen:
            seen.add(value)
            return value
    raise RuntimeError("vocabulary too small for the requested number of companies")


def _company_name(rng: random.Random, city: City) -> str:
    brand, industry = rng.choice(BRANDS), rng.choice(INDUSTRIES)
    if rng.random() < 0.15:
        return f"{brand}{industry}（{city.name}）有限公司"
    suffix = "股份有限公司" if rng.random() < 0.15 else "有限公司"
    return f"{city.name}{brand}{industry}{suffix}"


def _company(
    rng: random.Random, j: int, city: City, name: str, code: str, customer_no: int
) -> Company:
    bank = rng.choice(BANKS)
    length = rng.choice((16, 17, 19, 20))
    account = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(length - 1))
    return Company(
        name=name,
        uscc=code,
        city=city.name,
        kingdee_org_number=str(100 + j),
        kingdee_customer_number=f"CUST-{customer_no:04d}",
        yonyou_org_id=str(rng.randint(10**15, 10**16 - 1)),
        yonyou_org_code=f"ORG{j + 1:03d}",
        yonyou_agent_id=rng.randint(10**12, 10**13 - 1),
        bank_account=account,
        bank_name=f"{bank.name}股份有限公司{city.name}{rng.choice(BRANCHES)}支行",
        cnaps_code=f"{bank.code}{city.cnaps_city}{rng.randint(0, 99_999):05d}",
    )


def _city_of(company: Company) -> City:
    return next(c for c in CITIES if c.name == company.city)


@dataclass(frozen=True)
class _Numbering:
    """Per-seed bases, so document numbers differ between seeds but never collide within one."""

    doc_base: int
    invoice_base: int
    erp_id_base: int
    tenant: int

    @classmethod
    def draw(cls, seed: int) -> _Numbering:
        rng = random.Random(f"factorhub-sim:numbering:{seed}")
        return cls(
            doc_base=rng.randint(1, 400_000),
            invoice_base=rng.randint(10**13, 8 * 10**14),
            erp_id_base=rng.randint(10**15, 9 * 10**15),
            tenant=rng.randint(1000, 9999),
        )


def generate_invoices(
    seed: int,
    count: int,
    companies: Companies,
    anomalies: Mapping[str, float] | None = None,
    *,
    issued_from: date = DEFAULT_ISSUED_FROM,
    issued_days: int = DEFAULT_ISSUED_DAYS,
) -> list[GeneratedCase]:
    """`count` cases; `anomalies` maps an anomaly name to its rate (default 3 % each, 0 disables).

    The number of cases per anomaly is round-half-up(count × rate), at seed-chosen positions.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    if issued_days < 1:
        raise ValueError("issued_days must be >= 1")
    labels = _assign_outcomes(seed, count, _rates(anomalies))
    numbering = _Numbering.draw(seed)
    return [
        _make_case(seed, i, labels[i], companies, numbering, issued_from, issued_days)
        for i in range(count)
    ]


def _rates(anomalies: Mapping[str, float] | None) -> dict[str, Decimal]:
    rates = {name: Decimal(str(DEFAULT_ANOMALY_RATE)) for name in ANOMALIES}
    for name, rate in (anomalies or {}).items():
        if name not in rates:
            raise ValueError(f"unknown anomaly {name!r}; known: {', '.join(ANOMALIES)}")
        value = Decimal(str(rate))
        if not Decimal(0) <= value <= Decimal(1):
            raise ValueError(f"rate of {name} must be within 0..1")
        rates[name] = value
    if sum(rates.values()) > 1:
        raise ValueError("anomaly rates add up to more than 1")
    return rates


def _assign_outcomes(seed: int, count: int, rates: Mapping[str, Decimal]) -> list[str]:
    rng = random.Random(f"factorhub-sim:anomalies:{seed}")
    labels = [DISBURSABLE] * count
    free = list(range(count))
    for name in ANOMALIES:
        wanted = int((count * rates[name]).to_integral_value(rounding=ROUND_HALF_UP))
        chosen = rng.sample(free, min(wanted, len(free)))
        for index in chosen:
            labels[index] = name
        taken = set(chosen)
        free = [i for i in free if i not in taken]
    return labels


def _price(rng: random.Random, product: Product) -> Decimal:
    return from_cents(rng.randint(product.min_price * 100, product.max_price * 100))


def _make_case(
    seed: int,
    i: int,
    label: str,
    companies: Companies,
    numbering: _Numbering,
    issued_from: date,
    issued_days: int,
) -> GeneratedCase:
    rng = random.Random(f"factorhub-sim:case:{seed}:{i}")
    vendor = VENDORS[i % len(VENDORS)]
    seller, buyer = rng.choice(companies.sellers), rng.choice(companies.buyers)
    issue_date = issued_from + timedelta(days=rng.randrange(issued_days))
    kind: InvoiceKind = "normal" if rng.random() < 0.2 else "special"
    pool = GOODS if rng.random() < 0.75 else SERVICES
    products = rng.sample(pool, rng.choice((1, 1, 2, 2, 3, 4)))
    invoice_lines = [
        make_line(n, p, 20 * rng.randint(1, 20), _price(rng, p)) for n, p in enumerate(products, 1)
    ]
    order_lines = list(invoice_lines)
    if label == QUANTITY_OVER_DELIVERY:
        accessory = rng.choice(ACCESSORIES)
        price, n = _price(rng, accessory), len(invoice_lines) + 1
        order_lines.append(make_line(n, accessory, 20, price))
        invoice_lines.append(make_line(n, accessory, 21, price))  # 5 % over, at most ¥90.40
    elif label == ORDER_AMOUNT_MISMATCH:
        pct = rng.randint(5, 15) * rng.choice((-1, 1))
        order_lines = [
            make_line(ln.line_no, _product_of(ln), ln.quantity, _shift(ln.unit_price, pct))
            for ln in order_lines
        ]
    lead = rng.randint(10, 40)
    order_date = issue_date - timedelta(days=lead)
    delivery_date = order_date + timedelta(days=rng.randint(3, lead))
    seq = numbering.doc_base + i
    serial = numbering.invoice_base + i * 10 + rng.randrange(10)
    invoice = Invoice(
        number=f"{issue_date:%y}{_city_of(seller).province}1{serial:015d}",
        kind=kind,
        issue_date=issue_date,
        lines=tuple(invoice_lines),
    )
    if vendor == "kingdee":
        document_no = f"{'XSZP' if kind == 'special' else 'XSPP'}{issue_date:%y%m}{seq:06d}"
        order_no = f"XSDD{order_date:%y%m}{seq:06d}"
        receivable_no: str | None = f"AR{issue_date:%y%m}{seq:06d}"
    else:
        document_no = f"TI{numbering.tenant}{issue_date:%y%m%d}{seq:06d}"
        order_no = f"SO{order_date:%y%m}{seq:06d}"
        receivable_no = None
    order = SalesOrder(order_no, order_date, delivery_date, tuple(order_lines))
    shipped = tuple(ln for ln in order_lines if _product_of(ln) not in SERVICES)
    prefix = "XSCK" if vendor == "kingdee" else "DN"
    delivery = (
        DeliveryNote(f"{prefix}{delivery_date:%y%m}{seq:06d}", delivery_date, order_no, shipped)
        if shipped
        else None
    )
    case = GeneratedCase(
        case_id=f"case-{seed}-{i + 1:05d}",
        index=i,
        vendor=vendor,
        seller=seller,
        buyer=buyer,
        invoice=invoice,
        order=order,
        due_date=issue_date + timedelta(days=rng.randint(60, 120)),
        document_no=document_no,
        erp_id=numbering.erp_id_base + i * 1000 + rng.randrange(1000),
        receivable_no=receivable_no,
        expected_outcome=label,
        delivery=delivery,
    )
    actual = classify(invoice, order)
    if actual != label:  # a generator bug, not a data condition
        raise RuntimeError(f"{case.case_id}: generated {actual}, meant {label}")
    return case


def _shift(price: Decimal, pct: int) -> Decimal:
    return to_fen(price * (100 + pct) / 100)


def _product_of(line: Line) -> Product:
    for product in (*GOODS, *SERVICES, *ACCESSORIES):
        if product.code == line.product_code:
            return product
    raise KeyError(line.product_code)
