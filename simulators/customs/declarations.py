"""Export declarations (报关单) derived from the ERP dataset, so customs tells the ERP's story.

A dataset case is an export when every invoice line is goods (services never cross a border).
Its declaration names the seller as 境内发货人 (TradeName / TradeCoScc), carries the sales order
number as 合同协议号 (ContrNo) and declares each invoice line at its net amount in CNY
(VAT does not apply to exports), so Σ DeclTotal equals the invoice amount excluding tax.
Each declaration draws from its own RNG stream, keyed by the seed and the case index.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from simulators.erp.dataset import (
    STANDARD_CASES,
    Company,
    GeneratedCase,
    Line,
    generate_companies,
    generate_invoices,
)
from simulators.erp.money import to_fen

__all__ = [
    "DEFAULT_CASES",
    "Declaration",
    "DeclarationLine",
    "Overseas",
    "export_declarations",
    "is_export",
    "shifted",
]

DEFAULT_CASES = STANDARD_CASES
"""Dataset cases considered (the same generator as the ERP simulators, same seed)."""

CURRENCY = "CNY"
TRADE_MODE = "0110"  # 一般贸易
CUT_MODE = "101"  # 一般征税
TRANS_MODE = "3"  # FOB
TRAF_MODE = "2"  # 水路运输

# Export customs (申报地海关 / 出境关别) and departure port by the seller's city. [guess]
_CUSTOMS_OF_CITY = {
    "苏州": ("2305", "2249", "310101"),
    "无锡": ("2302", "2249", "310101"),
    "南京": ("2301", "2301", "320101"),
    "常州": ("2303", "2249", "310101"),
    "上海": ("2200", "2248", "310101"),
    "杭州": ("2901", "3104", "330201"),
    "宁波": ("3100", "3104", "330201"),
    "合肥": ("3301", "2248", "310101"),
    "深圳": ("5300", "5316", "440301"),
    "东莞": ("5210", "5316", "440301"),
    "青岛": ("4200", "4218", "370201"),
    "成都": ("7900", "2248", "310101"),
}

# HS code (10 digits) and customs unit code per ERP product code. [guess]
_GOODS = {
    "M0001": ("8466939000", "011"),  # 件
    "M0002": ("8483409000", "018"),  # 根
    "M0003": ("8501520000", "001"),  # 台
    "M0004": ("8413600000", "001"),
    "M0005": ("7219330000", "070"),  # 吨
    "M0006": ("7604291000", "070"),
    "M0007": ("9026809000", "007"),  # 个
    "M0008": ("8534009000", "015"),  # 片
    "M0009": ("8483409000", "001"),
    "M0010": ("8482109000", "006"),  # 套
    "P0001": ("4819100000", "007"),
    "P0002": ("7318159000", "006"),
    "P0003": ("4016931000", "007"),
}


@dataclass(frozen=True)
class Overseas:
    """境外收货人: the foreign buyer (debtor) named on the declaration."""

    code: str
    name: str
    country: str  # ISO 3166 alpha-3 (2018 format)
    port: str  # 指运港 code [guess]


_OVERSEAS = (
    Overseas("DE811234567", "HANSA MASCHINENBAU GMBH", "DEU", "DEU215"),
    Overseas("NL823456789B01", "DELTA INDUSTRIAL SUPPLIES B.V.", "NLD", "NLD116"),
    Overseas("201912345K", "PACIFIC PRECISION PTE. LTD.", "SGP", "SGP000"),
    Overseas("98-7654321", "GREAT LAKES MACHINERY INC.", "USA", "USA110"),
    Overseas("0104-01-123456", "SAKURA KOGYO CO., LTD.", "JPN", "JPN081"),
    Overseas("2208112345", "HAN RIVER ELECTRONICS CO., LTD.", "KOR", "KOR027"),
    Overseas("0105561012345", "SIAM AUTO PARTS CO., LTD.", "THA", "THA014"),
    Overseas("AE100200300", "GULF TRADING FZE", "ARE", "ARE004"),
)


@dataclass(frozen=True)
class DeclarationLine:
    g_no: int
    code_ts: str
    g_name: str
    g_model: str
    quantity: int
    unit: str  # customs unit code
    price: Decimal  # DeclPrice, at most 4 places
    total: Decimal  # DeclTotal, 2 places


@dataclass(frozen=True)
class Declaration:
    entry_id: str
    seq_no: str
    client_seq_no: str
    case_id: str
    invoice_number: str
    contract_no: str
    customs_master: str
    ie_port: str
    desp_port: str
    ie_date: date
    declare_date: date
    exporter: Company
    trade_code: str  # 10-character customs registration code of the exporter
    overseas: Overseas
    bill_no: str
    pack_no: int
    gross_weight: Decimal
    net_weight: Decimal
    lines: tuple[DeclarationLine, ...]
    currency: str = CURRENCY

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))


def is_export(case: GeneratedCase) -> bool:
    """Goods only: a case invoicing services never goes through customs."""
    return all(line.product_code in _GOODS for line in case.invoice.lines)


def export_declarations(seed: int, cases: int = DEFAULT_CASES) -> dict[str, Declaration]:
    """EntryId -> declaration for every export among the first `cases` dataset cases."""
    companies = generate_companies(seed)
    found: dict[str, Declaration] = {}
    base = random.Random(f"factorhub-sim:customs:numbering:{seed}").randint(1, 400_000_000)
    for case in generate_invoices(seed, cases, companies):
        if is_export(case):
            declaration = _declaration(seed, case, base)
            found[declaration.entry_id] = declaration
    return found


def shifted(declaration: Declaration, percent: int) -> Declaration:
    """The declaration with every line's price and total moved by `percent` (a QA anomaly)."""
    lines = []
    for line in declaration.lines:
        total = to_fen(line.total * (100 + percent) / 100)
        lines.append(replace(line, total=total, price=_price(total, line.quantity)))
    return replace(declaration, lines=tuple(lines))


