"""The companies the credit bureau knows: the ERP dataset's sellers and buyers (same seed, same
USCCs and names), each with seeded registration details and a seeded credit profile, plus what a
scenario sets (status 存续 / 注销 / 吊销 and risk items 失信被执行人 / 被执行人).
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from simulators import uscc as uscc_rules
from simulators.erp.dataset import generate_companies

__all__ = [
    "ACTIVE",
    "STATUSES",
    "CompanySetting",
    "CreditScenario",
    "Loan",
    "QccAccount",
    "RiskItem",
    "RiskSetting",
    "Subject",
    "TycAccount",
    "apply_setting",
    "normalize_name",
    "seeded_subjects",
]

ACTIVE = "存续"
STATUSES = ("存续", "注销", "吊销")
Status = Literal["存续", "注销", "吊销"]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
_GIVEN = (
    "伟",
    "芳",
    "建国",
    "海峰",
    "晓明",
    "丽华",
    "志强",
    "秀英",
    "国庆",
    "文斌",
    "永红",
    "立新",
)
_KINDS = ("有限责任公司（自然人投资或控股）", "有限责任公司（法人独资）", "其他有限责任公司")
_SCOPES = ("机械设备、电子产品的研发、生产和销售；货物及技术进出口。",)


@dataclass(frozen=True)
class RiskItem:
    """One 失信被执行人 or 被执行人 record."""

    case_no: str  # 案号
    court: str
    amount: Decimal  # 执行标的 (yuan)
    registered_on: date  # 立案日期
    published_on: date
    performance: str = "全部未履行"  # 履行情况 (失信 only)
    duty: str = "支付货款及利息"  # 生效法律文书确定的义务


@dataclass(frozen=True)
class Loan:
    """A 信息概要 line: outstanding balance per loan category (yuan)."""

    category: str
    accounts: int
    balance: Decimal


@dataclass(frozen=True)
class Subject:
    uscc: str
    name: str
    city: str
    legal_representative: str
    capital_wan: int  # 注册资本, 万元人民币
    paid_in_wan: int
    established: date
    address: str
    enterprise_type: str
    scope: str
    registration_no: str  # 15-digit 工商注册号
    key_no: str  # 企查查 KeyNo
    tyc_id: int  # 天眼查 company id
    zhongzheng_code: str  # 16-character 中征码
    first_credit_year: int
    loans: tuple[Loan, ...]
    settled_accounts: int
    guarantee_balance: Decimal
    status: str = ACTIVE
    status_date: date | None = None
    status_reason: str = ""
    dishonest: tuple[RiskItem, ...] = field(default=())
    executed: tuple[RiskItem, ...] = field(default=())

    @property
    def org_no(self) -> str:
        return f"{self.uscc[8:16]}-{self.uscc[16]}"

    @property
    def registration_authority(self) -> str:
        return f"{self.city}市市场监督管理局"


def normalize_name(name: str) -> str:
    """（）and () compare equal; blanks are ignored (formats-inbound §0.6)."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def seeded_subjects(seed: int) -> dict[str, Subject]:
    """USCC -> subject for every company of the ERP dataset of this seed."""
    companies = generate_companies(seed)
    return {
        c.uscc: subject_of(seed, c.uscc, c.name, c.city)
        for c in (*companies.sellers, *companies.buyers)
    }


