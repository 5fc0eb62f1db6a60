"""Registration of the receivable transfer at 中登网, after the limit is held (§4.1 ordering),
between a pre-search and a re-search of the registry (民法典 768, §1.7 rules 1-4, §3.1).

The remote step, for a batch: search the sellers' names (one search per seller); file the
registrations the pre-search leaves clear (one 批量登记 upload); search again and rank our
registration against every other party's; cancel ours where an earlier registration names the
same invoice (we lost the race). Each step is idempotent (the filer reference is the request
id; searching and cancelling again are harmless), so a retry after a crash repeats it safely.

Then, in the transaction: clear -> REGISTERED; an earlier conflicting registration -> REJECTED
REGISTRY_CONFLICT with the limit released; another party's blanket registration of all the
seller's receivables -> REGISTRY_REVIEW, holding the limit, until an operator approves (the
financing goes on) or rejects it (`factorhub review`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canonical import (
    FinancingState,
    LimitReserved,
    Message,
    ReceivableRegistered,
    Registration,
    TransientError,
)
from canonical.registry import RegistrationEntry, SearchCertificate
from routes.outcomes import reject
from routes.ports import RegistrationRequest, UnitOfWork
from routes.registry import Services
from routes.registry_search import (
    BLANKET,
    CONFLICT,
    OWN_MISSING,
    priority_problem,
    split_by_filer,
)

__all__ = ["PRESEARCH_MAX_AGE", "RegistryOutcome", "file_registrations", "record_registration"]

_FROM = frozenset({FinancingState.LIMIT_RESERVED})

PRESEARCH_MAX_AGE = 60.0
"""Seconds a seller's latest 查询证明 may stand in for the pre-search. The pre-search only spares
us filing where someone else already registered; the re-search after filing, always fresh, is
what decides priority (a busy seller's certificate lists thousands of registrations)."""


@dataclass(frozen=True, slots=True)
class RegistryOutcome:
    """What the registry steps found for one application."""

    registration: Registration | None
    """Ours, when it was filed."""
    problem: tuple[str, str] | None = None
    """(REGISTRY_CONFLICT | REGISTRY_BLANKET, detail) found by the pre-search or re-search."""
    cancelled: bool = False
    """Our registration was cancelled again (an earlier one names the same invoice)."""


async def file_registrations(
    messages: Sequence[LimitReserved], services: Services
) -> list[RegistryOutcome | Exception]:
    """Pre-search, file, re-search, and cancel ours where it lost (see the module doc)."""
    registry = services.registry
    split = _Splits(services.policy.factor.uscc)
    answers: list[RegistryOutcome | Exception | None] = [None] * len(messages)
    clear: list[int] = []
    ours = services.policy.factor.uscc
    before = await registry.search_many(
        [m.seller.name for m in messages], skip_assignee=ours, max_age=PRESEARCH_MAX_AGE
    )
    for i, (msg, certificate) in enumerate(zip(messages, before, strict=True)):
        if isinstance(certificate, Exception):
            answers[i] = certificate
            continue
        problem = _problem(msg, split(certificate), services, own=None)
        if problem is not None:
            answers[i] = RegistryOutcome(None, problem)
        else:
            clear.append(i)
    filed: list[tuple[int, Registration]] = []
    results = await registry.register_many([_filing(messages[i], services) for i in clear])
    for i, registration in zip(clear, results, strict=True):
        if isinstance(registration, Exception):
            answers[i] = registration
        else:
            filed.append((i, registration))
    after = await registry.search_many(
        [messages[i].seller.name for i, _ in filed],
        skip_assignee=ours,
        keep={registration.registration_no for _, registration in filed},
    )
    lost: list[tuple[int, Registration, tuple[str, str]]] = []
    for (i, registration), certificate in zip(filed, after, strict=True):
        if isinstance(certificate, Exception):
            answers[i] = certificate
            continue
        problem = _problem(messages[i], split(certificate), services, own=registration)
        if problem is not None and problem[0] == OWN_MISSING:
            # the registry does not show ours yet: search again later (filing again is harmless)
            answers[i] = TransientError("registry", problem[1])
        elif problem is not None and problem[0] == CONFLICT:
            lost.append((i, registration, problem))
        else:
            answers[i] = RegistryOutcome(registration, problem)
    cancelled = await registry.cancel_many([registration for _, registration, _ in lost])
    for (i, registration, problem), error in zip(lost, cancelled, strict=True):
        answers[i] = error or RegistryOutcome(registration, problem, cancelled=True)
    return [a if a is not None else TransientError("registry", "no answer") for a in answers]


_Split = tuple[dict[str, RegistrationEntry], list[RegistrationEntry]]


class _Splits:
    """Each certificate's hits split into ours and the others', once per certificate: a
    batch asks the same seller's certificate for every one of its applications."""

    def __init__(self, factor_uscc: str) -> None:
        self._factor = factor_uscc
        self._done: dict[str, _Split] = {}

    def __call__(self, certificate: SearchCertificate) -> _Split:
        split = self._done.get(certificate.certificate_no)
        if split is None:
            split = split_by_filer(certificate.hits, self._factor)
            self._done[certificate.certificate_no] = split
        return split


def _problem(
    msg: LimitReserved,
    split: _Split,
    services: Services,
    *,
    own: Registration | None,
) -> tuple[str, str] | None:
    mine, others = split
    own_hit = None if own is None else mine.get(own.registration_no)
    problem = priority_problem(
        [*others, *([own_hit] if own_hit is not None else [])],
        invoice_numbers=[msg.invoice_key],
        factor_uscc=services.policy.factor.uscc,
        own_registration_no=None if own is None else own.registration_no,
    )
    if problem is not None and problem[0] == BLANKET and msg.blanket_cleared:
        return None  # an operator has read that blanket registration and let this go on
    return problem


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
    msg: LimitReserved, outcome: RegistryOutcome, uow: UnitOfWork, services: Services
) -> Sequence[Message]:
    registration = outcome.registration
    if registration is not None:
        await uow.registrations.add(registration)
    if outcome.problem is None and registration is not None:
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
                eligible_base=msg.eligible_base,
                due_date=msg.due_date,
            )
        ]
    code, detail = outcome.problem or (CONFLICT, "no registration")
    if code == BLANKET:
        await uow.requests.transition(
            msg.request_id,
            FinancingState.REGISTRY_REVIEW,
            allowed_from=_FROM,
            reason=code,
            note=detail[:500],
        )
        return []
    if outcome.cancelled and registration is not None:
        detail = f"{detail}; our registration {registration.registration_no} was cancelled"
        await uow.registrations.cancel(msg.request_id, note=f"{code}: lost the priority race")
    await uow.facilities.release(msg.request_id)
    return await reject(
        uow, msg.request_id, code, detail[:500], step="registration", allowed_from=_FROM
    )
