"""The parameters the flow decides money with: the risk policy (§6.0 defaults) and its YAML files.

`Policy` is one programme's or institution's risk policy; every key left out takes the domain's
§6.0 default. Decimals are written as decimal strings (never YAML or JSON floats), so a policy
file means exactly what it says. `load_policy` validates a YAML file and, when it is wrong, lists
every bad key with its path in one `PolicyError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from canonical import BankAccount, ConfigurationError, Party, PartyRole, Problem

__all__ = [
    "DEFAULT_FACTOR",
    "DEFAULT_FACTOR_ACCOUNT",
    "POLICY_DIR",
    "CreditCheck",
    "CreditChecks",
    "CustomsMatching",
    "DecimalText",
    "FlowPolicy",
    "MatchingPolicy",
    "MoneyText",
    "Policy",
    "PolicyError",
    "Rate",
    "flow_policy",
    "load_policy",
    "problems_of",
]

POLICY_DIR = Path(__file__).parent / "policies"
"""The example policy files shipped with the hub (`default.yaml` is exactly §6.0)."""

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_KEY_PATH = re.compile(r"[A-Za-z_]\w*(/\w+)*")


def _decimal_text(value: object) -> Decimal:
    """Accept a decimal string (or a Decimal from Python); refuse floats, ints and booleans."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            pass
    raise ValueError('must be a decimal string such as "0.80" (never a bare number)')


def _fen(value: Decimal) -> Decimal:
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("money has at most 2 decimal places (the fen)")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _unit(value: Decimal) -> Decimal:
    if value > 1:
        raise ValueError('is a fraction: at most 1 (write 6 % as "0.06")')
    return value


_TEXT_SCHEMA = WithJsonSchema({"type": "string", "pattern": _DECIMAL.pattern})
_AS_TEXT = PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")

DecimalText = Annotated[
    Decimal, BeforeValidator(_decimal_text), AfterValidator(_not_negative), _TEXT_SCHEMA, _AS_TEXT
]
"""A non-negative decimal written as a string (quantities, unit prices)."""

MoneyText = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    AfterValidator(_not_negative),
    AfterValidator(_fen),
    _TEXT_SCHEMA,
    _AS_TEXT,
]
"""A non-negative CNY amount written as a string with at most two decimals."""

Rate = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    AfterValidator(_not_negative),
    AfterValidator(_unit),
    _TEXT_SCHEMA,
    _AS_TEXT,
]
"""A fraction between 0 and 1 written as a string (advance rate, annual rates, tolerances)."""

Days = Annotated[int, Field(ge=0, le=3650, strict=True)]


def _switched_off(value: object) -> object:
    """YAML 1.1 (PyYAML) reads an unquoted `off` as false: take it as the word."""
    return "off" if value is False else value


CustomsMatching = Annotated[
    Literal["off", "when_present", "required"], BeforeValidator(_switched_off)
]
"""Whether export invoices are matched against their customs declarations (§3.3)."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MatchingPolicy(BaseModel):
    """Tolerances of §3.3 and what a partial match leads to."""

    model_config = _FROZEN

    amount_tolerance_pct: Rate = Decimal("0.005")
    amount_tolerance_abs: MoneyText = Decimal("100.00")
    quantity_tolerance_pct: Rate = Decimal("0.02")
    price_tolerance_pct: Rate = Decimal("0.005")
    over_delivery_pct: Rate = Decimal("0.05")
    partial_match_mode: Literal["delivered_only", "reject", "manual_review"] = "delivered_only"


CreditCheck = Literal["deregistered", "revoked", "inactive", "dishonest", "executed"]
"""What the credit bureau must not say of a party: 注销 (`deregistered`), 吊销 (`revoked`), any
other 登记状态 but 存续 such as 停业 or 清算 (`inactive`), 失信被执行人 (`dishonest`), any
被执行人 record (`executed`; one more bureau call per party)."""


class CreditChecks(BaseModel):
    """The credit-bureau checks (§3.6, §3.8) made before a limit is held, and for whom; they
    run only where the hub has a credit bureau (FACTORHUB_CREDIT_URL)."""

    model_config = _FROZEN

    seller: tuple[CreditCheck, ...] = ("deregistered", "revoked", "dishonest")
    buyer: tuple[CreditCheck, ...] = ("deregistered", "revoked", "dishonest")
    on_unavailable: Literal["wait", "skip"] = "wait"
    """A bureau that does not answer: `wait` keeps the application where it is (retried, then
    dead-lettered for a replay); `skip` holds the limit without the checks, noting it."""

    @model_validator(mode="after")
    def _once_each(self) -> Self:
        problems = [
            f"{role}: names {check} twice"
            for role, checks in (("seller", self.seller), ("buyer", self.buyer))
            for check in dict.fromkeys(c for c in checks if checks.count(c) > 1)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def wanted(self) -> bool:
        """Any check at all."""
        return bool(self.seller or self.buyer)

    @property
    def executed(self) -> bool:
        """Whether any party's 被执行人 records are needed."""
        return "executed" in self.seller or "executed" in self.buyer


