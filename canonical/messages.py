"""Messages on the bus: what each step of the factoring flow announces.

Every message names its topic; the DB is the source of truth, so messages carry ids and the
facts the next step needs, not copies of whole aggregates (except the submitted request).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from canonical.financing import (
    DisbursementInstruction,
    FinancingRequest,
    PaymentResult,
    Registration,
)
from canonical.money import Money
from canonical.parties import Party

__all__ = [
    "MESSAGE_TYPES",
    "DisbursementRequested",
    "DocumentWaitExpired",
    "DocumentsMatched",
    "EarlyWarning",
    "EarlyWarningLevel",
    "FinancingRejected",
    "FinancingSubmitted",
    "LimitReserved",
    "Message",
    "PaymentReported",
    "ReceivableRegistered",
    "RepaymentReceived",
]


class Message(BaseModel):
    """Base of every bus message: frozen, strict, with a topic."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    topic: ClassVar[str]
    request_id: str = Field(min_length=1, max_length=64)


class FinancingSubmitted(Message):
    """An ERP pushed an invoice; the hub accepted it as a financing request."""

    topic: ClassVar[str] = "financing.submitted"
    request: FinancingRequest
    verification_attempt: int = Field(default=1, ge=1, le=100)
    """Which 查验 of the invoice this is: 1 when the ERP pushed it; the matching step's
    next-day retry (the platform did not know the invoice yet, or was rate-limited) sends the
    request again with the next attempt (factoring-domain §3.2, §4.1 verification_retry)."""


class DocumentWaitExpired(Message):
    """The time an application was given for the documents its invoice names ran out (a timer
    set when it began AWAITING_DOCUMENTS); nothing happens if it has moved on since."""

    topic: ClassVar[str] = "financing.document-wait-expired"
    awaited: tuple[str, ...] = Field(min_length=1)
    """The order numbers the invoice named that had not come when the wait began (and the
    contracts a required customs declaration was awaited under)."""
    waiting_since: datetime
    hours: int = Field(ge=0)
    """How long the wait was (the policy's `document_wait_hours` then)."""


class DocumentsMatched(Message):
    """The invoice agrees with its purchase order within tolerance."""

    topic: ClassVar[str] = "financing.matched"
    seller: Party
    buyer: Party
    invoice_key: str
    principal: Money
    """Advance rate x the eligible base, rounded down to the fen."""
    eligible_base: Money | None = None
    """The face being financed: the invoice total, or less when only part was delivered
    (§3.3 delivered only); None: the invoice total. The fee is charged on it."""
    due_date: date | None = None
    """The receivable's due date, when the invoice states one: the financing's maturity."""


class LimitReserved(Message):
    """Headroom for the principal is held on the seller's facility."""

    topic: ClassVar[str] = "financing.limit-reserved"
    seller: Party
    buyer: Party
    invoice_key: str
    amount: Money
    """The principal held on the facility."""
    eligible_base: Money | None = None
    """The face being financed: the invoice total, or less when only part was delivered
    (§3.3 delivered only); None: the invoice total. The fee is charged on it."""
    due_date: date | None = None
    """The receivable's due date, when the invoice states one: the financing's maturity."""
    blanket_cleared: bool = False
    """An operator reviewed a blanket registration of another party and let the financing go
    on (`factorhub review approve`): the registration step no longer stops for it."""


class ReceivableRegistered(Message):
    """Our transfer of the receivable is registered at 中登网 with no earlier conflict."""

    topic: ClassVar[str] = "financing.registered"
    registration: Registration
    seller: Party
    invoice_key: str
    amount: Money
    """The principal held on the facility: the disbursement pays it less the charges deducted
    up front (the fee; discounted interest), to the fen."""
    eligible_base: Money | None = None
    """The face being financed: the invoice total, or less when only part was delivered
    (§3.3 delivered only); None: the invoice total. The fee is charged on it."""
    due_date: date | None = None
    """The receivable's due date, when the invoice states one: the financing's maturity."""


class DisbursementRequested(Message):
    """A disbursement was decided and its ids persisted; it may now be sent to the bank."""

    topic: ClassVar[str] = "disbursement.requested"
    instruction: DisbursementInstruction


class PaymentReported(Message):
    """The bank reported the outcome of a disbursement."""

    topic: ClassVar[str] = "payment.reported"
    result: PaymentResult


class FinancingRejected(Message):
    """A step refused the request for good; earlier effects are to be undone."""

    topic: ClassVar[str] = "financing.rejected"
    reason: str = Field(pattern=r"^[A-Z0-9_]+$")
    detail: str = ""
    step: str


class RepaymentReceived(Message):
    """Money came in against a paid-out financing (from the debtor, or the seller on recourse).

    `reference` is the payment's own id (the bank's entry reference, or the payer's): the same
    payment reported twice is applied once.
    """

    topic: ClassVar[str] = "repayment.received"
    reference: str = Field(min_length=1, max_length=64)
    value_date: date
    amount: Money
    payer: Literal["debtor", "seller"] = "debtor"


class EarlyWarningLevel(StrEnum):
    """How serious a warning is (factoring-domain §3.6 thresholds for lateness)."""

    WATCH = "WATCH"
    """1 day or more past due."""
    ALERT = "ALERT"
    """30 days or more past due."""
    NON_PERFORMING = "NON_PERFORMING"
    """More than 90 days past due (不良, a regulatory classification)."""


class EarlyWarning(Message):
    """A financing crossed an early-warning threshold (预警); published for risk systems to
    subscribe to. Each level is announced once per financing."""

    topic: ClassVar[str] = "risk.early-warning"
    level: EarlyWarningLevel
    seller_uscc: str
    buyer_uscc: str
    as_of: date
    trigger: str = Field(default="OVERDUE", max_length=64)
    """What crossed the threshold (§3.6): OVERDUE (days past due, a paid-out financing), or
    INVOICE_OUT_OF_CONTROL / INVOICE_ABNORMAL (the tax platform flagged the seller's invoice at
    verification: the application is refused, and the seller's limits should be frozen)."""
    days_past_due: int = Field(default=0, ge=0)
    outstanding: Money | None = None
    """Principal not yet repaid (None: nothing was paid out)."""
    maturity: date | None = None


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (
        FinancingSubmitted,
        DocumentWaitExpired,
        DocumentsMatched,
        LimitReserved,
        ReceivableRegistered,
        DisbursementRequested,
        PaymentReported,
        FinancingRejected,
        RepaymentReceived,
        EarlyWarning,
    )
}
"""Message type name (as written in `Envelope.type`) -> class."""
