"""Registration of the receivable transfer at 中登网, after the limit is held (§4.1 ordering)."""

from __future__ import annotations

from collections.abc import Sequence

from canonical import (
    FinancingState,
    LimitReserved,
    Message,
    ReceivableRegistered,
    Registration,
)
from routes.ports import RegistrationRequest, UnitOfWork
from routes.registry import Services

__all__ = ["file_registrations", "record_registration"]

_FROM = frozenset({FinancingState.LIMIT_RESERVED})


async def file_registrations(
    messages: Sequence[LimitReserved], services: Services
) -> list[Registration | Exception]:
    """File at the registry in one upload; each request id is its filer reference, so a
    re-run files nothing new."""
    return await services.registry.register_many([_filing(m, services) for m in messages])


def _filing(msg: LimitReserved, services: Services) -> RegistrationRequest:
    policy = services.policy
    return RegistrationRequest(
        filer_reference=msg.request_id,
        assignor=msg.seller,
        assignee=policy.factor,
        description=(
            f"应收账款转让：债务人{msg.buyer.name}（{msg.buyer.uscc}），"
            f"发票号码{msg.invoice_key}，融资金额{msg.amount.amount:f}元"
        ),
        amount=msg.amount,
        invoices=(msg.invoice_key,),
        period_months=policy.registration_months,
    )


async def record_registration(
    msg: LimitReserved, registration: Registration, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    await uow.registrations.add(registration)
    await uow.requests.transition(
        msg.request_id,
        FinancingState.REGISTERED,
        allowed_from=_FROM,
        note=f"登记证明编号 {registration.registration_no}",
    )
    return [
        ReceivableRegistered(
            request_id=msg.request_id,
            registration=registration,
            seller=msg.seller,
            invoice_key=msg.invoice_key,
            amount=msg.amount,
        )
    ]
