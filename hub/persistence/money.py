"""Decimal <-> integer fen at the database boundary, refusing anything finer than a fen."""

from __future__ import annotations

from decimal import Decimal

from canonical import FEN, Money

__all__ = ["from_fen", "to_fen"]


def to_fen(money: Money) -> int:
    """Exact conversion; an amount with sub-fen digits is a bug upstream, not something to round."""
    fen = money.amount / FEN
    if fen != fen.to_integral_value():
        raise ValueError(f"{money} has digits below the fen")
    return int(fen)


def from_fen(fen: int, currency: str) -> Money:
    return Money(amount=(Decimal(fen) * FEN).quantize(FEN), currency=currency)
