"""Request bodies of the registry API, validated strictly so that hub mistakes surface as 422."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulators import uscc

_AMOUNT = re.compile(r"\d{1,16}(\.\d{1,2})?")

Text64 = Annotated[str, Field(min_length=1, max_length=64)]


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
        if not _AMOUNT.fullmatch(value) or Decimal(value) <= 0:
            raise ValueError('a positive decimal string with at most 2 places, e.g. "113000.00"')
        return value


class RegistrationRequest(_Strict):
    filer_reference: Text64
    business_type: Literal["保理"]
    assignor: Party
    assignee: Party
    property_description: Annotated[str, Field(min_length=1, max_length=8000)]
    period_months: Annotated[int, Field(ge=1, le=360)]
    main_contract: MainContract | None = None
    invoices: Annotated[list[Text64], Field(max_length=10_000, default_factory=list)]


class BatchRequest(_Strict):
    """A 批量登记 upload: the items are checked one by one, so one bad filing spoils nothing."""

    registrations: Annotated[list[dict[str, object]], Field(min_length=1, max_length=500)]


class CancelRequest(_Strict):
    modification_code: Annotated[str, Field(min_length=1, max_length=64)]


class SeedRequest(_Strict):
    """Registrations filed by other factors; `registered_at` may backdate them."""

    registrations: Annotated[list[SeededRegistration], Field(min_length=1, max_length=10_000)]


class SeededRegistration(RegistrationRequest):
    registered_at: datetime | None = None


SeedRequest.model_rebuild()


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as the API's `{"field", "reason"}` list."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "reason": error["msg"],
        }
        for error in exc.errors()
    ]
