"""What the routes need from the outside world, as Protocols named by parameter.

The hub supplies SQL repositories and HTTP gateways; tests may supply in-memory ones. Routes
never import hub, FastStream, FastAPI, httpx or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from canonical import (
    BankAccount,
    CustomsDeclaration,
    DeliveryNote,
    DisbursementInstruction,
    EarlyWarningLevel,
    FinancingRequest,
    FinancingState,
    Invoice,
    Money,
    Party,
    PaymentResult,
    PurchaseOrder,
    Registration,
)
from canonical.credit import CreditStanding
from canonical.registry import SearchCertificate
from canonical.verification import InvoiceVerification
from routes.policy import Policy
from routes.quote.charges import financing_maturity

__all__ = [
    "BankGateway",
    "Clock",
    "CreditBureau",
    "DisbursementRepository",
    "DocumentIndex",
    "DocumentKey",
    "DocumentWait",
    "Facility",
    "FacilityRepository",
    "InvoiceFinancing",
    "InvoiceLocks",
    "LoanRecord",
    "LoanRepository",
    "Payout",
    "RegistrationRepository",
    "RegistrationRequest",
    "RegistryGateway",
    "Repayment",
    "RequestRecord",
    "RequestRepository",
    "ReserveOutcome",
    "TradeDocuments",
    "UnitOfWork",
    "VerificationGateway",
]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """A stored financing request with where it stands."""

    request: FinancingRequest
    state: FinancingState
    reason: str | None


@dataclass(frozen=True, slots=True)
class Facility:
    """A seller's facility and the account its disbursements go to."""

    seller: Party
    limit: Money
    used: Money
    reserved: Money
    account: BankAccount

    @property
    def headroom(self) -> Money:
        return self.limit - self.used - self.reserved


class ReserveOutcome(StrEnum):
    """Result of asking for headroom: held (whole or reduced, §2.2) or refused, and which
    limit decided (`reason`: the application's reason code)."""

    RESERVED = "RESERVED"
    REDUCED_BY_SELLER = "REDUCED_BY_SELLER"
    """Partial approval: all the seller facility's headroom, less than was asked."""
    REDUCED_BY_BUYER = "REDUCED_BY_BUYER"
    """Partial approval: all the buyer (debtor) limit's headroom, less than was asked."""
    REDUCED_BY_ANCHOR = "REDUCED_BY_ANCHOR"
    """Partial approval: all the anchor programme's headroom."""
    REDUCED_BY_SELLER_SHARE = "REDUCED_BY_SELLER_SHARE"
    """Partial approval: all that is left of the seller's share of the anchor programme."""
    REDUCED_BY_CONCENTRATION = "REDUCED_BY_CONCENTRATION"
    """Partial approval: the most the 205号 single-debtor cap (50 %) allows."""
    REDUCED_BY_RELATED = "REDUCED_BY_RELATED"
    """Partial approval: the most the 205号 related-party cap (40 %) allows."""
    REDUCED_BY_LEVERAGE = "REDUCED_BY_LEVERAGE"
    """Partial approval: the most the 205号 leverage cap (10x net assets) allows."""
    NO_FACILITY = "NO_FACILITY"
    INSUFFICIENT = "INSUFFICIENT"
    """The seller's facility is short (below the floor asked for)."""
    INSUFFICIENT_BUYER = "INSUFFICIENT_BUYER"
    """The buyer's (debtor's) limit is short (below the floor asked for)."""
    INSUFFICIENT_ANCHOR = "INSUFFICIENT_ANCHOR"
    """The anchor programme is short."""
    INSUFFICIENT_SELLER_SHARE = "INSUFFICIENT_SELLER_SHARE"
    """The seller's share of the anchor programme is (nearly) used up."""
    INSUFFICIENT_CONCENTRATION = "INSUFFICIENT_CONCENTRATION"
    """The 205号 single-debtor cap leaves less than the floor."""
    INSUFFICIENT_RELATED = "INSUFFICIENT_RELATED"
    """The 205号 related-party cap leaves less than the floor."""
    INSUFFICIENT_LEVERAGE = "INSUFFICIENT_LEVERAGE"
    """The 205号 leverage cap leaves less than the floor."""
    PORTFOLIO_CURRENCY = "PORTFOLIO_CURRENCY"
    """The 205号 portfolio is kept in another currency than the financing's."""

    @property
    def held(self) -> bool:
        return self in _HOLDING

    @property
    def reason(self) -> str | None:
        """The reason code of the limit that cut or refused (None: held whole)."""
        return _REASONS.get(self)


