"""How the running flow's smaller `FinancingState` set sits inside the §4.1 application machine.

Every hub state has a §4.1 state of the same name. The hub takes fewer, larger steps: each move
it makes today is listed in `HUB_MOVES` with the §4.1 events that replay it, or with none and a
note where §4.1 would not make that move at all. The differences, in one place:

- The hub matches straight from SUBMITTED: there is no VERIFYING / VERIFIED yet.
- AWAITING_DOCUMENTS is §4.1's SUBMITTED with its documents incomplete (start_verification's
  guard): the orders the invoice names have not come; when they do it is SUBMITTED again, when
  the wait runs out it is a match exception (NO_ORDER).
- The hub files the registration on LimitReserved: APPROVED and REGISTERING are skipped.
- The hub files the registration between a pre-search and a re-search in one step; a blanket
  registration of another party parks the application in REGISTRY_REVIEW, which is §4.1's
  REGISTERING waiting for an operator (§3.1 "goes to MANUAL_REVIEW").
- `FinancingState.terminal` means the origination flow is over: DISBURSED counts, although
  repayments (routes/repayment.py) and the daily job (hub/daily.py) move it on as §4.1 says.
  There is no write-off yet.
- The hub rejects at REGISTERED when the facility has gone; §4.1 holds the application there
  (the pre-disbursement guard fails) until approval_expired cancels it.
"""

from __future__ import annotations

from dataclasses import dataclass

from canonical import FinancingState
from routes.lifecycle.application import ApplicationEvent, ApplicationState

__all__ = ["HUB_MOVES", "HUB_PAIRS", "HubMove", "application_state"]


def application_state(state: FinancingState) -> ApplicationState:
    """The §4.1 state for a hub state: the same name, but REGISTRY_REVIEW, which is §4.1's
    REGISTERING waiting for an operator, and AWAITING_DOCUMENTS, §4.1's SUBMITTED waiting for
    its documents."""
    if state is FinancingState.REGISTRY_REVIEW:
        return ApplicationState.REGISTERING
    if state is FinancingState.AWAITING_DOCUMENTS:
        return ApplicationState.SUBMITTED
    return ApplicationState(state.value)


@dataclass(frozen=True, slots=True)
class HubMove:
    """One transition the running flow makes, and how §4.1 reaches the same place."""

    source: FinancingState
    target: FinancingState
    events: tuple[ApplicationEvent, ...]
    """The §4.1 events that replay this move; empty when §4.1 has no such move."""
    note: str


F = FinancingState
V = ApplicationEvent

