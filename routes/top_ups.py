"""Top-ups (factoring-domain §2.2, §3.1): the same seller financing an invoice again while its
earlier financing is live, never beyond the invoice's advance-rate headroom.

Who may top up is decided with the invoice lock (`InvoiceLocks.top_up`): an application of the
seller and tenant holding the invoice, while one of its applications is financed (limit
reserved, registered, paying out, or paid out and not settled), under the policy's `top_ups`
(default true). Another seller or tenant, an invoice whose holder is not financed yet, or
`top_ups: false`: a duplicate (DUPLICATE_FINANCING), as before.

A top-up's principal is capped at

    cap = round_down((face - paid) x advance_rate) - already_financed

`face`: what matching found to finance (the invoice total, or the delivered-only or partly
red-flushed face); `paid`: what the debtor has repaid on the invoice (its repayments to any
application on the invoice; 0 when none is known); `already_financed`: what the invoice's
other applications hold or owe (principal matched, reserved or outstanding, net of principal
repaid). A principal above the cap is approved reduced to it with TOPUP_CAP noted (a partial
approval, as the limits make), or refused TOPUP_CAP under `partial_approval: false`; a cap
below the minimum ticket (nothing left, say) refuses TOPUP_CAP.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from canonical import FinancingState, FinancingSubmitted, Message
from routes.outcomes import reject
from routes.policy import FlowPolicy
from routes.ports import InvoiceFinancing, UnitOfWork
from routes.quote.arithmetic import fen_down

__all__ = ["TopUpCap", "cap_top_up", "top_up_cap"]

_REASON = "TOPUP_CAP"
_FROM = frozenset({FinancingState.SUBMITTED})
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TopUpCap:
    """What the cap makes of a top-up's principal: `principal` (the cap when it cut, else as
    asked) with a `note` for the history, or `refused` (the detail of a TOPUP_CAP refusal)."""

    cap: Decimal
    principal: Decimal
    note: str
    refused: str | None = None


def top_up_cap(
    financing: InvoiceFinancing, face: Decimal, principal: Decimal, policy: FlowPolicy
) -> TopUpCap:
    """The §2.2 per-receivable cap applied to a top-up's principal (see the module doc)."""
    paid, financed = financing.paid.amount, financing.financed.amount
    cap = fen_down(max(face - paid, _ZERO) * policy.advance_rate) - financed
    beside = ", ".join(financing.holders) or "none"
    sum_ = (
        f"({face} face - {paid} repaid) x {policy.advance_rate} - {financed} already financed "
        f"(by {beside}) = {cap}"
    )
    if cap >= principal:
        return TopUpCap(cap, principal, f"top-up within the invoice's cap: {sum_}")
    if cap < policy.min_ticket:
        what = "nothing left" if cap <= 0 else f"below the minimum ticket {policy.min_ticket}"
        return TopUpCap(cap, principal, "", refused=f"top-up cap {sum_}: {what}")
    if not policy.partial_approval:
        refused = f"top-up cap {sum_}: below the principal {principal} (no partial approval)"
        return TopUpCap(cap, principal, "", refused=refused)
    return TopUpCap(cap, cap, f"approved reduced to {cap} by the top-up cap ({_REASON}): {sum_}")


async def cap_top_up(
    msg: FinancingSubmitted,
    financing: InvoiceFinancing,
    face: Decimal,
    principal: Decimal,
    note: str | None,
    uow: UnitOfWork,
    policy: FlowPolicy,
) -> list[Message] | tuple[Decimal, str]:
    """The principal and note a matched top-up goes on with (its share recorded on the
    invoice), or the messages of its TOPUP_CAP rejection."""
    capped = top_up_cap(financing, face, principal, policy)
    if capped.refused is not None:
        return await reject(
            uow, msg.request_id, _REASON, capped.refused, step="matching", allowed_from=_FROM
        )
    await uow.invoice_locks.hold(
        msg.request_id, financing.financed.model_copy(update={"amount": capped.principal})
    )
    return capped.principal, "; ".join(n for n in (note, capped.note) if n)
