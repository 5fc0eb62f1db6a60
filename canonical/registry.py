"""中登网 (动产融资统一登记公示系统): registrations and search certificates.

A registration is notice filing: the filer (担保权人, here the factor) describes the transferred
receivables in free text; the centre records the time, assigns a 登记证明编号 and a 修改码, and
checks nothing of substance. A search by the 担保人's exact name yields a 查询证明 listing every
matching registration (formats-outbound §3, factoring-domain §1.7).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from canonical.documents import Provenance
from canonical.money import Money
from canonical.uscc import uscc_problem

__all__ = [
    "BusinessType",
    "MainContract",
    "RegistrationEntry",
    "RegistrationKind",
    "RegistrationRecord",
    "RegistrationState",
    "RegistryIdType",
    "RegistryParty",
    "RegistryPartyKind",
    "SearchCertificate",
    "SearchCriteria",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")
REGISTRATION_NO_MAX = 32


class RegistrationKind(StrEnum):
    """登记类型: changes, extensions and cancellations are entries linked to the original."""

    INITIAL = "initial"
    """初始登记."""
    CHANGE = "change"
    """变更登记."""
    EXTENSION = "extension"
    """展期登记."""
    CANCELLATION = "cancellation"
    """注销登记."""
    OBJECTION = "objection"
    """异议登记."""


class BusinessType(StrEnum):
    """业务类型 of a registration."""

    FACTORING = "factoring"
    """保理."""
    RECEIVABLE_PLEDGE = "receivable_pledge"
    """应收账款质押."""
    FINANCIAL_LEASE = "financial_lease"
    """融资租赁."""
    RETENTION_OF_TITLE = "retention_of_title"
    """所有权保留."""
    MOVABLES_MORTGAGE = "movables_mortgage"
    """生产设备、原材料、半成品、产品抵押."""
    DOCUMENT_PLEDGE = "document_pledge"
    """存单、仓单、提单质押."""
    OTHER = "other"
    """其他动产和权利担保."""


class RegistryPartyKind(StrEnum):
    """担保人 / 担保权人 类型."""

    ENTERPRISE = "enterprise"
    """企业."""
    PUBLIC_INSTITUTION = "public_institution"
    """事业单位."""
    INDIVIDUAL = "individual"
    """个人."""
    OTHER = "other"
    """其他."""


class RegistryIdType(StrEnum):
    """证件类型."""

    USCC = "uscc"
    """统一社会信用代码 (checked)."""
    RESIDENT_ID = "resident_id"
    """居民身份证."""
    OTHER = "other"
    """Any other document (passport, foreign registration ...)."""


class RegistryParty(BaseModel):
    """A 担保人 (transferor) or 担保权人 (factor) as the registration names it."""

    model_config = _FROZEN

    kind: RegistryPartyKind
    name: str = Field(min_length=1, max_length=200)
    id_type: RegistryIdType
    id_number: str = Field(min_length=1, max_length=64)
    legal_representative: str = Field(default="", max_length=100)
    industry: str = Field(default="", max_length=100)
    size: str = Field(default="", max_length=20)
    """企业规模 (大型/中型/小型/微型) as written."""
    country: str = Field(default="", max_length=50)
    province: str = Field(default="", max_length=50)
    city: str = Field(default="", max_length=50)
    address: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _uscc_is_valid(self) -> RegistryParty:
        if self.id_type is RegistryIdType.USCC:
            problem = uscc_problem(self.id_number)
            if problem:
                raise ValueError(f"invalid 统一社会信用代码: {problem}")
        return self


class MainContract(BaseModel):
    """主合同: the factoring contract the registration secures (optional on the form)."""

    model_config = _FROZEN

    number: str = Field(default="", max_length=100)
    amount: Money | None = None
    """主债权金额 in the contract's 币种."""
    starts_on: date | None = None
    ends_on: date | None = None
    """履行期限 (start and end)."""


class RegistrationState(StrEnum):
    """Where a registration stands on the day it was read."""

    ACTIVE = "active"
    EXPIRED = "expired"
    """登记到期日 has passed without an extension."""
    CANCELLED = "cancelled"
    """注销登记 filed."""


class RegistrationEntry(BaseModel):
    """A registration as anyone searching sees it (the public view, no 修改码)."""

    model_config = _FROZEN

    registration_no: str = Field(min_length=1, max_length=REGISTRATION_NO_MAX)
    """登记证明编号."""
    kind: RegistrationKind = RegistrationKind.INITIAL
    business_type: BusinessType
    registered_at: AwareDatetime
    period_months: int = Field(ge=1, le=360)
    """登记期限 in months (1 month to 30 years)."""
    expires_on: date
    """登记到期日 = registration date (China time) + `period_months`."""
    original_registration_no: str = Field(default="", max_length=REGISTRATION_NO_MAX)
    """For a change, extension, cancellation or objection: the initial registration's number."""
    filer_reference: str = Field(default="", max_length=100)
    """填表人归档号 (the hub writes its financing id here)."""
    assignor: RegistryParty
    """担保人: the transferor of the receivables."""
    assignee: RegistryParty
    """担保权人: the factor."""
    main_contract: MainContract | None = None
    property_description: str = Field(min_length=1, max_length=20000)
    """财产描述: free text naming debtors, contracts, invoice numbers, amounts, periods."""
    receivables_amount: Money | None = None
    """The transferred receivables' amount, when the filing states one."""
    invoice_numbers: tuple[str, ...] = ()
    """Invoice numbers listed with the filing (the attached invoice list)."""
    attachments: tuple[str, ...] = ()
    """File names of attachments (the files themselves are not part of the record)."""
    state: RegistrationState | None = None
    cancelled_at: AwareDatetime | None = None


class RegistrationRecord(RegistrationEntry):
    """One registration read on its own (our filing's receipt and record)."""

    modification_code: str = Field(default="", max_length=64, repr=False)
    """修改码: the secret needed for changes, extensions and cancellation (own filings only)."""
    provenance: Provenance


class SearchCriteria(BaseModel):
    """What the search was run on: the 担保人's exact name and/or USCC, or a number."""

    model_config = _FROZEN

    assignor_name: str = Field(default="", max_length=200)
    assignor_uscc: str = Field(default="", max_length=64)
    registration_no: str = Field(default="", max_length=REGISTRATION_NO_MAX)

    @model_validator(mode="after")
    def _something_was_searched(self) -> SearchCriteria:
        if not (self.assignor_name or self.assignor_uscc or self.registration_no):
            raise ValueError("a search names an assignor or a registration number")
        return self


class SearchCertificate(BaseModel):
    """查询证明: the evidence that a search was made at `searched_at` and what it found."""

    model_config = _FROZEN

    certificate_no: str = Field(min_length=1, max_length=64)
    searched_at: AwareDatetime
    criteria: SearchCriteria
    hits: tuple[RegistrationEntry, ...] = ()
    provenance: Provenance
