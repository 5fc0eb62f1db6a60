"""Credit information: the PBOC enterprise credit report summary and company-data profiles.

`CreditReportSummary` is what the hub keeps of a PBOC 企业信用报告 (second generation: report
header, identity, 信息概要); `EnterpriseProfile` is the 工商 basic information that 企查查 and
天眼查 return; `CourtRecords` one page of an enterprise's 失信被执行人 or 被执行人 records. All keep
provenance; none carries the vendor's raw answer. `CreditStanding` is what the flow asks a credit
bureau before financing against an enterprise (factoring-domain §3.6, §3.8).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from canonical.documents import Provenance
from canonical.money import Money
from canonical.parties import USCC

__all__ = [
    "CourtRecord",
    "CourtRecordKind",
    "CourtRecords",
    "CreditReportSummary",
    "CreditStanding",
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


class CourtRecordKind(StrEnum):
    """Which list of the 中国执行信息公开网 a court record comes from."""

    DISHONEST = "dishonest"
    """失信被执行人 (the 失信 blacklist: able to perform, refused to)."""
    EXECUTED = "executed"
    """被执行人 (an enforcement case is open against the enterprise)."""


class CourtRecord(BaseModel):
    """One 失信被执行人 or 被执行人 record (formats-outbound §4.3 "Hub mapping": RiskItem)."""

    model_config = _FROZEN

    kind: CourtRecordKind
    case_no: str = Field(min_length=1, max_length=100)
    """案号, e.g. (2026)沪0115执1234号."""
    court: str = Field(default="", max_length=200)
    amount: Money | None = None
    """执行标的 (被执行人) or the part not performed (失信), when the source gives it."""
    registered_on: date | None = None
    """立案日期."""
    performance: str = Field(default="", max_length=100)
    """履行情况 (失信 only), e.g. 全部未履行."""


class CourtRecords(BaseModel):
    """One enterprise's records of one kind as a bureau lists them: the total it reports and
    the records of the page it sent (possibly fewer than the total)."""

    model_config = _FROZEN

    kind: CourtRecordKind
    total: int = Field(ge=0)
    records: tuple[CourtRecord, ...] = ()
    provenance: Provenance


class CreditStanding(BaseModel):
    """What a credit bureau says of one enterprise when the flow asks: its 登记状态 and whether
    it is a 失信被执行人 (and, when asked, a 被执行人)."""

    model_config = _FROZEN

    uscc: USCC
    profile: EnterpriseProfile | None
    """Its 工商 basic information; None: the bureau knows no enterprise with this USCC."""
    dishonest: CourtRecords
    executed: CourtRecords | None = None
    """None: not asked."""
    checked_at: AwareDatetime

    @property
    def status(self) -> EnterpriseStatus | None:
        """The 登记状态, or None when the bureau does not know the enterprise."""
        return None if self.profile is None else self.profile.status
