"""Fen arithmetic: the amount rules the generated documents must satisfy exactly."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_fen(value: Decimal) -> Decimal:
    """Round half-up to the fen, the rule Chinese invoices use."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def from_cents(cents: int) -> Decimal:
    """Exact Decimal with two places from an integer number of fen."""
    return Decimal(cents).scaleb(-2)


def line_amounts(
    quantity: int, unit_price: Decimal, tax_rate: int
) -> tuple[Decimal, Decimal, Decimal]:
    """(amount excl. tax, tax, total) of one line, each rounded half-up to the fen."""
    amount = to_fen(quantity * unit_price)
    tax = to_fen(amount * tax_rate / 100)
    return amount, tax, amount + tax
