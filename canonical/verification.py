"""What the national VAT invoice verification service (发票查验) said about one invoice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from canonical.documents import Invoice, Provenance
from canonical.money import Money

__all__ = ["InvoiceVerification", "TaxStatus", "VerificationResult"]


class VerificationResult(StrEnum):
    """The outcome of one check (factoring-domain §3.2 decides what the hub does with it)."""

    CONSISTENT = "consistent"
    """查验一致: the invoice exists with the data asked about; its face data comes back."""
    INCONSISTENT = "inconsistent"
    """信息不一致: the invoice exists but the date, amount or check code differ."""
    NOT_FOUND = "not_found"
    """查无此票 (a same-day invoice is not yet known: retry the next day)."""
    LIMIT_EXCEEDED = "limit_exceeded"
    """More than 5 checks of this invoice today, or the service is throttling: transient."""
    NOT_YET_CHECKABLE = "not_yet_checkable"
    """Issued today: checkable from the next day."""
    TOO_OLD = "too_old"
    """Older than the service's window (5 years): it cannot be checked."""
    INVALID_REQUEST = "invalid_request"
    """The request itself was refused (a missing or malformed input)."""
    SERVICE_ERROR = "service_error"
    """The service failed (timeout, busy): transient."""


class TaxStatus(StrEnum):
    """The invoice's status as the tax authority knows it."""

    NORMAL = "normal"
    """正常."""
    VOID = "void"
    """作废 (cancellationMark 1)."""
    RED_FLUSHED = "red_flushed"
    """全额红冲: fully reversed by red-letter invoices."""
    PARTLY_RED_FLUSHED = "partly_red_flushed"
    """部分红冲: the eligible face is reduced by the red amount."""
    OUT_OF_CONTROL = "out_of_control"
    """失控: the issuer's invoices are out of the tax authority's control."""
    ABNORMAL = "abnormal"
    """异常凭证."""


class InvoiceVerification(BaseModel):
    """One verification answer: the result, and the invoice as the tax authority knows it."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    invoice_key: str = Field(min_length=8, max_length=32)
    """code + number of the invoice checked (code empty for 数电票)."""
    result: VerificationResult
    result_code: str = Field(min_length=1, max_length=64)
    """The service's own code, kept for audit (`0000`, `009`, ...)."""
    message: str = Field(default="", max_length=500)
    status: TaxStatus | None = None
    """Known only when the service found the invoice."""
    invoice: Invoice | None = None
    """The face data the service returned (on a consistent answer)."""
    checked_at: datetime
    check_count: int | None = Field(default=None, ge=0)
    """How many times the invoice was checked (the service allows 5 a day)."""
    seller_tax_no: str = Field(default="", max_length=20)
    """销方税号 as the tax authority knows it (read even when the face data is not mapped)."""
    buyer_tax_no: str = Field(default="", max_length=20)
    """购方税号 as the tax authority knows it."""
    red_total: Money | None = None
    """部分红冲: what the red-letter invoices issued against it take off, incl. tax, as a
    positive amount (None: not flushed, or the service did not say)."""
    provenance: Provenance

    @property
    def transient(self) -> bool:
        """Worth asking again later (tomorrow): throttled, same-day, or a service failure."""
        return self.result in (
            VerificationResult.LIMIT_EXCEEDED,
            VerificationResult.NOT_YET_CHECKABLE,
            VerificationResult.SERVICE_ERROR,
        )
