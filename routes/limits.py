"""Limit check: hold the principal on the seller's facility, the buyer's (debtor's) limit, the
anchor's programme (and the seller's share of it) and, for a commercial factor, within the
205号 portfolio caps (§2.11), atomically, in one transaction (§3.7), once the credit bureau
has found nothing against either party (`routes/credit.py`, the route's call)."""

from __future__ import annotations

from collections.abc import Sequence

from canonical import (
    DocumentsMatched,
    FinancingState,
    LimitReserved,
    Message,
)
from routes.credit import CreditFindings, credit_problem
from routes.outcomes import reject
from routes.ports import UnitOfWork
from routes.registry import Services

__all__ = ["reserve_limit"]

_FROM = frozenset({FinancingState.MATCHED})


async def reserve_limit(
    msg: DocumentsMatched, credit: CreditFindings | None, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    """Reserve, or reject with SELLER_/BUYER_ DEREGISTERED / REVOKED / INACTIVE / UNKNOWN /
    DISHONEST / EXECUTED (what the credit bureau said, as the policy's `credit_checks` ask),
    LIMIT_SELLER / LIMIT_BUYER / LIMIT_ANCHOR / ANCHOR_SELLER_SHARE / CONCENTRATION_50PCT /
    RELATED_40PCT / LEVERAGE_10X / PORTFOLIO_CURRENCY / NO_FACILITY / BELOW_MIN_TICKET.

    With partial approval (the policy's default, §2.2) a principal the headroom cannot cover in
    full is approved reduced to the least headroom of the limits that apply, as long as it
    stays at or above the minimum ticket; the reduced amount is what is registered and paid.
    The limit that cut or refused names the reason."""
    policy = services.policy
    if credit is not None:
        refused = credit_problem(credit, policy.credit_checks)
        if refused is not None:
            return await _reject(uow, msg, *refused, step="credit")
    if msg.principal.amount < policy.min_ticket:
        return await _reject(uow, msg, "BELOW_MIN_TICKET", f"principal {msg.principal}")
    floor = msg.principal.model_copy(update={"amount": policy.min_ticket})
    outcome, held = await uow.facilities.reserve(
        msg.request_id,
        msg.seller.uscc,
        msg.principal,
        at_least=floor if policy.partial_approval else None,
        buyer_uscc=msg.buyer.uscc,
        portfolio=policy.terms.commercial_factor,
    )
    reason = outcome.reason  # every refusal has one; a reduced approval names its cut
    if not outcome.held and reason is not None:
        return await _reject(uow, msg, reason, _REFUSED[reason].format(msg=msg))
    note = None
    if reason is not None:
        note = f"approved reduced to {held} by {_CUT_BY[reason]} ({reason})"
    if credit is not None and credit.unchecked:
        note = "; ".join(n for n in (note, credit.unchecked) if n)
    await uow.requests.transition(
        msg.request_id, FinancingState.LIMIT_RESERVED, allowed_from=_FROM, note=note
    )
    return [
        LimitReserved(
            request_id=msg.request_id,
            seller=msg.seller,
            buyer=msg.buyer,
            invoice_key=msg.invoice_key,
            amount=held,
            eligible_base=msg.eligible_base,
            due_date=msg.due_date,
        )
    ]


_REFUSED = {
    "NO_FACILITY": "no facility for seller {msg.seller.uscc}",
    "LIMIT_SELLER": "headroom below {msg.principal}",
    "LIMIT_BUYER": "buyer {msg.buyer.uscc}: headroom below {msg.principal}",
    "LIMIT_ANCHOR": "anchor {msg.buyer.uscc}: programme headroom below {msg.principal}",
    "ANCHOR_SELLER_SHARE": (
        "seller {msg.seller.uscc}: its share of anchor {msg.buyer.uscc}'s programme has less "
        "than {msg.principal} left"
    ),
    "CONCENTRATION_50PCT": (
        "205号: debtor {msg.buyer.uscc} would exceed 50 % of risk assets with {msg.principal}"
    ),
    "RELATED_40PCT": (
        "205号: related-party debtors (as {msg.buyer.uscc} is) would exceed 40 % of risk "
        "assets with {msg.principal}"
    ),
    "LEVERAGE_10X": "205号: risk assets would exceed 10x net assets with {msg.principal}",
    "PORTFOLIO_CURRENCY": (
        "205号: the portfolio is kept in another currency than {msg.principal.currency}"
    ),
}
"""Why the limit step refused, by reason code."""

_CUT_BY = {
    "LIMIT_SELLER": "the seller's headroom",
    "LIMIT_BUYER": "the buyer's headroom",
    "LIMIT_ANCHOR": "the anchor programme's headroom",
    "ANCHOR_SELLER_SHARE": "what is left of the seller's share of the anchor programme",
    "CONCENTRATION_50PCT": "the 205号 single-debtor cap",
    "RELATED_40PCT": "the 205号 related-party cap",
    "LEVERAGE_10X": "the 205号 leverage cap",
}
"""What cut a partial approval, by reason code."""


async def _reject(
    uow: UnitOfWork, msg: DocumentsMatched, code: str, detail: str, *, step: str = "limits"
) -> Sequence[Message]:
    return await reject(uow, msg.request_id, code, detail, step=step, allowed_from=_FROM)
