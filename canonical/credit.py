"""Credit information: the PBOC enterprise credit report summary and company-data profiles.

`CreditReportSummary` is what the hub keeps of a PBOC 企业信用报告 (second generation: report
header, identity, 信息概要); `EnterpriseProfile` is the 工商 basic information that 企查查 and
天眼查 return. Both keep provenance; neither carries the vendor's raw answer.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from canonical.documents import Provenance
from canonical.money import Money
from canonical.parties import USCC

__all__ = [
    "CreditReportSummary",
    "EnterpriseProfile",
    "EnterpriseStatus",
    "FiveTierBalances",
    "GuaranteeBalance",
    "GuaranteeCategory",
    "LoanBalance",
    "LoanCategory",
    "PublicRecordCounts",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")


class EnterpriseStatus(StrEnum):
    """登记状态, normalised (formats-outbound §4.3 "Hub mapping")."""

    ACTIVE = "active"
    """存续 / 在业 / 在营 / 开业 / 在册."""
    CANCELLED = "cancelled"
    """注销 (deregistered), including 吊销后已注销."""
    REVOKED = "revoked"
    """吊销 (business licence revoked), not yet deregistered."""
    OTHER = "other"
    """Anything else (迁出, 停业, 清算, 撤销, ...): see `status_text`."""


class EnterpriseProfile(BaseModel):
    """Basic business registration information of one enterprise (企查查 / 天眼查)."""

    model_config = _FROZEN

    uscc: USCC
    name: str = Field(min_length=1, max_length=200)
    legal_representative: str = Field(default="", max_length=100)
    registered_capital: Money | None = None
    """注册资本 in its own currency, in whole units (not 万): "5000万元人民币" is 50 000 000 CNY."""
    paid_in_capital: Money | None = None
    """实缴资本, when the source gives it."""
    established_on: date | None = None
    status: EnterpriseStatus
    status_text: str = Field(default="", max_length=100)
    """The status exactly as the source wrote it (e.g. "存续（在营、开业、在册）")."""
    enterprise_type: str = Field(default="", max_length=100)
    """企业类型 / 公司类型 (e.g. 有限责任公司(自然人投资或控股))."""
    industry: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=300)
    registration_authority: str = Field(default="", max_length=200)
    business_scope: str = Field(default="", max_length=4000)
    former_names: tuple[str, ...] = ()
    cancelled_on: date | None = None
    revoked_on: date | None = None
    provenance: Provenance


class LoanCategory(StrEnum):
    """借贷账户 types of the second-generation report."""

    NON_REVOLVING = "non_revolving"
    """非循环贷账户."""
    REVOLVING_SUB_ACCOUNT = "revolving_sub_account"
    """循环额度下分账户."""
    REVOLVING = "revolving"
    """循环贷账户."""
    DISCOUNT = "discount"
    """贴现账户."""
    FACTORING = "factoring"
    """保理 / 应收账款融资."""
    OTHER = "other"
    """其他借贷."""


class GuaranteeCategory(StrEnum):
    """担保账户 types (off-balance-sheet business the bank guarantees for the subject)."""

    BANK_ACCEPTANCE = "bank_acceptance"
    """银行承兑汇票."""
    LETTER_OF_CREDIT = "letter_of_credit"
    """信用证."""
    LETTER_OF_GUARANTEE = "letter_of_guarantee"
    """银行保函."""
    OTHER = "other"
    """其他担保交易."""


class LoanBalance(BaseModel):
    """Outstanding (未结清) loan accounts of one category: how many and their balance."""

    model_config = _FROZEN

    category: LoanCategory
    accounts: int = Field(ge=0)
    balance: Money


class GuaranteeBalance(BaseModel):
    """Outstanding guarantee accounts of one category: how many and their balance."""

    model_config = _FROZEN

    category: GuaranteeCategory
    accounts: int = Field(ge=0)
    balance: Money


class FiveTierBalances(BaseModel):
    """Outstanding loan balance by 五级分类 (正常/关注/次级/可疑/损失)."""

    model_config = _FROZEN

    normal: Money
    special_mention: Money
    """关注."""
    substandard: Money
    """次级 (the first of the three 不良 tiers)."""
    doubtful: Money
    """可疑."""
    loss: Money
    """损失."""

    @property
    def non_performing(self) -> Money:
        """不良 = 次级 + 可疑 + 损失."""
        return self.substandard + self.doubtful + self.loss


class PublicRecordCounts(BaseModel):
    """公共信息概要: how many records of each kind the report lists."""

    model_config = _FROZEN

    tax_arrears: int = Field(default=0, ge=0)
    """欠税."""
    civil_judgments: int = Field(default=0, ge=0)
    """民事判决."""
    enforcements: int = Field(default=0, ge=0)
    """强制执行."""
    administrative_penalties: int = Field(default=0, ge=0)
    """行政处罚."""


class CreditReportSummary(BaseModel):
    """What the hub keeps of a PBOC 企业信用报告: header, subject and 信息概要."""

    model_config = _FROZEN

    report_no: str = Field(min_length=1, max_length=64)
    reported_at: AwareDatetime
    """报告时间 (China time in the source)."""
    query_institution: str = Field(default="", max_length=200)
    query_reason: str = Field(default="", max_length=100)
    """查询原因 as reported (贷前审查, 贷后管理, 保理业务审查, or its code)."""
    subject_name: str = Field(min_length=1, max_length=200)
    subject_uscc: USCC
    zhongzheng_code: str = Field(default="", pattern=r"^([0-9A-Z]{16})?$")
    """中征码 (successor of the loan-card code)."""
    first_credit_year: int | None = Field(default=None, ge=1950, le=2100)
    loans: tuple[LoanBalance, ...] = ()
    """Outstanding 借贷交易 by category (categories not listed have no open account)."""
    loan_balance: Money
    """Total outstanding 借贷 balance (checked against Σ `loans` and Σ `five_tier`)."""
    settled_loan_accounts: int = Field(default=0, ge=0)
    five_tier: FiveTierBalances
    guarantees: tuple[GuaranteeBalance, ...] = ()
    """Outstanding 担保交易 by category."""
    guarantee_balance: Money
    overdue_accounts: int = Field(default=0, ge=0)
    overdue_amount: Money
    max_overdue_days: int = Field(default=0, ge=0)
    recovered_balance: Money
    """被追偿业务 balance (debts a guarantor or AMC is recovering from the subject)."""
    repayment_responsibility: Money
    """相关还款责任: what the subject answers for as guarantor of others."""
    public_records: PublicRecordCounts = PublicRecordCounts()
    provenance: Provenance

    @property
    def has_overdue(self) -> bool:
        return self.overdue_accounts > 0 or self.overdue_amount.amount > 0

    @property
    def has_bad_debt(self) -> bool:
        """Any 不良 balance, or debts already being recovered from the subject."""
        return self.five_tier.non_performing.amount > 0 or self.recovered_balance.amount > 0