def subject_of(seed: int, code: str, name: str, city: str) -> Subject:
    rng = random.Random(f"factorhub-sim:credit:{seed}:{code}")
    established = date(rng.randint(1998, 2019), rng.randint(1, 12), rng.randint(1, 28))
    capital = rng.choice((500, 1000, 2000, 3000, 5000, 8000, 10000))
    loans = tuple(
        Loan(category, rng.randint(1, 4), Decimal(rng.randint(50, 3000) * 10_000))
        for category in rng.sample(("非循环贷账户", "循环额度下分账户", "贴现账户", "保理"), 2)
    )
    digest = hashlib.md5(f"{seed}:{code}".encode()).hexdigest()
    return Subject(
        uscc=code,
        name=name,
        city=city,
        legal_representative=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
        capital_wan=capital,
        paid_in_wan=capital if rng.random() < 0.6 else capital // 2,
        established=established,
        address=f"{city}市{rng.choice(('高新区', '工业园区', '经济开发区'))}"
        f"{rng.choice(('科技', '创业', '长江', '星湖'))}路{rng.randint(1, 999)}号",
        enterprise_type=rng.choice(_KINDS),
        scope=_SCOPES[0],
        registration_no=code[2:8] + f"{rng.randrange(10**9):09d}",
        key_no=digest,
        tyc_id=int(digest[:8], 16) % 3_000_000_000 + 10_000_000,
        zhongzheng_code=f"{code[2:8]}{rng.randrange(10**10):010d}",
        first_credit_year=max(established.year, 2000) + rng.randint(0, 4),
        loans=loans,
        settled_accounts=rng.randint(0, 20),
        guarantee_balance=Decimal(rng.choice((0, 0, 100, 300, 500)) * 10_000),
    )


def _valid_uscc(code: str) -> str:
    code = code.strip().upper()
    if not uscc_rules.is_valid(code):
        raise ValueError("not a valid 统一社会信用代码 (GB 32100-2015 check character)")
    return code


Uscc = Annotated[str, AfterValidator(_valid_uscc)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class RiskSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_no: Text
    court: Text
    amount: Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
    registered_on: date
    published_on: date | None = None
    performance: Text = "全部未履行"
    duty: Text = "支付货款及利息"

    def item(self) -> RiskItem:
        return RiskItem(
            case_no=self.case_no,
            court=self.court,
            amount=self.amount,
            registered_on=self.registered_on,
            published_on=self.published_on or self.registered_on,
            performance=self.performance,
            duty=self.duty,
        )


class CompanySetting(BaseModel):
    """One company's registration status and risk items; `name` adds a company unknown to the
    ERP dataset."""

    model_config = ConfigDict(extra="forbid")

    uscc: Uscc
    name: Text | None = None
    city: Text = "上海"
    status: Status | None = None
    status_date: date | None = None
    status_reason: Annotated[str, Field(max_length=200)] = ""
    dishonest: list[RiskSetting] | None = None
    executed: list[RiskSetting] | None = None


class QccAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_key: Text = "qcc-sim-key"
    secret_key: Text = "qcc-sim-secret"
    quota: Annotated[int, Field(ge=0)] | None = None
    """Billed calls left; None = unlimited."""


class TycAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Text = "tyc-sim-token"
    quota: Annotated[int, Field(ge=0)] | None = None


class CreditScenario(BaseModel):
    """The `credit` section of a scenario YAML."""

    model_config = ConfigDict(extra="forbid")

    companies: list[CompanySetting] = []
    qcc: QccAccount = QccAccount()
    tianyancha: TycAccount = TycAccount()


def apply_setting(seed: int, subjects: dict[str, Subject], setting: CompanySetting) -> Subject:
    """The subject as the setting leaves it (a new one when the USCC is not known)."""
    subject = subjects.get(setting.uscc)
    if subject is None:
        if setting.name is None:
            raise ValueError(f"{setting.uscc} is not a dataset company: give its name")
        subject = subject_of(seed, setting.uscc, setting.name, setting.city)
    elif setting.name is not None:
        subject = replace(subject, name=setting.name)
    if setting.status is not None:
        subject = replace(
            subject,
            status=setting.status,
            status_date=None if setting.status == ACTIVE else setting.status_date,
            status_reason="" if setting.status == ACTIVE else setting.status_reason,
        )
    if setting.dishonest is not None:
        subject = replace(subject, dishonest=tuple(r.item() for r in setting.dishonest))
    if setting.executed is not None:
        subject = replace(subject, executed=tuple(r.item() for r in setting.executed))
    return subject