class Policy(BaseModel):
    """One risk policy: the §6.0 defaults for every key a programme leaves out."""

    model_config = _FROZEN

    advance_rate: Rate = Decimal("0.80")
    annual_rate: Rate = Decimal("0.06")
    interest_method: Literal["arrears", "discount"] = "arrears"
    day_count: Literal["ACT/360", "ACT/365"] = "ACT/360"
    fee_rate: Rate = Decimal("0.005")
    fee_timing: Literal["upfront", "arrears"] = "upfront"
    """`upfront`: deducted from the disbursement (§6.0); `arrears`: first in the waterfall."""
    penalty_rate: Rate = Decimal("0.09")
    penalty_grace_days: Days = 3
    receivable_grace_days: Days = 0
    compound_penalty: bool = Field(default=False, strict=True)
    refund_unearned_interest: bool = Field(default=True, strict=True)
    """Discounted interest for days not used is refunded on early repayment (§2.3)."""
    max_age_days: Days = 180
    min_days_to_due: Days = 7
    max_days_to_due: Days = 180
    min_ticket: MoneyText = Decimal("10000.00")
    review_above: MoneyText | None = None
    """Approval threshold: a principal above it needs a credit officer (decision REVIEW)."""
    commercial_factor: bool = Field(default=True, strict=True)
    """The 205号 portfolio limits (§2.11) apply to commercial factors only."""
    recourse: bool = Field(default=True, strict=True)
    revolving: bool = Field(default=True, strict=True)
    """Principal repaid is given back to the seller's facility (§3.7); false: a one-time limit."""
    partial_approval: bool = Field(default=True, strict=True)
    top_ups: bool = Field(default=True, strict=True)
    """A second application of the same seller and tenant on an invoice whose financing is
    live is a top-up within the invoice's advance-rate headroom (§2.2, §3.1); false: a
    duplicate (DUPLICATE_FINANCING)."""
    disbursement_channel: Literal["iso20022", "soap", "ecny"] = "iso20022"
    """Which payment channel pays this programme's disbursements: `iso20022` (pain.001 over
    the bank's ISO channel), `soap` (the bank core's SOAP service) or `ecny` (an e-CNY payment
    order from the factor's 对公钱包)."""
    match_exceptions: Literal["review", "reject"] = "review"
    """An invoice that does not match its order within tolerance: `review` waits in
    MATCH_REVIEW for an operator (§4.1); `reject` refuses it at once."""
    max_retry_days: Annotated[int, Field(ge=0, le=30, strict=True)] = 3
    """Invoice verification (§3.2): an invoice the tax platform does not know yet, or a check
    it refused for its daily limit, is asked again the next day, on at most this many days;
    then the application is rejected (0: at once). [P: §6.0 gives no value]"""
    document_wait_hours: Annotated[int, Field(ge=0, le=720, strict=True)] = 72
    """Matching (§3.3): orders the invoice names that did not come with it, nor earlier through
    `/v1/ingest`, are waited for this many hours (AWAITING_DOCUMENTS), then the application is
    a NO_ORDER exception (0: at once, no waiting; at most 30 days). [P: §6.0 gives no value]"""
    customs_matching: CustomsMatching = "when_present"
    """Matching an export invoice (zero-rated, or in a foreign currency) against its customs
    declarations (§3.3 "Export: customs", `routes/customs_match.py`): `off`; `when_present`
    (a declaration found under a contract the invoice names is matched); `required` (an export
    invoice without one waits for it as for a late order, then is a CUSTOMS_MISSING
    exception). [P: §6.0 gives no value]"""
    customs_amount_tolerance_pct: Rate = Decimal("0.01")
    """Invoiced (excl. VAT) vs declared value: |invoice - declared| <= this x declared (§3.3:
    1 %)."""
    matching: MatchingPolicy = MatchingPolicy()
    credit_checks: CreditChecks = CreditChecks()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        if self.advance_rate == 0:
            problems.append("advance_rate: must be above 0")
        if self.min_days_to_due > self.max_days_to_due:
            problems.append("min_days_to_due: must not exceed max_days_to_due")
        if self.penalty_rate < self.annual_rate:
            problems.append("penalty_rate: must not be below annual_rate (it replaces it, §2.5)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def day_basis(self) -> int:
        """The denominator of the daily rate: 360 or 365."""
        return 360 if self.day_count == "ACT/360" else 365


class PolicyError(ConfigurationError):
    """A policy file is unreadable or invalid; `problems` names every bad key."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p.path}: {p.reason}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


def problems_of(error: ValidationError, prefix: str = "") -> list[Problem]:
    """Every error of a pydantic validation as a Problem with its JSON-pointer path."""
    problems = []
    for item in error.errors(include_url=False):
        parts = [str(part) for part in item["loc"]]
        message = item["msg"].removeprefix("Value error, ")
        for reason in message.split("; "):
            where = parts
            key, sep, rest = reason.partition(": ")
            if sep and _KEY_PATH.fullmatch(key) and item["type"] == "value_error":
                where, reason = [*parts, *key.split("/")], rest
            problems.append(
                Problem(path=prefix + "/" + "/".join(where), reason=reason, value=item.get("input"))
            )
    return problems


def load_policy(path: Path | str) -> Policy:
    """Read and validate a YAML policy; raise PolicyError listing every bad key."""
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyError(source, [Problem(path="/", reason=f"cannot read: {error}")]) from error
    except yaml.YAMLError as error:
        raise PolicyError(source, [Problem(path="/", reason=f"not YAML: {error}")]) from error
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyError(source, [Problem(path="/", reason="must be a mapping of keys")])
    try:
        return Policy.model_validate(raw)
    except ValidationError as error:
        raise PolicyError(source, problems_of(error)) from None


DEFAULT_FACTOR = Party(
    name="演示商业保理有限公司", uscc="91310115MA1H7XQR31", role=PartyRole.FACTOR
)
"""The factor the demo and tests run as (a fictional company with a valid USCC)."""

DEFAULT_FACTOR_ACCOUNT = BankAccount(
    number="310066726018800012345",
    name="演示商业保理有限公司",
    bank_name="交通银行上海分行",
    cnaps_code="301290000007",
)


@dataclass(frozen=True, kw_only=True)
class FlowPolicy:
    """Advance rate and matching tolerances the running flow uses, one per programme."""

    advance_rate: Decimal = Decimal("0.80")
    amount_tolerance_pct: Decimal = Decimal("0.005")
    amount_tolerance_abs: Decimal = Decimal("100.00")
    quantity_tolerance_pct: Decimal = Decimal("0.02")
    min_ticket: Decimal = Decimal("10000.00")
    partial_approval: bool = True
    """A principal the headroom cannot cover is approved reduced (else rejected)."""
    top_ups: bool = True
    """The same seller's second application on an invoice with live financing is a top-up,
    capped at the advance-rate headroom (else a duplicate)."""
    match_exceptions: Literal["review", "reject"] = "review"
    """A mismatch waits in MATCH_REVIEW for an operator, or is rejected at once."""
    partial_match_mode: Literal["delivered_only", "reject", "manual_review"] = "delivered_only"
    """An invoice billing more than its delivery notes show (§3.3): `delivered_only` finances
    what was delivered; `reject` and `manual_review` make it a MATCH_QTY mismatch (which then
    waits for an operator or is rejected, as `match_exceptions` says)."""
    max_retry_days: int = 3
    """Days on which an invoice the tax platform does not know yet (or would not check today)
    is verified again, the next day each time, before the application is rejected."""
    document_wait_hours: int = 72
    """Hours an application waits (AWAITING_DOCUMENTS) for the orders its invoice names that
    have not come, before they are a NO_ORDER exception; 0: no waiting."""
    customs_matching: Literal["off", "when_present", "required"] = "when_present"
    """Export invoices against their customs declarations: not at all, when one is found, or
    waited for (`routes.customs_match`)."""
    customs_amount_tolerance_pct: Decimal = Decimal("0.01")
    """Invoiced (excl. VAT) vs declared value, as a fraction of the declared value."""
    registration_months: int = 12
    factor: Party = field(default=DEFAULT_FACTOR)
    factor_account: BankAccount = field(default=DEFAULT_FACTOR_ACCOUNT)
    disbursement_channel: Literal["iso20022", "soap", "ecny"] = "iso20022"
    """The payment channel the hub pays through (the hub builds its gateway at start)."""
    credit_checks: CreditChecks = field(default_factory=CreditChecks)
    """Which credit-bureau checks the limit step makes, for the seller and for the buyer."""
    terms: Policy = field(default_factory=lambda: Policy())
    """The whole risk policy: a paid-out financing accrues, charges and takes repayments by
    it (fixed per financing when the money goes out)."""


def flow_policy(policy: Policy) -> FlowPolicy:
    """What the running flow takes from a risk policy (advance rate, matching tolerances,
    minimum ticket, verification retry days, document wait, payment channel); the factor's own
    party and account stay the hub's."""
    return FlowPolicy(
        advance_rate=policy.advance_rate,
        amount_tolerance_pct=policy.matching.amount_tolerance_pct,
        amount_tolerance_abs=policy.matching.amount_tolerance_abs,
        quantity_tolerance_pct=policy.matching.quantity_tolerance_pct,
        min_ticket=policy.min_ticket,
        partial_approval=policy.partial_approval,
        top_ups=policy.top_ups,
        match_exceptions=policy.match_exceptions,
        partial_match_mode=policy.matching.partial_match_mode,
        max_retry_days=policy.max_retry_days,
        document_wait_hours=policy.document_wait_hours,
        customs_matching=policy.customs_matching,
        customs_amount_tolerance_pct=policy.customs_amount_tolerance_pct,
        disbursement_channel=policy.disbursement_channel,
        credit_checks=policy.credit_checks,
        terms=policy,
    )
