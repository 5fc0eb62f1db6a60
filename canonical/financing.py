"""Financing: the request, and the records each step of the flow produces."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from canonical.documents import (
    CustomsDeclaration,
    DeliveryNote,
    Invoice,
    PurchaseOrder,
    Receivable,
)
from canonical.money import Money
from canonical.parties import BankAccount, Party

__all__ = [
    "DisbursementInstruction",
    "FinancingRequest",
    "FinancingState",
    "LimitReservation",
    "PaymentResult",
    "PaymentStatus",
    "Registration",
    "ReservationState",
]

_FROZEN = ConfigDict(frozen=True, strict=True, extra="forbid")


class FinancingState(StrEnum):
    """Where a financing request stands (the domain's application state machine, §4.1)."""

    SUBMITTED = "SUBMITTED"
    AWAITING_DOCUMENTS = "AWAITING_DOCUMENTS"
    """The invoice names orders that have not come yet (§3.3): matching waits for them, up to
    the policy's `document_wait_hours`; §4.1's SUBMITTED with its documents incomplete."""
    MATCHED = "MATCHED"
    MATCH_REVIEW = "MATCH_REVIEW"
    REGISTRY_REVIEW = "REGISTRY_REVIEW"
    """A blanket registration of another party covers the seller's receivables (§3.1)."""
    LIMIT_RESERVED = "LIMIT_RESERVED"
    REGISTERED = "REGISTERED"
    DISBURSING = "DISBURSING"
    DISBURSED = "DISBURSED"
    PARTIALLY_REPAID = "PARTIALLY_REPAID"
    OVERDUE = "OVERDUE"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """The origination flow is over: paid out, refused or cancelled. (A paid-out financing
        still moves on repayments and the daily overdue job, never back into the flow.)"""
        return self in _TERMINAL

    @property
    def awaiting_operator(self) -> bool:
        """The flow waits for an operator (`factorhub review approve | reject`)."""
        return self in _REVIEW

    @property
    def outstanding(self) -> bool:
        """Money was paid out and is not fully repaid yet."""
        return self in _OUTSTANDING


_REVIEW = frozenset({FinancingState.MATCH_REVIEW, FinancingState.REGISTRY_REVIEW})
_OUTSTANDING = frozenset(
    {FinancingState.DISBURSED, FinancingState.PARTIALLY_REPAID, FinancingState.OVERDUE}
)
_TERMINAL = _OUTSTANDING | {
    FinancingState.SETTLED,
    FinancingState.REJECTED,
    FinancingState.CANCELLED,
}


class FinancingRequest(BaseModel):
    """A seller asks to finance the receivable behind an invoice."""

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=64)
    tenant: str = Field(min_length=1, max_length=64)
    seller: Party
    buyer: Party
    invoice: Invoice
    orders: tuple[PurchaseOrder, ...] = ()
    deliveries: tuple[DeliveryNote, ...] = ()
    declarations: tuple[CustomsDeclaration, ...] = ()
    """The export declarations (报关单) the invoice is matched against (§3.3 customs)."""
    receivable: Receivable
    requested_amount: Money | None = None
    submitted_at: datetime


class ReservationState(StrEnum):
    """Limit reservation lifecycle (§4.3)."""

    RESERVED = "RESERVED"
    CONSUMED = "CONSUMED"
    RELEASED = "RELEASED"
    CANCELLED = "CANCELLED"


class LimitReservation(BaseModel):
    """Headroom held on a seller facility for one request."""

    model_config = _FROZEN

    request_id: str
    seller_uscc: str
    amount: Money
    state: ReservationState = ReservationState.RESERVED


class Registration(BaseModel):
    """Our 中登网 registration of the receivable transfer."""

    model_config = _FROZEN

    request_id: str
    registration_no: str = Field(min_length=1, max_length=32)
    modification_code: str = Field(default="", max_length=32)
    registered_at: datetime
    expires_at: date | None = None


class DisbursementInstruction(BaseModel):
    """A payment to the seller. Its ids are persisted before anything is sent (never pay twice)."""

    model_config = _FROZEN

    id: str = Field(min_length=1, max_length=35)
    """Also the ISO 20022 InstrId and EndToEndId."""
    request_id: str
    message_id: str = Field(min_length=1, max_length=35)
    """The pain.001 GrpHdr/MsgId when the instruction is sent alone (a resend reuses it). In a
    payment file of many, the file's MsgId is derived from its instructions' ids instead; the
    bank's never-twice guarantee rests on the EndToEndId (`id`) either way."""
    amount: Money
    """What the bank pays: the principal less the charges deducted up front."""
    debtor: Party
    debtor_account: BankAccount
    creditor: Party
    creditor_account: BankAccount
    execution_date: date
    remittance: str = Field(default="", max_length=140)
    created_at: datetime
    principal: Money | None = None
    """The financing's principal (None: the amount, nothing deducted)."""
    eligible_base: Money | None = None
    """The receivable face the fee is charged on."""
    fee: Money | None = None
    """The factoring fee deducted from the payment (§6.0: fee_timing upfront)."""
    upfront_interest: Money | None = None
    """Interest to maturity deducted from the payment (discount method)."""


class PaymentStatus(StrEnum):
    """The bank's verdict, from ISO 20022 ExternalPaymentTransactionStatus1Code."""

    PENDING = "PENDING"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"


class PaymentResult(BaseModel):
    """What the bank said about one disbursement."""

    model_config = _FROZEN

    instruction_id: str
    status: PaymentStatus
    bank_code: str = Field(default="", max_length=4)
    """The ISO status code (ACSC, RJCT, ...)."""
    reason: str = ""
    bank_reference: str = ""
    reported_at: datetime
    presumed: bool = False
    """The channel only presumes this outcome (e-CNY PR03 推定成功, PR04 推定失败): the
    operator's reconciliation may still correct it, and a presumed success corrected to a
    failure is undone."""