_HOLDING = frozenset(
    {
        ReserveOutcome.RESERVED,
        ReserveOutcome.REDUCED_BY_SELLER,
        ReserveOutcome.REDUCED_BY_BUYER,
        ReserveOutcome.REDUCED_BY_ANCHOR,
        ReserveOutcome.REDUCED_BY_SELLER_SHARE,
        ReserveOutcome.REDUCED_BY_CONCENTRATION,
        ReserveOutcome.REDUCED_BY_RELATED,
        ReserveOutcome.REDUCED_BY_LEVERAGE,
    }
)
_REASONS = {
    ReserveOutcome.REDUCED_BY_SELLER: "LIMIT_SELLER",
    ReserveOutcome.INSUFFICIENT: "LIMIT_SELLER",
    ReserveOutcome.REDUCED_BY_BUYER: "LIMIT_BUYER",
    ReserveOutcome.INSUFFICIENT_BUYER: "LIMIT_BUYER",
    ReserveOutcome.REDUCED_BY_ANCHOR: "LIMIT_ANCHOR",
    ReserveOutcome.INSUFFICIENT_ANCHOR: "LIMIT_ANCHOR",
    ReserveOutcome.REDUCED_BY_SELLER_SHARE: "ANCHOR_SELLER_SHARE",
    ReserveOutcome.INSUFFICIENT_SELLER_SHARE: "ANCHOR_SELLER_SHARE",
    ReserveOutcome.REDUCED_BY_CONCENTRATION: "CONCENTRATION_50PCT",
    ReserveOutcome.INSUFFICIENT_CONCENTRATION: "CONCENTRATION_50PCT",
    ReserveOutcome.REDUCED_BY_RELATED: "RELATED_40PCT",
    ReserveOutcome.INSUFFICIENT_RELATED: "RELATED_40PCT",
    ReserveOutcome.REDUCED_BY_LEVERAGE: "LEVERAGE_10X",
    ReserveOutcome.INSUFFICIENT_LEVERAGE: "LEVERAGE_10X",
    ReserveOutcome.NO_FACILITY: "NO_FACILITY",
    ReserveOutcome.PORTFOLIO_CURRENCY: "PORTFOLIO_CURRENCY",
}


