"""Properties of any quote: money conserved, no headroom exceeded, legal states, no float."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from routes.quote import QuoteRequest, quote
from routes.quote.ledger import ALLOWED
from routes.quote.models import QuoteState

AS_OF = date(2026, 1, 5)
fen = st.integers(min_value=0, max_value=10**9).map(lambda n: f"{Decimal(n) / 100:.2f}")
small = st.one_of(st.just("0.00"), fen)
big = st.integers(min_value=10**6, max_value=10**12).map(lambda n: f"{Decimal(n) / 100:.2f}")


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    receivables = [
        {
            "id": f"R{i}",
            "issue_date": str(AS_OF - timedelta(days=draw(st.integers(0, 200)))),
            "due_date": str(AS_OF + timedelta(days=draw(st.integers(-5, 200)))),
            "face": draw(big),
            "verification": draw(st.sampled_from(["normal", "normal", "void", "not_found"])),
            "already_financed": draw(st.sampled_from(["0.00", "0.00", "1000.00"])),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    for item in receivables:
        item["issue_date"] = min(item["issue_date"], item["due_date"])
    limits = [
        {"kind": kind, "limit": draw(big), "used": draw(small), "reserved": draw(small)}
        for kind in draw(
            st.lists(st.sampled_from(["seller_facility", "buyer", "anchor"]), max_size=3)
        )
    ]
    events = [
        {
            "type": "repayment",
            "date": str(AS_OF + timedelta(days=draw(st.integers(0, 260)))),
            "amount": f"{Decimal(draw(st.integers(1, 10**8))) / 100:.2f}",
        }
        for _ in range(draw(st.integers(0, 5)))
    ]
    policy = {
        "interest_method": draw(st.sampled_from(["arrears", "discount"])),
        "day_count": draw(st.sampled_from(["ACT/360", "ACT/365"])),
        "fee_timing": draw(st.sampled_from(["upfront", "arrears"])),
        "penalty_grace_days": draw(st.integers(0, 5)),
        "receivable_grace_days": draw(st.integers(0, 10)),
        "compound_penalty": draw(st.booleans()),
        "refund_unearned_interest": draw(st.booleans()),
        "min_ticket": draw(st.sampled_from(["0.00", "10000.00"])),
    }
    document: dict[str, Any] = {
        "as_of": str(AS_OF),
        "policy": policy,
        "limits": limits,
        "receivables": receivables,
        "events": events,
        "request": {"amount": draw(st.one_of(st.none(), big))},
    }
    if draw(st.booleans()):
        document["portfolio"] = {
            "net_assets": draw(big),
            "risk_assets": draw(big),
            "debtor_exposure": draw(fen),
            "debtor_related": draw(st.booleans()),
            "related_exposure": draw(fen),
        }
    return document


def _no_float(value: object) -> None:
    assert not isinstance(value, float)
    if isinstance(value, dict):
        for item in value.values():
            _no_float(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _no_float(item)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_any_quote_conserves_money_and_respects_every_headroom(document):
    request = QuoteRequest.model_validate_json(json.dumps(document))
    result = quote(request)
    principal = result.principal
    _no_float(result.model_dump())
    _no_float(json.loads(result.model_dump_json(), parse_float=lambda s: float(s)))
    for limit in request.limits:
        assert principal <= max(limit.limit - limit.used - limit.reserved, Decimal(0))
    if request.request.amount is not None:
        assert principal <= request.request.amount
    assert principal <= result.eligible_base * request.policy.advance_rate
    assert sum(line.principal for line in result.receivables) == principal
    for line, item in zip(result.receivables, request.receivables, strict=True):
        cap = line.eligible_face * request.policy.advance_rate - item.already_financed
        assert line.principal <= max(cap, Decimal(0)) + Decimal("0.01")
    repaid = Decimal(0)
    for repayment in result.repayments:
        parts = (repayment.fees, repayment.penalty, repayment.principal, repayment.surplus)
        assert min(parts) >= 0
        assert repayment.amount == sum(parts) + repayment.interest
        repaid += repayment.principal
        assert principal - repaid == repayment.outstanding_after  # disbursed - repaid = outstanding
    if result.state is QuoteState.SETTLED:
        assert result.repayments[-1].outstanding_after == 0
    if result.state in (QuoteState.PARTIALLY_REPAID, QuoteState.OVERDUE):
        assert result.repayments[-1].outstanding_after > 0


@settings(max_examples=200, deadline=None)
@given(documents())
def test_random_event_sequences_only_take_legal_transitions(document):
    document["receivables"] = [
        {"id": "R", "issue_date": "2026-01-01", "due_date": "2026-03-20", "face": "452000.00"}
    ]
    document.pop("portfolio", None)
    document["limits"] = []
    document["request"] = {"amount": None}
    result = quote(QuoteRequest.model_validate_json(json.dumps(document)))
    # the ledger raises IllegalTransition on any move outside ALLOWED; the end state is reachable
    reachable = {QuoteState.DISBURSED, *(s for targets in ALLOWED.values() for s in targets)}
    assert result.state in reachable
    if not result.repayments:
        assert result.state is QuoteState.DISBURSED
