"""The invoices the tax platform holds: the ERP dataset's blue 数电 invoices and red ones made here.

The platform sees what the seller issued, so every blue invoice is built from
`simulators.erp.dataset` with the same seed and dataset settings the ERP simulators push. Parties
get an address, phone and bank account on the invoice face (derived from their USCC, so stable).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from simulators.common.clock import CST
from simulators.erp.dataset import Company, GeneratedCase, Line
from simulators.erp.money import to_fen

__all__ = [
    "Face",
    "FaceLine",
    "Party",
    "PlatformInvoice",
    "blue_invoice",
    "red_invoice",
]

Kind = Literal["special", "normal"]

# 税收分类编码 (19 digits) and 税收分类简称 per product code: plausible, not official [L].
_TAX_CATEGORY: dict[str, tuple[str, str]] = {
    "M": ("金属切削机床", "1090101010000000000"),
    "S": ("信息技术服务", "3040203000000000000"),
    "P": ("包装制品", "1060506000000000000"),
}
_CATEGORY_BY_PRODUCT: dict[str, tuple[str, str]] = {
    "M0003": ("电动机", "1090405010000000000"),
    "M0005": ("钢材", "1080206000000000000"),
    "M0006": ("铝材", "1080301000000000000"),
    "M0007": ("仪器仪表", "1091001000000000000"),
    "M0008": ("电子元件", "1090507000000000000"),
    "S0003": ("运输服务", "3010101000000000000"),
    "S0004": ("鉴证咨询服务", "3040602000000000000"),
}
_ROADS = ("人民路", "长江路", "解放路", "建设路", "中山路", "青年路", "新华路", "科技路")
_AREA_CODES = {
    "苏州": "0512",
    "无锡": "0510",
    "南京": "025",
    "常州": "0519",
    "上海": "021",
    "杭州": "0571",
    "宁波": "0574",
    "合肥": "0551",
    "深圳": "0755",
    "东莞": "0769",
    "青岛": "0532",
    "成都": "028",
}


@dataclass(frozen=True)
class Party:
    """One side of the invoice as printed on its face."""

    name: str
    tax_no: str
    address: str
    phone: str
    bank_name: str
    bank_account: str


@dataclass(frozen=True)
class FaceLine:
    """One 明细 line. `quantity`/`unit_price` are None on a 销售折让 (partial red) line."""

    line_no: int
    item_name: str  # *税收分类简称*商品名
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    tax_rate: int  # percent
    tax: Decimal
    tax_code: str

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


@dataclass(frozen=True)
class Face:
    """What the issuer put on the invoice."""

    number: str  # 20-digit 数电 number
    kind: Kind
    issued_at: datetime  # CST
    seller: Party
    buyer: Party
    lines: tuple[FaceLine, ...]
    remark: str
    drawer: str


@dataclass(frozen=True)
class PlatformInvoice:
    face: Face
    case_id: str | None  # the dataset case of a blue invoice; None for a red one
    blue_number: str | None = None  # set on a red invoice: the invoice it flushes
    confirmation_no: str | None = None  # 红字发票信息确认单编号 of a red invoice

    @property
    def number(self) -> str:
        return self.face.number

    @property
    def issue_date(self) -> date:
        return self.face.issued_at.date()

    @property
    def province(self) -> str:
        return self.face.number[2:4]

    @property
    def is_red(self) -> bool:
        return self.blue_number is not None

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.face.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.face.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


def blue_invoice(case: GeneratedCase) -> PlatformInvoice:
    inv = case.invoice
    minutes = _digest_int("issue-time", inv.number) % (9 * 60)
    issued_at = datetime.combine(inv.issue_date, time(9), CST) + timedelta(minutes=minutes)
    face = Face(
        number=inv.number,
        kind=inv.kind,
        issued_at=issued_at,
        seller=_party(case.seller),
        buyer=_party(case.buyer),
        lines=tuple(_face_line(line) for line in inv.lines),
        remark=f"订单号：{case.order.number}",
        drawer=_drawer(case.seller),
    )
    return PlatformInvoice(face=face, case_id=case.case_id)


def red_invoice(
    seed: int, blue: PlatformInvoice, issued_on: date, amount: Decimal | None
) -> PlatformInvoice:
    """The red invoice flushing `blue`: all of it when `amount` is None, else a 销售折让 of
    `amount` (tax-exclusive) spread over the blue lines in proportion."""
    rng = random.Random(f"factorhub-sim:vat:red:{seed}:{blue.number}")
    serial = rng.randint(9 * 10**14, 10**15 - 1)  # above every dataset serial: never collides
    number = f"{issued_on:%y}{blue.province}1{serial:015d}"
    confirmation = f"{blue.province}{issued_on:%y%m%d}{rng.randint(0, 10**12 - 1):012d}"
    lines = _full_red(blue) if amount is None else _partial_red(blue, amount)
    issued_at = datetime.combine(issued_on, time(10), CST) + timedelta(minutes=rng.randrange(420))
    remark = f"被红冲蓝字数电发票号码：{blue.number} 红字发票信息确认单编号：{confirmation}"
    face = Face(
        number=number,
        kind=blue.face.kind,
        issued_at=issued_at,
        seller=blue.face.seller,
        buyer=blue.face.buyer,
        lines=lines,
        remark=remark,
        drawer=blue.face.drawer,
    )
    return PlatformInvoice(face, None, blue_number=blue.number, confirmation_no=confirmation)


def _full_red(blue: PlatformInvoice) -> tuple[FaceLine, ...]:
    return tuple(
        FaceLine(
            line_no=line.line_no,
            item_name=line.item_name,
            unit=line.unit,
            quantity=-line.quantity if line.quantity is not None else None,
            unit_price=line.unit_price,
            amount=-line.amount,
            tax_rate=line.tax_rate,
            tax=-line.tax,
            tax_code=line.tax_code,
        )
        for line in blue.face.lines
    )


def _partial_red(blue: PlatformInvoice, amount: Decimal) -> tuple[FaceLine, ...]:
    if not Decimal("0") < amount < blue.amount:
        raise ValueError(f"a partial red flush must be between 0 and {blue.amount} excl. tax")
    lines: list[FaceLine] = []
    left = amount
    for index, line in enumerate(blue.face.lines):
        last = index == len(blue.face.lines) - 1
        share = left if last else min(left, to_fen(amount * line.amount / blue.amount))
        left -= share
        if share == 0:
            continue
        tax = to_fen(share * line.tax_rate / 100)
        lines.append(
            FaceLine(
                line_no=len(lines) + 1,
                item_name=line.item_name,
                unit="",
                quantity=None,
                unit_price=None,
                amount=-share,
                tax_rate=line.tax_rate,
                tax=-tax,
                tax_code=line.tax_code,
            )
        )
    return tuple(lines)


def _face_line(line: Line) -> FaceLine:
    short, code = _CATEGORY_BY_PRODUCT.get(line.product_code) or _TAX_CATEGORY[line.product_code[0]]
    return FaceLine(
        line_no=line.line_no,
        item_name=f"*{short}*{line.product_name}",
        unit=line.unit,
        quantity=Decimal(line.quantity),
        unit_price=line.unit_price,
        amount=line.amount,
        tax_rate=line.tax_rate,
        tax=line.tax,
        tax_code=code,
    )


def _party(company: Company) -> Party:
    n = _digest_int("address", company.uscc)
    road = _ROADS[n % len(_ROADS)]
    area = _AREA_CODES.get(company.city, "010")
    return Party(
        name=company.name,
        tax_no=company.uscc,
        address=f"{company.city}市{road}{n % 900 + 1}号",
        phone=f"{area}-{6000_0000 + n % 4000_0000}",
        bank_name=company.bank_name,
        bank_account=company.bank_account,
    )


def _drawer(company: Company) -> str:
    names = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨敏", "赵磊", "周婷")
    return names[_digest_int("drawer", company.uscc) % len(names)]


def _digest_int(purpose: str, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{purpose}:{key}".encode()).digest()[:8], "big")
