"""Day counts and rounding (§2.0): exact Decimals until a money line is written.

Interest and fees round half-up to the fen; principal always rounds down, so it never exceeds a
cap. Days are counted start-inclusive, end-exclusive (算头不算尾): `days = end - start`.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

__all__ = ["FEN", "ZERO", "accrual", "days_between", "fen_down", "fen_half_up"]

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def fen_down(value: Decimal) -> Decimal:
    """Principal: towards zero, to the fen."""
    return value.quantize(FEN, ROUND_DOWN)


def fen_half_up(value: Decimal) -> Decimal:
    """Interest, fees, penalties: half away from zero, to the fen."""
    return value.quantize(FEN, ROUND_HALF_UP)


def days_between(start: date, end: date) -> int:
    """Start-inclusive, end-exclusive; never negative."""
    return max((end - start).days, 0)


def accrual(principal: Decimal, annual_rate: Decimal, days: int, basis: int) -> Decimal:
    """P x r x d / B, exact (rounded only where it becomes a money line)."""
    return principal * annual_rate * days / basis
