"""The quote's input and output documents, exactly as `factorhub calc` reads and writes them.

Amounts travel as decimal strings; every output amount is rounded to the fen before it is built.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from routes.policy import DecimalText, MoneyText, Policy

__all__ = [
    "Decision",
    "FenAmount",
    "FinancingAsk",
    "LimitIn",
    "LimitReserve",
    "MatchIn",
    "Portfolio",
    "QuoteRequest",
    "QuoteResult",
    "QuoteState",
    "ReceivableIn",
    "ReceivableQuote",
    "ReceivableStatus",
    "RepaymentEvent",
    "RepaymentLine",
    "Verification",
]

_IN = ConfigDict(frozen=True, extra="forbid")
_OUT = ConfigDict(frozen=True, extra="forbid", strict=True)


def _whole_fen(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("an output amount must already be rounded to the fen")
    return value.quantize(Decimal("0.01"))


FenAmount = Annotated[
    Decimal,
    AfterValidator(_whole_fen),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$"}),
]
"""An output amount: a Decimal already rounded to the fen, written as "123.45"."""


class Verification(StrEnum):
    """The VAT platform's answer for an invoice (§3.2)."""

    NORMAL = "normal"
    VOID = "void"
    RED_FLUSHED = "red_flushed"
    OUT_OF_CONTROL = "out_of_control"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"


class MatchIn(BaseModel):
    """Quantities and prices to match the invoice against delivery and, if known, the order."""

    model_config = _IN

    invoiced_quantity: DecimalText
    delivered_quantity: DecimalText
    unit_price: DecimalText
    ordered_quantity: DecimalText | None = None
    po_unit_price: DecimalText | None = None

    @model_validator(mode="after")
    def _order_complete(self) -> Self:
        if (self.ordered_quantity is None) != (self.po_unit_price is None):
            raise ValueError("po_unit_price: give ordered_quantity and po_unit_price together")
        return self


class ReceivableIn(BaseModel):
    """One invoice offered for financing."""

    model_config = _IN

    id: str = Field(min_length=1, max_length=64)
    issue_date: date
    due_date: date
    face: MoneyText
    verification: Verification = Verification.NORMAL
    red_letter_amount: MoneyText = Decimal("0.00")
    disputed: bool = Field(default=False, strict=True)
    already_financed: MoneyText = Decimal("0.00")
    match: MatchIn | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        problems = []
        if self.due_date < self.issue_date:
            problems.append("due_date: must not be before issue_date")
        if self.red_letter_amount > self.face:
            problems.append("red_letter_amount: must not exceed face")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class LimitIn(BaseModel):
    """A limit layer; its headroom is limit - used - reserved (§3.7)."""

    model_config = _IN

    kind: Literal["seller_facility", "buyer", "anchor"]
    limit: MoneyText
    used: MoneyText = Decimal("0.00")
    reserved: MoneyText = Decimal("0.00")


class Portfolio(BaseModel):
    """The commercial factor's financing balances for the 205号 checks (§2.11)."""

    model_config = _IN

    net_assets: MoneyText
    risk_assets: MoneyText
    debtor_exposure: MoneyText = Decimal("0.00")
    debtor_related: bool = Field(default=False, strict=True)
    related_exposure: MoneyText = Decimal("0.00")


class FinancingAsk(BaseModel):
    """What the seller asks for: an optional cap and the planned disbursement date."""

    model_config = _IN

    amount: MoneyText | None = None
    disbursement_date: date | None = None


class RepaymentEvent(BaseModel):
    """Money received against the financing."""

    model_config = _IN

    type: Literal["repayment"]
    date: date
    amount: MoneyText
    payer: Literal["debtor", "seller"] = "debtor"

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if self.amount <= 0:
            raise ValueError("amount: a repayment must be above 0")
        return self


def _at_least_one(items: tuple[ReceivableIn, ...]) -> tuple[ReceivableIn, ...]:
    if not items:
        raise ValueError("at least one receivable is needed")
    return items


