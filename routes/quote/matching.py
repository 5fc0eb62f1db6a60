"""Invoice against delivery and purchase order (§3.3): exceptions and the delivered-only value."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from routes.policy import MatchingPolicy
from routes.quote.models import MatchIn

__all__ = ["MatchOutcome", "match_receivable"]


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    """The exception codes found (empty when matched) and the delivered-only cap on the face."""

    exceptions: tuple[str, ...]
    delivered_cap: Decimal | None


def match_receivable(match: MatchIn | None, face: Decimal, policy: MatchingPolicy) -> MatchOutcome:
    """Apply the §3.3 tolerances; `delivered_cap` is min(PO value, delivered x invoice price)."""
    if match is None:
        return MatchOutcome((), None)
    exceptions = []
    if match.invoiced_quantity > match.delivered_quantity * (1 + policy.quantity_tolerance_pct):
        exceptions.append("MATCH_QTY")
    po_value: Decimal | None = None
    if match.ordered_quantity is not None and match.po_unit_price is not None:
        po_value = match.ordered_quantity * match.po_unit_price
        tolerance = max(po_value * policy.amount_tolerance_pct, policy.amount_tolerance_abs)
        if abs(face - po_value) > tolerance:
            exceptions.append("MATCH_AMOUNT")
        if abs(match.unit_price - match.po_unit_price) > (
            match.po_unit_price * policy.price_tolerance_pct
        ):
            exceptions.append("MATCH_PRICE")
        if match.delivered_quantity > match.ordered_quantity * (1 + policy.over_delivery_pct):
            exceptions.append("MATCH_OVER_DELIVERY")
    if not exceptions:
        return MatchOutcome((), None)
    delivered_value = match.delivered_quantity * match.unit_price
    cap = delivered_value if po_value is None else min(delivered_value, po_value)
    return MatchOutcome(tuple(exceptions), cap)