def _declaration(seed: int, case: GeneratedCase, base: int) -> Declaration:
    rng = random.Random(f"factorhub-sim:customs:{seed}:{case.index}")
    master, port, desp = _CUSTOMS_OF_CITY.get(case.seller.city, ("2200", "2248", "310101"))
    ie_date = case.invoice.issue_date + timedelta(days=rng.randint(0, 5))
    declare_date = ie_date - timedelta(days=rng.randint(1, 3))
    serial = base + case.index
    lines = tuple(_line(n, line) for n, line in enumerate(case.invoice.lines, 1))
    net = Decimal(sum(line.quantity for line in lines) * rng.randint(5, 40))
    return Declaration(
        entry_id=f"{master}{ie_date:%Y}0{serial:09d}",
        seq_no=f"{master}{declare_date:%Y}0{(serial * 7 + 13) % 10**9:09d}",
        client_seq_no=f"CLT{declare_date:%Y%m%d}{rng.randrange(10**8):08d}",
        case_id=case.case_id,
        invoice_number=case.invoice.number,
        contract_no=case.order.number,
        customs_master=master,
        ie_port=port,
        desp_port=desp,
        ie_date=ie_date,
        declare_date=declare_date,
        exporter=case.seller,
        trade_code=_trade_code(case.seller),
        overseas=rng.choice(_OVERSEAS),
        bill_no=f"{rng.choice(('COSU', 'MSKU', 'OOLU', 'EGLV'))}{rng.randrange(10**10):010d}",
        pack_no=max(1, sum(line.quantity for line in lines) // 20),
        gross_weight=net + Decimal(rng.randint(10, 200)),
        net_weight=net,
        lines=lines,
    )


def _line(g_no: int, line: Line) -> DeclarationLine:
    code_ts, unit = _GOODS[line.product_code]
    return DeclarationLine(
        g_no=g_no,
        code_ts=code_ts,
        g_name=line.product_name,
        g_model=f"0|0|{line.product_name}|{line.product_code}|无品牌",
        quantity=line.quantity,
        unit=unit,
        price=_price(line.amount, line.quantity),
        total=line.amount,
    )


def _price(total: Decimal, quantity: int) -> Decimal:
    return (total / quantity).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _trade_code(company: Company) -> str:
    """10 characters: 4-digit region, 经济区划 digit, 企业性质 digit, 4-digit serial."""
    rng = random.Random(f"factorhub-sim:customs:trade-code:{company.uscc}")
    return (
        f"{company.uscc[2:6]}{rng.choice('1234569')}{rng.choice('2345')}{rng.randrange(10**4):04d}"
    )