class QuoteRequest(BaseModel):
    """The input document of `factorhub calc` (and `POST /v1/calc`)."""

    model_config = _IN

    as_of: date
    policy: Policy = Policy()
    limits: tuple[LimitIn, ...] = ()
    portfolio: Portfolio | None = None
    receivables: Annotated[tuple[ReceivableIn, ...], AfterValidator(_at_least_one)] = Field(
        json_schema_extra={"minItems": 1}
    )
    request: FinancingAsk = FinancingAsk()
    events: tuple[RepaymentEvent, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        problems = []
        ids = [r.id for r in self.receivables]
        for index, rid in enumerate(ids):
            if rid in ids[:index]:
                problems.append(f"receivables/{index}/id: duplicate id {rid!r}")
        start = self.disbursement_date
        if start < self.as_of:
            problems.append("request/disbursement_date: must not be before as_of")
        for index, event in enumerate(self.events):
            if event.date < start:
                problems.append(f"events/{index}/date: before the disbursement date {start}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def disbursement_date(self) -> date:
        """The planned disbursement date; the quote date when not given."""
        return self.request.disbursement_date or self.as_of


class ReceivableStatus(StrEnum):
    """One status per receivable: the first that applies, in this order."""

    INELIGIBLE_VERIFICATION = "INELIGIBLE_VERIFICATION"
    MATCH_EXCEPTION = "MATCH_EXCEPTION"
    INELIGIBLE_DISPUTED = "INELIGIBLE_DISPUTED"
    INELIGIBLE_OVERDUE = "INELIGIBLE_OVERDUE"
    INELIGIBLE_AGE = "INELIGIBLE_AGE"
    INELIGIBLE_TENOR = "INELIGIBLE_TENOR"
    ELIGIBLE_REDUCED = "ELIGIBLE_REDUCED"
    ELIGIBLE = "ELIGIBLE"

    @property
    def eligible(self) -> bool:
        return self in (ReceivableStatus.ELIGIBLE, ReceivableStatus.ELIGIBLE_REDUCED)


class Decision(StrEnum):
    """The quote's answer."""

    APPROVED = "APPROVED"
    """The full advance (or the amount asked, if smaller)."""
    APPROVED_REDUCED = "APPROVED_REDUCED"
    """A limit, a top-up cap or a portfolio headroom cut the principal."""
    REJECTED = "REJECTED"
    """Nothing eligible, under the minimum ticket, or a cut without partial approval."""
    REVIEW = "REVIEW"
    """A person must decide: a match exception under manual_review, or above the threshold."""


class QuoteState(StrEnum):
    """The application's state after the events (§4.1)."""

    DISBURSED = "DISBURSED"
    PARTIALLY_REPAID = "PARTIALLY_REPAID"
    OVERDUE = "OVERDUE"
    SETTLED = "SETTLED"
    REJECTED = "REJECTED"
    MATCH_REVIEW = "MATCH_REVIEW"
    LIMIT_RESERVED = "LIMIT_RESERVED"


class ReceivableQuote(BaseModel):
    """What one receivable contributes."""

    model_config = _OUT

    id: str
    status: ReceivableStatus
    eligible_face: FenAmount
    principal: FenAmount
    interest: FenAmount
    maturity: date


class LimitReserve(BaseModel):
    """The amount each limit layer reserves (the principal, or zero)."""

    model_config = _OUT

    kind: str
    reserve: FenAmount


class RepaymentLine(BaseModel):
    """One repayment through the waterfall: fees -> penalty -> interest -> principal -> surplus.

    `interest` is negative when unearned discounted interest is refunded (§2.3); the refund is
    then part of `surplus`, so amount = fees + penalty + interest + principal + surplus always.
    """

    model_config = _OUT

    date: date
    amount: FenAmount
    fees: FenAmount
    penalty: FenAmount
    interest: FenAmount
    principal: FenAmount
    surplus: FenAmount
    outstanding_after: FenAmount


class QuoteResult(BaseModel):
    """The output document of `factorhub calc`."""

    model_config = _OUT

    decision: Decision
    reasons: tuple[str, ...]
    eligible_base: FenAmount
    principal: FenAmount
    fee: FenAmount
    upfront_interest: FenAmount
    net_disbursement: FenAmount
    interest_total: FenAmount
    receivables: tuple[ReceivableQuote, ...]
    limits: tuple[LimitReserve, ...]
    repayments: tuple[RepaymentLine, ...]
    state: QuoteState
