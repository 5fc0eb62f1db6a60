"""Top-ups (§2.2, §3.1): the same seller's second application on an invoice with live financing,
its principal capped at the invoice's advance-rate headroom.

Worked by hand on the builders' invoice: 100 x ¥1,000.00 + 13 % VAT = ¥113,000.00; at the
§6.0 advance rate of 0.80 the invoice finances at most ¥90,400.00 in all.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from canonical import DocumentsMatched, FinancingRejected, FinancingState, FinancingSubmitted, Money
from routes.matching import match_documents
from routes.policy import FlowPolicy, PolicyError, load_policy
from routes.ports import InvoiceFinancing
from routes.registry import Services
from routes.top_ups import top_up_cap
from tests.builders import financing_request

FACE = Decimal("113000.00")
GROSS = Decimal("90400.00")  # 113,000.00 x 0.80


def financing(financed: str, paid: str = "0.00", *holders: str) -> InvoiceFinancing:
    return InvoiceFinancing(
        holders=holders or ("FR1",), financed=Money.of(financed), paid=Money.of(paid)
    )


class TestTheCap:
    def test_a_top_up_is_cut_to_what_the_earlier_financing_left_and_says_so(self):
        # 113,000.00 x 0.80 = 90,400.00 - 50,000.00 already financed = 40,400.00
        capped = top_up_cap(financing("50000.00"), FACE, GROSS, FlowPolicy())
        assert (capped.cap, capped.principal, capped.refused) == (
            Decimal("40400.00"),
            Decimal("40400.00"),
            None,
        )
        assert capped.note.startswith("approved reduced to 40400.00 by the top-up cap (TOPUP_CAP)")
        assert "50000.00 already financed (by FR1) = 40400.00" in capped.note

    def test_what_the_debtor_repaid_comes_off_the_face_before_the_advance_rate(self):
        # (113,000.00 - 13,000.00 repaid) x 0.80 = 80,000.00 - 38,000.00 outstanding = 42,000.00
        capped = top_up_cap(financing("38000.00", "13000.00"), FACE, GROSS, FlowPolicy())
        assert capped.principal == Decimal("42000.00")

    def test_a_principal_within_the_cap_is_kept_and_the_top_up_noted(self):
        # asked for 30,000.00; the cap leaves 40,400.00
        capped = top_up_cap(financing("50000.00"), FACE, Decimal("30000.00"), FlowPolicy())
        assert (capped.principal, capped.refused) == (Decimal("30000.00"), None)
        assert capped.note.startswith("top-up within the invoice's cap")

    def test_nothing_left_is_refused(self):
        # 90,400.00 - 90,400.00 = 0.00
        capped = top_up_cap(financing("90400.00"), FACE, GROSS, FlowPolicy())
        assert capped.cap == 0
        assert capped.refused is not None
        assert capped.refused.endswith("nothing left")

    def test_a_cap_below_the_minimum_ticket_is_refused(self):
        # 90,400.00 - 85,000.00 = 5,400.00 < 10,000.00
        capped = top_up_cap(financing("85000.00"), FACE, GROSS, FlowPolicy())
        assert capped.cap == Decimal("5400.00")
        assert capped.refused is not None
        assert "below the minimum ticket 10000.00" in capped.refused

    def test_without_partial_approval_a_cut_top_up_is_refused(self):
        capped = top_up_cap(financing("50000.00"), FACE, GROSS, FlowPolicy(partial_approval=False))
        assert capped.refused is not None
        assert "40400.00: below the principal 90400.00 (no partial approval)" in capped.refused


class _Requests:
    def __init__(self) -> None:
        self.moves: list[tuple[FinancingState, str | None, str | None]] = []

    async def transition(
        self, request_id: str, target: FinancingState, *, allowed_from: Any, reason=None, note=None
    ) -> None:
        self.moves.append((target, reason, note))


class _Locks:
    """The invoice is held by FR1 (of the same seller, financed for `financed`)."""

    def __init__(self, financed: InvoiceFinancing | None) -> None:
        self.financed = financed
        self.asked: list[tuple[str, str, str]] = []
        self.held: dict[str, Money] = {}

    async def claim(self, invoice_key: str, request_id: str) -> str:
        return "FR1"

    async def top_up(
        self, invoice_key: str, request_id: str, *, seller_uscc: str, tenant: str
    ) -> InvoiceFinancing | None:
        self.asked.append((request_id, seller_uscc, tenant))
        return self.financed

    async def hold(self, request_id: str, principal: Money) -> None:
        self.held[request_id] = principal


class _Uow:
    def __init__(self, financed: InvoiceFinancing | None) -> None:
        self.requests = _Requests()
        self.invoice_locks = _Locks(financed)


async def run(uow: _Uow, policy: FlowPolicy | None = None) -> list[Any]:
    request = financing_request("FR2")
    services = Services(policy=policy or FlowPolicy(), clock=None, registry=None, bank=None)  # type: ignore[arg-type]
    message = FinancingSubmitted(request_id="FR2", request=request)
    return list(await match_documents(message, None, uow, services))  # type: ignore[arg-type]


class TestMatchingATopUp:
    async def test_a_top_up_matches_for_what_the_cap_leaves_and_records_its_share(self):
        uow = _Uow(financing("50000.00"))
        (matched,) = await run(uow)
        assert isinstance(matched, DocumentsMatched)
        assert matched.principal == Money.of("40400.00")
        assert matched.eligible_base == Money.of("113000.00")
        ((state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.MATCHED, None)
        assert note is not None
        assert "(TOPUP_CAP)" in note
        assert uow.invoice_locks.held == {"FR2": Money.of("40400.00")}
        assert uow.invoice_locks.asked == [("FR2", "9132050571358240X0", "t1")]

    async def test_a_top_up_with_nothing_left_is_rejected_topup_cap(self):
        uow = _Uow(financing("90400.00"))
        (rejected,) = await run(uow)
        assert isinstance(rejected, FinancingRejected)
        assert (rejected.reason, rejected.step) == ("TOPUP_CAP", "matching")
        assert [m[:2] for m in uow.requests.moves] == [(FinancingState.REJECTED, "TOPUP_CAP")]
        assert uow.invoice_locks.held == {}

    async def test_no_top_up_is_a_duplicate_as_before(self):
        uow = _Uow(None)
        (rejected,) = await run(uow)
        assert isinstance(rejected, FinancingRejected)
        assert rejected.reason == "DUPLICATE_FINANCING"
        assert rejected.detail.endswith("is financed by FR1")

    async def test_with_top_ups_off_the_lock_is_not_even_asked_and_it_is_a_duplicate(self):
        uow = _Uow(financing("50000.00"))
        (rejected,) = await run(uow, FlowPolicy(top_ups=False))
        assert isinstance(rejected, FinancingRejected)
        assert rejected.reason == "DUPLICATE_FINANCING"
        assert uow.invoice_locks.asked == []


class TestThePolicyKey:
    def test_top_ups_are_on_by_default(self, tmp_path):
        path = tmp_path / "empty.yaml"
        path.write_text("", encoding="utf-8")
        assert load_policy(path).top_ups is True

    def test_a_bad_top_ups_value_is_named(self, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text("top_ups: sometimes\n", encoding="utf-8")
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        assert [p.path for p in caught.value.problems] == ["/top_ups"]
