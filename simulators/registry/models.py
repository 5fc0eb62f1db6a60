"""Request bodies of the registry API, validated strictly so that hub mistakes surface as 422."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulators import uscc

__all__ = [
    "AmendmentRequest",
    "BatchRequest",
    "CancelRequest",
    "Changes",
    "ConflictSpec",
    "ExtensionRequest",
    "MainContract",
    "Party",
    "RegistrationRequest",
    "SeedRequest",
    "SeededRegistration",
    "field_errors",
]

_AMOUNT = re.compile(r"\d{1,16}(\.\d{1,2})?")

Text64 = Annotated[str, Field(min_length=1, max_length=64)]
Description = Annotated[str, Field(min_length=1, max_length=8000)]
Months = Annotated[int, Field(ge=1, le=360)]
"""登记期限: 1 month to 30 years."""
ModificationCode = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Party(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    uscc: str

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("uscc")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 18:
            raise ValueError("a USCC has 18 characters")
        if any(c not in uscc.CHARSET for c in code):
            raise ValueError("character outside the USCC charset")
        if not uscc.is_valid(code):
            raise ValueError("wrong USCC check character")
        return code


class MainContract(_Strict):
    number: Text64
    currency: Literal["CNY"]
    amount: str

    @field_validator("amount")
    @classmethod
    def _decimal_string(cls, value: str) -> str:
        return _positive_amount(value)


class RegistrationRequest(_Strict):
    filer_reference: Text64
    business_type: Literal["保理"]
    assignor: Party
    assignee: Party
    property_description: Description
    period_months: Months
    main_contract: MainContract | None = None
    invoices: Annotated[list[Text64], Field(max_length=10_000, default_factory=list)]


class BatchRequest(_Strict):
    """A 批量登记 upload: the items are checked one by one, so one bad filing spoils nothing."""

    registrations: Annotated[list[dict[str, object]], Field(min_length=1, max_length=500)]


class CancelRequest(_Strict):
    """注销登记."""

    modification_code: ModificationCode


class Changes(_Strict):
    """What a 变更登记 replaces; fields left out stay as they are."""

    assignor: Party | None = None
    assignee: Party | None = None
    property_description: Description | None = None
    main_contract: MainContract | None = None
    invoices: Annotated[list[Text64], Field(max_length=10_000)] | None = None

    @model_validator(mode="after")
    def _something(self) -> Changes:
        if not self.model_fields_set:
            raise ValueError("a change registration must change at least one field")
        for name in ("assignor", "assignee", "property_description", "invoices"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed, only replaced")
        return self


class AmendmentRequest(_Strict):
    """变更登记."""

    modification_code: ModificationCode
    changes: Changes


class ExtensionRequest(_Strict):
    """展期登记: `period_months` more months, allowed in the 90 days before expiry."""

    modification_code: ModificationCode
    period_months: Months


class SeededRegistration(RegistrationRequest):
    """A registration filed by another factor; `registered_at` may backdate it."""

    registered_at: datetime | None = None
    cancelled: bool = False


class ConflictSpec(_Strict):
    """Shorthand for another factor's registration over a seller's receivables.

    The seller is given as a party or as an index into the ERP dataset's sellers (the same seed,
    so the registry tells the ERP's story); with no `invoices` the description covers all of the
    seller's receivables, which blocks every financing of that seller.
    """

    seller: Party | None = None
    seller_index: Annotated[int, Field(ge=0)] | None = None
    debtor: Party | None = None
    debtor_index: Annotated[int, Field(ge=0)] | None = None
    invoices: Annotated[list[Text64], Field(max_length=10_000, default_factory=list)]
    factor: Party | None = None
    filer_reference: Text64 | None = None
    registered_at: datetime | None = None
    days_before: Annotated[int, Field(ge=0, le=36_500)] = 30
    period_months: Months = 12
    amount: str | None = None
    cancelled: bool = False

    @model_validator(mode="after")
    def _one_seller(self) -> ConflictSpec:
        if (self.seller is None) == (self.seller_index is None):
            raise ValueError("give exactly one of seller and seller_index")
        if self.debtor is not None and self.debtor_index is not None:
            raise ValueError("give at most one of debtor and debtor_index")
        return self

    @field_validator("amount")
    @classmethod
    def _decimal_string(cls, value: str | None) -> str | None:
        return None if value is None else _positive_amount(value)


class DatasetSize(_Strict):
    """How the ERP dataset's companies were drawn (`simulators.erp.dataset.generate_companies`)."""

    sellers: Annotated[int, Field(ge=1, le=1000)] = 5
    buyers: Annotated[int, Field(ge=1, le=1000)] = 20


class SeedRequest(_Strict):
    """`POST /admin/seed` and the scenario section: other factors' registrations."""

    registrations: Annotated[list[SeededRegistration], Field(max_length=10_000)] = []
    conflicts: Annotated[list[ConflictSpec], Field(max_length=10_000)] = []
    companies: DatasetSize = DatasetSize()

    @model_validator(mode="after")
    def _not_empty(self) -> SeedRequest:
        if not (self.registrations or self.conflicts):
            raise ValueError("give registrations and/or conflicts")
        return self


def _positive_amount(value: str) -> str:
    if not _AMOUNT.fullmatch(value) or Decimal(value) <= 0:
        raise ValueError('a positive decimal string with at most 2 places, e.g. "113000.00"')
    return value


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as the API's `{"field", "reason"}` list."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "reason": error["msg"],
        }
        for error in exc.errors()
    ]
