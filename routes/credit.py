"""Credit-bureau checks (factoring-domain §3.6 and §3.8), the limit step's call.

Before any limit is held, the seller and the buyer of each application are looked up at the
credit bureau, one question per distinct enterprise of the batch: a party that the bureau shows
注销 (deregistered), 吊销 (revoked) or on the 失信被执行人 list is refused, as the policy's
`credit_checks` say for each role. A bureau that does not answer is a transient error (the
consumer retries, then keeps the message in the dead-letter store with the application
waiting) unless the policy says `on_unavailable: skip`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canonical import DocumentsMatched, TransientError
from canonical.credit import CourtRecords, CreditStanding, EnterpriseStatus
from routes.policy import CreditCheck, CreditChecks
from routes.registry import Services

__all__ = ["CreditFindings", "check_parties", "credit_problem", "credit_wanted"]

_STATUS_CHECKS: dict[CreditCheck, frozenset[EnterpriseStatus]] = {
    "deregistered": frozenset({EnterpriseStatus.CANCELLED}),
    "revoked": frozenset({EnterpriseStatus.REVOKED}),
    "inactive": frozenset({EnterpriseStatus.OTHER}),
}
_STATUS_CODES = {
    EnterpriseStatus.CANCELLED: ("DEREGISTERED", "注销"),
    EnterpriseStatus.REVOKED: ("REVOKED", "吊销"),
    EnterpriseStatus.OTHER: ("INACTIVE", "not 存续"),
}
_DETAIL_MAX = 300


@dataclass(frozen=True, slots=True)
class CreditFindings:
    """What the bureau said of one application's parties (None: that party was not asked)."""

    seller: CreditStanding | None = None
    buyer: CreditStanding | None = None
    unchecked: str = ""
    """Why the checks were left out (`on_unavailable: skip` and the bureau did not answer)."""


def credit_wanted(services: Services) -> bool:
    """A bureau is set and the policy asks it something (else the step costs nothing)."""
    return services.credit is not None and services.policy.credit_checks.wanted


async def check_parties(
    messages: Sequence[DocumentsMatched], services: Services
) -> list[CreditFindings | Exception | None]:
    """The bureau's answers per message (None when this hub checks nothing)."""
    checks = services.policy.credit_checks
    bureau = services.credit
    if bureau is None or not checks.wanted:
        return [None] * len(messages)
    asked = [m.seller.uscc for m in messages] if checks.seller else []
    asked += [m.buyer.uscc for m in messages] if checks.buyer else []
    distinct = list(dict.fromkeys(asked))
    answers = dict(
        zip(distinct, await bureau.check_many(distinct, executed=checks.executed), strict=True)
    )
    return [_findings(m, answers, checks) for m in messages]


def _findings(
    msg: DocumentsMatched,
    answers: dict[str, CreditStanding | Exception],
    checks: CreditChecks,
) -> CreditFindings | Exception:
    seller = answers[msg.seller.uscc] if checks.seller else None
    buyer = answers[msg.buyer.uscc] if checks.buyer else None
    errors = [a for a in (seller, buyer) if isinstance(a, Exception)]
    skip = checks.on_unavailable == "skip" and all(isinstance(e, TransientError) for e in errors)
    if errors and not skip:
        return errors[0]
    unchecked = " and ".join(
        role for role, a in (("seller", seller), ("buyer", buyer)) if isinstance(a, Exception)
    )
    return CreditFindings(
        seller=None if isinstance(seller, Exception) else seller,
        buyer=None if isinstance(buyer, Exception) else buyer,
        unchecked=(
            f"{unchecked} not checked, the credit bureau did not answer: {errors[0]}"[:_DETAIL_MAX]
            if errors
            else ""
        ),
    )


def credit_problem(findings: CreditFindings, checks: CreditChecks) -> tuple[str, str] | None:
    """(reason code, detail) when the bureau's answers refuse the application, else None: the
    seller first, then the buyer; for each, its 登记状态, then 失信, then 被执行."""
    for role, standing, wanted in (
        ("SELLER", findings.seller, checks.seller),
        ("BUYER", findings.buyer, checks.buyer),
    ):
        if standing is None:
            continue
        problem = _problem(role, standing, wanted)
        if problem is not None:
            code, said = problem
            return code, f"{role.lower()} {standing.uscc}: {said}"[:_DETAIL_MAX]
    return None


def _problem(
    role: str, standing: CreditStanding, wanted: Sequence[CreditCheck]
) -> tuple[str, str] | None:
    refused = frozenset().union(*(_STATUS_CHECKS.get(c, frozenset()) for c in wanted))
    profile = standing.profile
    if refused and profile is None:
        return f"{role}_UNKNOWN", "the credit bureau knows no enterprise with this USCC"
    if profile is not None and profile.status in refused:
        code, word = _STATUS_CODES[profile.status]
        since = profile.cancelled_on or profile.revoked_on
        when = f" since {since.isoformat()}" if since else ""
        text = f"登记状态 {profile.status_text}" if profile.status_text else word
        return f"{role}_{code}", f"{word} at the credit bureau ({profile.name}, {text}{when})"
    if "dishonest" in wanted and standing.dishonest.total:
        return f"{role}_DISHONEST", "失信被执行人, " + _records(standing.dishonest)
    if "executed" in wanted and standing.executed is not None and standing.executed.total:
        return f"{role}_EXECUTED", "被执行人, " + _records(standing.executed)
    return None


def _records(found: CourtRecords) -> str:
    """'2 record(s) at the bureau: (2026)沪0115执1234号 上海市浦东新区人民法院 全部未履行; ...'."""
    shown = "; ".join(
        " ".join(part for part in (r.case_no, r.court, r.performance) if part)
        for r in found.records[:3]
    )
    return f"{found.total} record(s) at the credit bureau" + (f": {shown}" if shown else "")
