"""Money: a Decimal amount with an ISO 4217 currency. Never float.

Arithmetic refuses to mix currencies; rounding to the fen is explicit (half-up for interest and
fees, down for principal), as the domain rules require.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

__all__ = ["FEN", "Amount", "CurrencyMismatch", "Money"]

FEN = Decimal("0.01")


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    return value


Amount = Annotated[
    Decimal,
    AfterValidator(_finite),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A Decimal that is written as an exact decimal string in JSON."""


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


class Money(BaseModel):
    """An amount of one currency."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    amount: Amount
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str = "CNY") -> Money:
        """Build from a Decimal, an int or a decimal string (never a float)."""
        if isinstance(amount, float):
            raise TypeError("money is never built from float")
        return cls(amount=Decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        return cls(amount=Decimal("0.00"), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("money is never multiplied by float")
        return Money(amount=self.amount * factor, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def round_half_up(self) -> Self:
        """To the fen, half away from zero: interest, fees, tax."""
        return self.model_copy(update={"amount": self.amount.quantize(FEN, ROUND_HALF_UP)})

    def round_down(self) -> Self:
        """To the fen, towards zero: principal never rounds up."""
        return self.model_copy(update={"amount": self.amount.quantize(FEN, ROUND_DOWN)})

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount:f} {self.currency}"
