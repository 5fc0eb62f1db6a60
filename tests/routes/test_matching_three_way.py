"""Three-way matching (§3.3): invoice against orders and, when they came with it, delivery notes.

Worked by hand on the builders' invoice: item M0001, 100 x ¥1,000.00 + 13 % VAT = ¥113,000.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from canonical import (
    DeliveryNote,
    DocumentLine,
    DocumentsMatched,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    Invoice,
    Money,
    Provenance,
    PurchaseOrder,
)
from routes.matching import match_documents, match_problem, match_request
from routes.policy import FlowPolicy, Policy, flow_policy, load_policy
from routes.registry import Services
from tests.builders import financing_request, line

PROVENANCE = Provenance(source_system="test", source_document_id="DN-1")


def delivered(*quantities: tuple[str, str]) -> DeliveryNote:
    """A delivery note (出库单) of (item, quantity); ERPs send no prices on it."""
    return DeliveryNote(
        number=f"XSCK{len(quantities):04d}",
        delivery_date=date(2026, 11, 10),
        order_number="XSDD2611000001",
        lines=tuple(
            DocumentLine(
                line_no=n,
                item_code=item,
                quantity=Decimal(qty),
                unit_price=Decimal(0),
                amount=Decimal(0),
            )
            for n, (item, qty) in enumerate(quantities, 1)
        ),
        provenance=PROVENANCE,
    )


def with_deliveries(request: FinancingRequest, *notes: DeliveryNote) -> FinancingRequest:
    return FinancingRequest.model_validate({**dict(request), "deliveries": notes})


def two_item_request() -> FinancingRequest:
    """M0001: 100 x 1,000.00 = 100,000.00 + tax 13,000.00 = 113,000.00;
    M0002: 30 x 99.99 = 2,999.70 + tax 389.96 (389.961 rounded) = 3,389.66;
    invoice and order total 116,389.66 (amount 102,999.70 + tax 13,389.96)."""
    first = line("100", "1000.00", "M0001")
    second = line("30", "99.99", "M0002").model_copy(update={"line_no": 2})
    assert (second.amount, second.tax) == (Decimal("2999.70"), Decimal("389.96"))
    base = financing_request("FR3WAY2")
    invoice = Invoice.model_validate(
        {
            **dict(base.invoice),
            "amount": Money.of("102999.70"),
            "tax": Money.of("13389.96"),
            "total": Money.of("116389.66"),
            "lines": (first, second),
        }
    )
    order = PurchaseOrder(
        number="XSDD2611000001",
        order_date=date(2026, 11, 1),
        total=Money.of("116389.66"),
        lines=(first, second),
        provenance=PROVENANCE,
    )
    return FinancingRequest.model_validate({**dict(base), "invoice": invoice, "orders": (order,)})


class _Requests:
    def __init__(self) -> None:
        self.moves: list[tuple[FinancingState, str | None, str | None]] = []

    async def transition(
        self, request_id: str, target: FinancingState, *, allowed_from: Any, reason=None, note=None
    ) -> None:
        self.moves.append((target, reason, note))


class _Locks:
    async def claim(self, invoice_key: str, request_id: str) -> str:
        return request_id


class _Uow:
    def __init__(self) -> None:
        self.requests = _Requests()
        self.invoice_locks = _Locks()


async def run(request: FinancingRequest, policy: FlowPolicy) -> tuple[list[Any], _Requests]:
    """The matching step on its own: what it emits and the transitions it made."""
    uow = _Uow()
    services = Services(policy=policy, clock=None, registry=None, bank=None)  # type: ignore[arg-type]
    message = FinancingSubmitted(request_id=request.id, request=request)
    emitted = await match_documents(message, None, uow, services)  # type: ignore[arg-type]
    return list(emitted), uow.requests


def principal_of(emitted: list[Any]) -> Decimal:
    (matched,) = emitted
    assert isinstance(matched, DocumentsMatched)
    return matched.principal.amount


async def test_a_fully_delivered_invoice_matches_and_finances_80_percent_of_its_total():
    request = with_deliveries(financing_request("FR3WAY1"), delivered(("M0001", "100")))
    assert match_problem(request, FlowPolicy()) is None
    emitted, requests = await run(request, FlowPolicy())
    assert principal_of(emitted) == Decimal("90400.00")  # 113,000.00 x 0.80
    assert requests.moves == [(FinancingState.MATCHED, None, None)]


async def test_invoicing_up_to_2_percent_more_than_was_delivered_is_within_tolerance():
    # 102 x 1,000.00 = 102,000.00 + tax 13,260.00 = 115,260.00; delivered 100: 102 <= 100 x 1.02
    request = with_deliveries(
        financing_request("FR3WAY3", total="115260.00", invoice_qty="102", order_qty="102"),
        delivered(("M0001", "100")),
    )
    assert match_request(request, FlowPolicy()).eligible_face is None
    emitted, _ = await run(request, FlowPolicy())
    assert principal_of(emitted) == Decimal("92208.00")  # 115,260.00 x 0.80, the whole invoice


def test_a_third_percent_over_the_tolerance_is_a_shortfall():
    # 103 x 1,000.00 = 116,390.00; 103 > 100 x 1.02: under `reject` it is a mismatch
    request = with_deliveries(
        financing_request("FR3WAY4", total="116390.00", invoice_qty="103", order_qty="103"),
        delivered(("M0001", "100")),
    )
    assert match_problem(request, FlowPolicy(partial_match_mode="reject")) == (
        "MATCH_QTY",
        "item M0001: invoiced 103 > delivered 100",
    )


async def test_an_under_delivered_invoice_is_financed_for_what_was_delivered_only():
    # M0002: 30 invoiced, 12 + 8 = 20 delivered on two notes (30 > 20 x 1.02 = 20.4);
    # eligible face = 113,000.00 + 3,389.66 x 20 / 30 (= 2,259.7733...) = 115,259.7733...
    #               -> 115,259.77 (down to the fen); principal 115,259.77 x 0.80 = 92,207.816
    #               -> 92,207.81 (down to the fen), instead of 116,389.66 x 0.80 = 93,111.72
    request = with_deliveries(
        two_item_request(),
        delivered(("M0001", "100"), ("M0002", "12")),
        delivered(("M0002", "8")),
    )
    match = match_request(request, FlowPolicy())
    assert (match.problem, match.eligible_face) == (None, Decimal("115259.77"))
    emitted, requests = await run(request, FlowPolicy())
    assert principal_of(emitted) == Decimal("92207.81")
    ((state, reason, note),) = requests.moves
    assert (state, reason) == (FinancingState.MATCHED, None)
    assert note is not None
    assert note.startswith("delivered only: eligible face 115259.77 of invoice total 116389.66")
    assert "item M0002: invoiced 30 > delivered 20" in note


async def test_an_over_delivered_item_does_not_make_up_for_an_under_delivered_one():
    # M0001 delivered 150 of 100 counts as its invoiced 113,000.00, not more:
    # M0002 delivered 0 of 30 -> face 113,000.00, principal 90,400.00
    request = with_deliveries(two_item_request(), delivered(("M0001", "150"), ("M0002", "0")))
    emitted, _ = await run(request, FlowPolicy())
    assert principal_of(emitted) == Decimal("90400.00")


async def test_an_item_no_delivery_note_names_is_matched_against_its_order_as_a_service_is():
    # M0002 (say, installation) is on no delivery note: 30 invoiced of 30 ordered is fine and
    # counts in full, so the invoice is financed whole: 116,389.66 x 0.80 = 93,111.728 -> 93,111.72
    request = with_deliveries(two_item_request(), delivered(("M0001", "100")))
    emitted, _ = await run(request, FlowPolicy())
    assert principal_of(emitted) == Decimal("93111.72")
    # ...and such an item is still held to its order: 103 invoiced of 100 ordered is a MATCH_QTY
    request = with_deliveries(financing_request("FR3WAY9"), delivered(("M0002", "5")))
    assert match_problem(request, FlowPolicy()) is None  # M0001: 100 of 100 ordered
    over_order = financing_request("FR3WAYA", invoice_qty="103", order_qty="100")
    request = with_deliveries(over_order, delivered(("M0002", "5")))
    assert match_problem(request, FlowPolicy()) == (
        "MATCH_QTY",
        "item M0001: invoiced 103 > ordered 100",
    )


async def test_with_partial_match_mode_reject_a_shortfall_is_a_reviewable_match_qty():
    request = with_deliveries(two_item_request(), delivered(("M0001", "100"), ("M0002", "20")))
    detail = "item M0002: invoiced 30 > delivered 20"
    policy = FlowPolicy(partial_match_mode="reject")
    assert match_problem(request, policy) == ("MATCH_QTY", detail)
    emitted, requests = await run(request, policy)  # match_exceptions: review (the default)
    assert emitted == []
    assert requests.moves == [(FinancingState.MATCH_REVIEW, "MATCH_QTY", detail)]
    policy = FlowPolicy(partial_match_mode="reject", match_exceptions="reject")
    emitted, requests = await run(request, policy)
    assert [(m.reason, m.detail) for m in emitted] == [("MATCH_QTY", detail)]
    assert requests.moves == [(FinancingState.REJECTED, "MATCH_QTY", detail)]


async def test_with_partial_match_mode_manual_review_a_shortfall_always_waits_for_an_operator():
    request = with_deliveries(two_item_request(), delivered(("M0001", "100"), ("M0002", "20")))
    policy = FlowPolicy(partial_match_mode="manual_review", match_exceptions="reject")
    emitted, requests = await run(request, policy)
    assert emitted == []
    assert [(s, r) for s, r, _ in requests.moves] == [(FinancingState.MATCH_REVIEW, "MATCH_QTY")]


def test_nothing_delivered_of_anything_invoiced_is_a_mismatch_not_a_zero_principal():
    request = with_deliveries(financing_request("FR3WAY5"), delivered(("M0001", "0")))
    assert match_problem(request, FlowPolicy()) == (
        "MATCH_QTY",
        "item M0001: invoiced 100 > delivered 0: nothing invoiced was delivered",
    )


async def test_without_delivery_notes_the_invoice_is_matched_against_its_orders_as_before():
    plain = financing_request("FR3WAY6")
    emitted, requests = await run(plain, FlowPolicy())
    assert principal_of(emitted) == Decimal("90400.00")
    assert requests.moves == [(FinancingState.MATCHED, None, None)]
    # 103 invoiced of 100 ordered, the totals equal: the ordered quantity decides, whatever the
    # partial match mode (it is about delivery notes)
    over_order = financing_request("FR3WAY8", invoice_qty="103", order_qty="100")
    for mode in ("delivered_only", "reject"):
        assert match_problem(over_order, FlowPolicy(partial_match_mode=mode)) == (  # type: ignore[arg-type]
            "MATCH_QTY",
            "item M0001: invoiced 103 > ordered 100",
        )


def test_the_flow_takes_partial_match_mode_from_the_policys_matching_keys(tmp_path):
    assert FlowPolicy().partial_match_mode == "delivered_only"
    assert flow_policy(Policy()).partial_match_mode == "delivered_only"
    path = tmp_path / "policy.yaml"
    path.write_text("matching: {partial_match_mode: reject}\n")
    assert flow_policy(load_policy(path)).partial_match_mode == "reject"