class RequestRepository(Protocol):
    async def get(self, request_id: str) -> RequestRecord: ...

    async def state_of(self, request_id: str) -> tuple[FinancingState, str | None] | None:
        """(state, reason) of the request, or None when there is no such request."""

    async def transition(
        self,
        request_id: str,
        target: FinancingState,
        *,
        allowed_from: frozenset[FinancingState],
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        """Move the request to `target`, recording the step; IllegalTransition otherwise."""


@dataclass(frozen=True, slots=True)
class InvoiceFinancing:
    """What the other applications on an invoice hold or owe, for a top-up's cap (§2.2).

    `financed`: principal they hold (matched, or reserved on the limits) or owe (paid out, net
    of principal repaid); `paid`: what the debtor has repaid on the invoice (0 when no
    repayment is known)."""

    holders: tuple[str, ...]
    financed: Money
    paid: Money


class InvoiceLocks(Protocol):
    async def claim(self, invoice_key: str, request_id: str) -> str:
        """Lock the tax invoice for the request; returns the request holding it (this one, or
        an earlier application that has not been rejected, or while that one is rejected, a
        top-up of it that is not)."""

    async def top_up(
        self, invoice_key: str, request_id: str, *, seller_uscc: str, tenant: str
    ) -> InvoiceFinancing | None:
        """Let the request finance the invoice beside its holders when it is a top-up (§3.1):
        it holds a share already, or they are all of this seller and tenant and one of them is
        financed (limit reserved, registered, paying out, or paid out and not settled). What
        they hold or owe, read after locking the invoice (so top-ups of one invoice are
        decided one at a time), or None: a duplicate."""

    async def hold(self, request_id: str, principal: Money) -> None:
        """Record the principal a top-up matched for (later top-ups count it until its limit
        is reserved)."""


class FacilityRepository(Protocol):
    async def get(self, seller_uscc: str) -> Facility | None: ...

    async def reserve(
        self,
        request_id: str,
        seller_uscc: str,
        amount: Money,
        *,
        at_least: Money | None = None,
        buyer_uscc: str | None = None,
        portfolio: bool = False,
    ) -> tuple[ReserveOutcome, Money]:
        """Atomically hold `amount` on the seller's facility and, when the buyer (debtor) has a
        limit, on that limit too; when the buyer is an anchor with a programme, on the
        programme and the seller's share of it; with `portfolio` (a commercial factor) and the
        205号 portfolio configured, in its book within its caps (§2.11). Or (with `at_least`)
        the least headroom left when that is less but not below `at_least`. Returns the outcome
        and what is held. Asking again for the same request changes nothing and answers what it
        holds."""

    async def consume(self, request_id: str, amount: Money) -> None:
        """Turn the reservation into use, trued up to the amount actually paid."""

    async def release(self, request_id: str) -> None:
        """Give back what is held for the request (no-op when nothing is)."""

    async def restore(
        self,
        seller_uscc: str,
        amount: Money,
        *,
        buyer_uscc: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Give repaid principal back to a revolving facility and the buyer's limit (used goes
        down, never below 0). With `request_id`, to every limit its reservation held instead
        (seller, buyer, anchor programme and seller share, the 205号 book)."""


class RegistrationRepository(Protocol):
    async def add(self, registration: Registration) -> None:
        """Record our registration, filed and confirmed (§4.4 -> REGISTERED); the same one
        again changes nothing."""

    async def cancel(self, request_id: str, *, note: str | None = None) -> None:
        """Record that the registry cancelled the request's registration (-> CANCELLED);
        again changes nothing; `IllegalTransition` when none was filed."""


class DisbursementRepository(Protocol):
    async def add(self, instruction: DisbursementInstruction) -> None:
        """Persist the instruction and its ids before anything is sent."""

    async def record_result(self, result: PaymentResult) -> Payout | None:
        """Apply the bank's verdict; what the instruction paid and financed, or None when the
        verdict changes nothing (a duplicate or stale report)."""


@dataclass(frozen=True, slots=True)
class Payout:
    """One disbursement's figures: what was paid, and the financing it opens."""

    amount: Money
    """What the bank was told to pay: the principal less the charges deducted up front."""
    principal: Money
    eligible_base: Money | None
    """The face the fee was charged on (None: recorded before it was kept; the invoice total)."""
    upfront_interest: Money | None
    """Interest prepaid to maturity (discount method), deducted from the payment."""
    corrects_presumed: bool = False
    """The verdict is a failure correcting a presumed success (e-CNY PR03 -> PR01): the money
    never moved, so the settlement booked on the presumption must be undone."""


@dataclass(frozen=True, slots=True)
class Repayment:
    """Money received against a loan; `reference` makes it count once."""

    reference: str
    value_date: date
    amount: Money
    payer: str = "debtor"


@dataclass(frozen=True, slots=True)
class LoanRecord:
    """A paid-out financing: its terms, what came in, and what was already given back."""

    request_id: str
    seller_uscc: str
    buyer_uscc: str
    principal: Money
    eligible_base: Money
    """The financed receivable's face (the invoice total, or the delivered-only face): the
    fee's base."""
    start: date
    due_date: date | None
    """The receivable's due date, when the invoice states one."""
    terms: Policy
    state: FinancingState
    repayments: tuple[Repayment, ...] = ()
    released: Money | None = None
    """Principal repaid and already given back to the facility (None: nothing yet)."""
    warned: EarlyWarningLevel | None = None
    """The highest early-warning level already announced."""
    upfront_interest: Money | None = None
    """Interest deducted from the payment to maturity (discount method); None: none."""

    @property
    def maturity(self) -> date:
        return financing_maturity(self.due_date, self.start, self.terms)

    def with_repayment(self, repayment: Repayment) -> LoanRecord:
        return replace(self, repayments=(*self.repayments, repayment))


class LoanRepository(Protocol):
    async def open(
        self,
        request_id: str,
        principal: Money,
        start: date,
        terms: Policy,
        *,
        eligible_base: Money | None = None,
        upfront_interest: Money | None = None,
    ) -> None:
        """Open the loan when the money went out (opening it again changes nothing);
        `eligible_base` None: the invoice total."""

    async def get(self, request_id: str) -> LoanRecord | None: ...

    async def add_repayment(self, request_id: str, repayment: Repayment) -> bool:
        """Record a repayment; False when its reference was already recorded for this loan."""

    async def update(
        self,
        request_id: str,
        *,
        state: FinancingState,
        outstanding: Money,
        released: Money,
        days_past_due: int,
        warned: EarlyWarningLevel | None,
    ) -> None:
        """Store where the loan stands after a repayment or a daily review."""


@dataclass(frozen=True, slots=True)
class DocumentKey:
    """What an ingested trade document is found by: its `kind` (`order`, `delivery`,
    `customs`), a `number` (the order's; for a delivery note the order it ships against; for a
    declaration its contract) and the party it names by USCC (an order's buyer, a
    declaration's exporter; empty when none)."""

    kind: str
    number: str
    party_uscc: str = ""


@dataclass(frozen=True, slots=True)
class TradeDocuments:
    """Orders, delivery notes and (when asked for) customs declarations ingested earlier,
    found by order number (a declaration by its contract number)."""

    orders: tuple[PurchaseOrder, ...] = ()
    deliveries: tuple[DeliveryNote, ...] = ()
    declarations: tuple[CustomsDeclaration, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentWait:
    """An application waiting (AWAITING_DOCUMENTS) for the orders `numbers` and for a customs
    declaration under any of the contracts `customs`."""

    request_id: str
    numbers: tuple[str, ...]
    since: datetime
    due_at: datetime
    customs: tuple[str, ...] = ()


class DocumentIndex(Protocol):
    """Trade documents ingested through `/v1/ingest`, by their keys, and the orders
    applications wait for."""

    async def find(
        self, tenant: str, order_numbers: Collection[str], *, customs: bool = False
    ) -> TradeDocuments:
        """The tenant's orders with these numbers and the delivery notes shipping against
        them (with `customs`, the declarations under these contract numbers too), the latest
        received first, in one query."""

    async def wait_for(
        self,
        request_id: str,
        tenant: str,
        numbers: Sequence[str],
        *,
        since: datetime,
        due_at: datetime,
        customs: Sequence[str] = (),
    ) -> None:
        """Record that the application waits for these orders (and for a declaration under
        one of the contracts `customs`) until `due_at`."""

    async def waiting_for(self, tenant: str, numbers: Collection[str]) -> list[DocumentWait]:
        """The waits that name any of these order or contract numbers (each with all it
        names)."""

    async def stop_waiting(self, request_id: str) -> None:
        """The application waits no more (its orders came, or its wait ran out)."""

    async def amend(self, request: FinancingRequest) -> None:
        """Store the request with the documents that came after it, as matching saw it."""


class UnitOfWork(Protocol):
    """The repositories of one transaction; the runtime commits it, never a route."""

    @property
    def requests(self) -> RequestRepository: ...

    @property
    def facilities(self) -> FacilityRepository: ...

    @property
    def registrations(self) -> RegistrationRepository: ...

    @property
    def disbursements(self) -> DisbursementRepository: ...

    @property
    def invoice_locks(self) -> InvoiceLocks: ...

    @property
    def loans(self) -> LoanRepository: ...

    @property
    def document_index(self) -> DocumentIndex: ...


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    """What we file at 中登网 to register a receivable transfer."""

    filer_reference: str
    assignor: Party
    assignee: Party
    description: str
    amount: Money
    invoices: tuple[str, ...]
    period_months: int = 12


class VerificationGateway(Protocol):
    async def verify_many(
        self, invoices: Sequence[Invoice]
    ) -> list[InvoiceVerification | Exception]:
        """The tax platform's answer for each invoice, in order (or the error it got)."""


class CreditBureau(Protocol):
    async def check_many(
        self, usccs: Sequence[str], *, executed: bool = False
    ) -> list[CreditStanding | Exception]:
        """What the bureau says of each enterprise, in order (or the error it got): its 登记状态
        and 失信被执行人 records, and with `executed` its 被执行人 records too. An enterprise
        asked twice is looked up once; a recent answer may be given again."""


class RegistryGateway(Protocol):
    async def register_many(
        self, requests: Sequence[RegistrationRequest]
    ) -> list[Registration | Exception]:
        """File registrations (one upload where the registry allows); for each, the registration
        or the error. Filing again with the same reference returns the same registration."""

    async def search_many(
        self,
        assignor_names: Sequence[str],
        *,
        skip_assignee: str = "",
        keep: Collection[str] = (),
        max_age: float = 0.0,
    ) -> list[SearchCertificate | Exception]:
        """The 查询证明 of a search by each 担保人 name, in order (or the error it got),
        leaving out registrations of the 担保权人 `skip_assignee` but those numbered in `keep`;
        a certificate obtained at most `max_age` seconds ago may answer instead."""

    async def cancel_many(self, registrations: Sequence[Registration]) -> list[Exception | None]:
        """注销登记 of our own registrations; cancelling again is harmless."""


class BankGateway(Protocol):
    async def submit_many(
        self, instructions: Sequence[DisbursementInstruction]
    ) -> list[PaymentResult | Exception]:
        """Send instructions (one payment file) and return, for each, the bank's verdict or the
        error, never paying twice.

        After a timeout or a lost answer the gateway asks the bank for the status by each
        instruction's id and resends only what the bank never received.
        """


class Clock(Protocol):
    def __call__(self) -> datetime: ...
