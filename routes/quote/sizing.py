"""How much may be lent (§2.2, §2.11, §3.7): the least of the advance, every headroom, the ask.

Each constraint that lands below the target (advance rate x eligible base, or the amount asked if
smaller) is a cut and names itself with a reason code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from routes.policy import Policy
from routes.quote.arithmetic import FEN, ZERO, fen_down
from routes.quote.models import LimitIn, Portfolio

__all__ = ["LIMIT_CODES", "Sizing", "allocate", "portfolio_headroom", "size"]

LIMIT_CODES = {"seller_facility": "LIMIT_SELLER", "buyer": "LIMIT_BUYER", "anchor": "LIMIT_ANCHOR"}


@dataclass(frozen=True, slots=True)
class Sizing:
    """The uncut target, the principal (both rounded down to the fen) and the cuts that bind."""

    target: Decimal
    principal: Decimal
    cuts: tuple[str, ...]
    capacities: tuple[Decimal, ...]


def portfolio_headroom(portfolio: Portfolio) -> list[tuple[str, Decimal]]:
    """The largest new risk asset x each 205号 constraint allows (§2.11), floored at zero."""
    ra, na = portfolio.risk_assets, portfolio.net_assets
    caps = [("CONCENTRATION_50PCT", ra - 2 * portfolio.debtor_exposure)]
    if portfolio.debtor_related:
        caps.append(
            ("RELATED_40PCT", (Decimal("0.40") * ra - portfolio.related_exposure) / Decimal("0.60"))
        )
    caps.append(("LEVERAGE_10X", 10 * na - ra))
    return [(code, max(value, ZERO)) for code, value in caps]


def size(
    eligible_faces: Sequence[Decimal],
    already_financed: Sequence[Decimal],
    policy: Policy,
    limits: Sequence[LimitIn],
    portfolio: Portfolio | None,
    requested: Decimal | None,
) -> Sizing:
    """Principal = round_down(min(gross advance, top-up caps, every headroom, the ask))."""
    rate = policy.advance_rate
    gross = sum(eligible_faces, ZERO) * rate
    capacities = tuple(
        max(face * rate - (already if face > 0 else ZERO), ZERO)
        for face, already in zip(eligible_faces, already_financed, strict=True)
    )
    target = fen_down(gross if requested is None else min(gross, requested))
    caps: list[tuple[str, Decimal]] = [("TOPUP_CAP", sum(capacities, ZERO))]
    caps.extend(
        (LIMIT_CODES[item.kind], max(item.limit - item.used - item.reserved, ZERO))
        for item in limits
    )
    if portfolio is not None and policy.commercial_factor:
        caps.extend(portfolio_headroom(portfolio))
    principal = fen_down(min([target, *(value for _, value in caps)]))
    cuts = tuple(dict.fromkeys(code for code, value in caps if value < target))
    return Sizing(target, principal, cuts, capacities)


def allocate(principal: Decimal, capacities: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split the principal pro rata to each receivable's capacity, to the fen (largest remainder).

    No share exceeds its capacity by more than the fen rounding; the shares add up exactly.
    """
    total = sum(capacities, ZERO)
    if principal <= 0 or total <= 0:
        return tuple(ZERO for _ in capacities)
    exact = [principal * cap / total for cap in capacities]
    shares = [fen_down(value) for value in exact]
    left = int((principal - sum(shares, ZERO)) / FEN)
    order = sorted(
        range(len(exact)), key=lambda i: (shares[i] + FEN > capacities[i], shares[i] - exact[i])
    )
    for index in order[:left]:
        shares[index] += FEN
    return tuple(shares)