HUB_MOVES: tuple[HubMove, ...] = (
    HubMove(
        F.SUBMITTED,
        F.SUBMITTED,
        (),
        "routes/verification.py: the next-day 查验 retry noted; §4.1 loops in VERIFYING "
        "(verification_retry), which the hub folds into SUBMITTED",
    ),
    HubMove(
        F.SUBMITTED,
        F.MATCHED,
        (V.START_VERIFICATION, V.VERIFICATION_PASSED, V.MATCH_PASSED),
        "routes/matching.py (with the VAT platform's verdict when one is configured)",
    ),
    HubMove(
        F.SUBMITTED,
        F.MATCH_REVIEW,
        (V.START_VERIFICATION, V.VERIFICATION_PASSED, V.MATCH_EXCEPTION),
        "routes/matching.py: a mismatch waits for an operator",
    ),
    HubMove(
        F.SUBMITTED,
        F.AWAITING_DOCUMENTS,
        (),
        "routes/awaiting.py: orders the invoice names have not come; §4.1 stays SUBMITTED "
        "(start_verification needs the documents complete)",
    ),
    HubMove(
        F.AWAITING_DOCUMENTS,
        F.SUBMITTED,
        (),
        "routes/awaiting.py: the awaited orders arrived, matched again; §4.1 was SUBMITTED",
    ),
    HubMove(
        F.AWAITING_DOCUMENTS,
        F.MATCH_REVIEW,
        (V.START_VERIFICATION, V.VERIFICATION_PASSED, V.MATCH_EXCEPTION),
        "routes/awaiting.py: the wait ran out, NO_ORDER waits for an operator",
    ),
    HubMove(
        F.AWAITING_DOCUMENTS,
        F.REJECTED,
        (),
        "routes/awaiting.py: the wait ran out, NO_ORDER under `match_exceptions: reject`; "
        "§4.1 gets there through VERIFYING",
    ),
    HubMove(F.MATCH_REVIEW, F.MATCHED, (V.MANUAL_OVERRIDE,), "factorhub review approve"),
    HubMove(F.MATCH_REVIEW, F.REJECTED, (V.MANUAL_REJECT,), "factorhub review reject"),
    HubMove(
        F.SUBMITTED,
        F.REJECTED,
        (),
        "routes/matching.py rejects a void / refused invoice, a duplicate, or a mismatch under "
        "`match_exceptions: reject`; §4.1 gets there through VERIFYING",
    ),
    HubMove(F.MATCHED, F.LIMIT_RESERVED, (V.RESERVE_OK,), "routes/limits.py"),
    HubMove(
        F.MATCHED,
        F.REJECTED,
        (V.RESERVE_FAILED,),
        "routes/limits.py: BELOW_MIN_TICKET, NO_FACILITY, LIMIT_SELLER, LIMIT_BUYER",
    ),
    HubMove(
        F.LIMIT_RESERVED,
        F.REGISTERED,
        (V.CREDIT_APPROVED, V.CONTRACT_SIGNED, V.REGISTRATION_CONFIRMED),
        "routes/registration.py: credit approval and contract signing are not wired yet",
    ),
    HubMove(
        F.LIMIT_RESERVED,
        F.REJECTED,
        (V.CREDIT_APPROVED, V.CONTRACT_SIGNED, V.PRIOR_REGISTRATION_FOUND),
        "routes/registration.py: REGISTRY_CONFLICT, an earlier registration names the invoice",
    ),
    HubMove(
        F.LIMIT_RESERVED,
        F.REGISTRY_REVIEW,
        (V.CREDIT_APPROVED, V.CONTRACT_SIGNED),
        "routes/registration.py: REGISTRY_BLANKET, parked in REGISTERING for an operator",
    ),
    HubMove(
        F.REGISTRY_REVIEW,
        F.LIMIT_RESERVED,
        (),
        "factorhub review approve: filed again past the blanket; §4.1 stays in REGISTERING",
    ),
    HubMove(
        F.REGISTRY_REVIEW,
        F.REJECTED,
        (V.PRIOR_REGISTRATION_FOUND,),
        "factorhub review reject: the operator upholds the blanket registration",
    ),
    HubMove(F.REGISTERED, F.DISBURSING, (V.DISBURSEMENT_INSTRUCTED,), "routes/disbursement.py"),
    HubMove(
        F.REGISTERED,
        F.REJECTED,
        (),
        "routes/disbursement.py (NO_FACILITY); §4.1 waits at REGISTERED until approval_expired",
    ),
    HubMove(F.DISBURSING, F.DISBURSED, (V.DISBURSEMENT_SUCCEEDED,), "routes/disbursement.py"),
    HubMove(
        F.DISBURSING,
        F.REJECTED,
        (V.DISBURSEMENT_FAILED,),
        "routes/disbursement.py (bank RJCT): the final-failure row decided from §3.7",
    ),
    HubMove(
        F.DISBURSED,
        F.REJECTED,
        (),
        "routes/disbursement.py: an e-CNY presumed success (PR03) corrected to PR01; §4.1 "
        "never books a presumed payment as DISBURSED",
    ),
    HubMove(
        F.DISBURSED,
        F.DISBURSED,
        (),
        "routes/repayment.py: a repayment that only covers fees or interest; §4.1's repayment "
        "moves need principal repaid",
    ),
    HubMove(F.DISBURSED, F.PARTIALLY_REPAID, (V.REPAYMENT,), "routes/repayment.py (partial)"),
    HubMove(F.DISBURSED, F.SETTLED, (V.REPAYMENT,), "routes/repayment.py (in full)"),
    HubMove(F.PARTIALLY_REPAID, F.PARTIALLY_REPAID, (V.REPAYMENT,), "routes/repayment.py (again)"),
    HubMove(F.PARTIALLY_REPAID, F.SETTLED, (V.REPAYMENT,), "routes/repayment.py (the rest)"),
    HubMove(F.DISBURSED, F.OVERDUE, (V.MATURITY_PASSED,), "hub/daily.py, routes/repayment.py"),
    HubMove(F.PARTIALLY_REPAID, F.OVERDUE, (V.MATURITY_PASSED,), "hub/daily.py"),
    HubMove(F.OVERDUE, F.OVERDUE, (V.NPL_90D,), "hub/daily.py: flagged NON_PERFORMING"),
    HubMove(F.OVERDUE, F.OVERDUE, (V.REPAYMENT,), "routes/repayment.py (overdue, partial)"),
    HubMove(F.OVERDUE, F.SETTLED, (V.REPAYMENT,), "routes/repayment.py (overdue, in full)"),
    *(
        HubMove(
            state,
            state,
            (),
            "hub/deregistration.py: a history note that our registration is cancelled; §4.1 "
            "cancels it as an action of the move into this state, not as a move of its own",
        )
        for state in (F.SETTLED, F.REJECTED, F.CANCELLED)
    ),
)
"""Every move the running flow makes today (from the routes' `allowed_from` and targets).
`SqlRequestRepository.transition` refuses (and logs) any other."""

HUB_PAIRS: frozenset[tuple[FinancingState, FinancingState]] = frozenset(
    (move.source, move.target) for move in HUB_MOVES
)
"""(source, target) of every move in `HUB_MOVES`."""
