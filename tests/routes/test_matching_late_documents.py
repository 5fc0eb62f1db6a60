"""Documents that come late (§3.3): orders an invoice names that did not come with it are
looked up among the documents ingested earlier, else waited for (AWAITING_DOCUMENTS) until
they arrive or the policy's `document_wait_hours` run out (then NO_ORDER).

The builders' invoice names order XSDD2611000001: M0001, 100 x ¥1,000.00 + 13 % = ¥113,000.00.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from canonical import (
    CustomsDeclaration,
    DeliveryNote,
    DocumentLine,
    DocumentsMatched,
    DocumentWaitExpired,
    FinancingRejected,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    IllegalTransition,
    Invoice,
    InvoiceStatus,
    Money,
    Party,
    PartyRole,
    Provenance,
    PurchaseOrder,
)
from routes.awaiting import (
    AWAITING_REASON,
    document_keys,
    documents_arrived,
    expire_document_wait,
)
from routes.later import Later
from routes.matching import match_documents
from routes.policy import POLICY_DIR, FlowPolicy, Policy, flow_policy, load_policy
from routes.ports import DocumentKey, DocumentWait, RequestRecord, TradeDocuments
from routes.registry import Services
from tests.builders import BUYER, NOW, financing_request, line

ORDER_NO = "XSDD2611000001"
OTHER_BUYER = Party(name="杭州远景贸易有限公司", uscc="91330106MA2B3C4D5D", role=PartyRole.BUYER)


def order(
    number: str = ORDER_NO, *, qty: str = "100", buyer: Party | None = BUYER
) -> PurchaseOrder:
    gross = (Decimal(qty) * Decimal("1130.00")).quantize(Decimal("0.01"))
    return PurchaseOrder(
        number=number,
        order_date=date(2026, 11, 1),
        buyer=buyer,
        total=Money.of(gross),
        lines=(line(qty, "1000.00"),),
        provenance=Provenance(source_system="kingdee", source_document_id=number),
    )


def delivery(qty: str, *, order_number: str = ORDER_NO) -> DeliveryNote:
    return DeliveryNote(
        number=f"XSCK-{order_number}-{qty}",
        delivery_date=date(2026, 11, 10),
        order_number=order_number,
        lines=(
            DocumentLine(
                line_no=1,
                item_code="M0001",
                quantity=Decimal(qty),
                unit_price=Decimal(0),
                amount=Decimal(0),
            ),
        ),
        provenance=Provenance(source_system="kingdee", source_document_id=f"XSCK-{qty}"),
    )


def waiting_request(request_id: str = "FRLATE1", *, numbers: tuple[str, ...] = (ORDER_NO,)):
    """An invoice naming `numbers`, pushed without any order."""
    base = financing_request(request_id, with_order=False)
    invoice = Invoice.model_validate({**dict(base.invoice), "order_numbers": numbers})
    return FinancingRequest.model_validate({**dict(base), "invoice": invoice})


class FakeRequests:
    def __init__(self, *requests: tuple[FinancingRequest, FinancingState]) -> None:
        self.stored = {r.id: r for r, _ in requests}
        self.states: dict[str, FinancingState] = {r.id: s for r, s in requests}
        self.moves: list[tuple[str, FinancingState, str | None, str | None]] = []

    async def get(self, request_id: str) -> RequestRecord:
        return RequestRecord(self.stored[request_id], self.states[request_id], None)

    async def state_of(self, request_id: str) -> tuple[FinancingState, str | None] | None:
        state = self.states.get(request_id)
        return None if state is None else (state, None)

    async def transition(
        self,
        request_id: str,
        target: FinancingState,
        *,
        allowed_from: frozenset[FinancingState],
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        if self.states[request_id] not in allowed_from:
            raise IllegalTransition("financing", self.states[request_id].value, target.value)
        self.states[request_id] = target
        self.moves.append((request_id, target, reason, note))


class FakeDocumentIndex:
    """Documents ingested under tenant t1 (latest first) and the waits, in memory."""

    def __init__(self, *documents: PurchaseOrder | DeliveryNote | CustomsDeclaration) -> None:
        self.documents = list(documents)
        self.waits: dict[str, DocumentWait] = {}
        self.amended: list[FinancingRequest] = []
        self.finds = 0

    async def find(
        self, tenant: str, order_numbers: Collection[str], *, customs: bool = False
    ) -> TradeDocuments:
        self.finds += 1
        if tenant != "t1":
            return TradeDocuments()
        declarations = tuple(
            d
            for d in self.documents
            if isinstance(d, CustomsDeclaration) and d.contract_number in order_numbers
        )
        return TradeDocuments(
            orders=tuple(
                d
                for d in self.documents
                if isinstance(d, PurchaseOrder) and d.number in order_numbers
            ),
            deliveries=tuple(
                d
                for d in self.documents
                if isinstance(d, DeliveryNote) and d.order_number in order_numbers
            ),
            declarations=declarations if customs else (),
        )

    async def wait_for(
        self,
        request_id: str,
        tenant: str,
        numbers: Sequence[str],
        *,
        since: datetime,
        due_at: datetime,
        customs: Sequence[str] = (),
    ) -> None:
        self.waits[request_id] = DocumentWait(
            request_id, tuple(numbers), since, due_at, tuple(customs)
        )

    async def waiting_for(self, tenant: str, numbers: Collection[str]) -> list[DocumentWait]:
        return [w for w in self.waits.values() if set(w.numbers + w.customs) & set(numbers)]

    async def stop_waiting(self, request_id: str) -> None:
        self.waits.pop(request_id, None)

    async def amend(self, request: FinancingRequest) -> None:
        self.amended.append(request)


class FakeLocks:
    async def claim(self, invoice_key: str, request_id: str) -> str:
        return request_id


class FakeUnitOfWork:
    def __init__(self, requests: FakeRequests, index: FakeDocumentIndex) -> None:
        self.requests = requests
        self.document_index = index
        self.invoice_locks = FakeLocks()


def services(**policy: Any) -> Services:
    return Services(
        policy=FlowPolicy(**policy),
        clock=lambda: NOW,
        registry=None,  # type: ignore[arg-type]
        bank=None,  # type: ignore[arg-type]
    )


async def match(
    request: FinancingRequest, index: FakeDocumentIndex, **policy: Any
) -> tuple[list[Any], FakeUnitOfWork]:
    uow = FakeUnitOfWork(FakeRequests((request, FinancingState.SUBMITTED)), index)
    message = FinancingSubmitted(request_id=request.id, request=request)
    emitted = await match_documents(message, None, uow, services(**policy))  # type: ignore[arg-type]
    return list(emitted), uow


class TestMatchingLooksForOrdersIngestedEarlier:
    async def test_an_order_ingested_before_the_invoice_is_matched_as_if_it_came_with_it(self):
        index = FakeDocumentIndex(order())
        emitted, uow = await match(waiting_request(), index)

        (matched,) = emitted
        assert isinstance(matched, DocumentsMatched)
        assert matched.principal.amount == Decimal("90400.00")  # 113,000.00 x 0.80
        assert [m[1] for m in uow.requests.moves] == [FinancingState.MATCHED]
        (amended,) = index.amended  # the stored request shows what matching saw
        assert [o.number for o in amended.orders] == [ORDER_NO]

    async def test_delivery_notes_ingested_for_the_named_order_count_as_deliveries(self):
        index = FakeDocumentIndex(order(), delivery("80"))
        emitted, _ = await match(waiting_request(), index)

        (matched,) = emitted
        # delivered only (§6.0 default): 80 of 100 delivered -> face 113,000.00 x 80/100
        assert matched.eligible_base.amount == Decimal("90400.00")
        assert matched.principal.amount == Decimal("72320.00")

    async def test_an_invoice_carrying_all_its_orders_looks_nothing_up(self):
        index = FakeDocumentIndex(order(qty="50"))
        emitted, _ = await match(financing_request("FRFULL"), index)

        assert isinstance(emitted[0], DocumentsMatched)
        assert index.finds == 0

    async def test_an_order_naming_another_buyer_does_not_count(self):
        index = FakeDocumentIndex(order(buyer=OTHER_BUYER))
        emitted, uow = await match(waiting_request(), index)

        (later,) = emitted
        assert isinstance(later, Later)
        assert uow.requests.states["FRLATE1"] is FinancingState.AWAITING_DOCUMENTS


class TestAnInvoiceWhoseOrdersHaveNotComeWaits:
    async def test_it_waits_naming_the_missing_orders_with_a_timer_at_the_policys_hours(self):
        index = FakeDocumentIndex(order("XSDD-A"))
        request = waiting_request(numbers=("XSDD-A", "XSDD-B"))
        emitted, uow = await match(request, index, document_wait_hours=48)

        (later,) = emitted
        assert isinstance(later, Later)
        assert later.due_at == NOW + timedelta(hours=48)
        assert later.message == DocumentWaitExpired(
            request_id="FRLATE1", awaited=("XSDD-B",), waiting_since=NOW, hours=48
        )
        ((_, state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.AWAITING_DOCUMENTS, AWAITING_REASON)
        assert note == (
            "waiting for order(s) XSDD-B named by the invoice, until 2026-11-30 17:00 "
            "Asia/Shanghai (48 h)"
        )
        assert index.waits["FRLATE1"].numbers == ("XSDD-B",)
        assert [o.number for o in index.amended[0].orders] == ["XSDD-A"]  # what did come

    async def test_with_no_wait_configured_a_missing_order_is_no_order_at_once(self):
        emitted, uow = await match(waiting_request(), FakeDocumentIndex(), document_wait_hours=0)

        assert emitted == []
        assert [(m[1], m[2]) for m in uow.requests.moves] == [
            (FinancingState.MATCH_REVIEW, "NO_ORDER")
        ]
        assert uow.document_index.waits == {}

    async def test_a_void_invoice_is_refused_at_once_and_never_waits(self):
        request = waiting_request()
        void = Invoice.model_validate({**dict(request.invoice), "status": InvoiceStatus.VOID})
        request = FinancingRequest.model_validate({**dict(request), "invoice": void})
        emitted, uow = await match(request, FakeDocumentIndex())

        assert isinstance(emitted[0], FinancingRejected)
        assert emitted[0].reason == "INVOICE_VOID"
        assert uow.document_index.finds == 0


def _waiting(*requests: FinancingRequest, index: FakeDocumentIndex) -> FakeUnitOfWork:
    for r in requests:
        index.waits[r.id] = DocumentWait(
            r.id, r.invoice.order_numbers, NOW, NOW + timedelta(hours=72)
        )
    states = FakeRequests(*((r, FinancingState.AWAITING_DOCUMENTS) for r in requests))
    return FakeUnitOfWork(states, index)


class TestADocumentArriving:
    async def test_the_last_awaited_order_hands_the_application_back_with_every_document(self):
        request = waiting_request(numbers=("XSDD-A", "XSDD-B"))
        index = FakeDocumentIndex(order("XSDD-A", qty="40"), delivery("40", order_number="XSDD-A"))
        uow = _waiting(request, index=index)
        index.documents.append(order("XSDD-B", qty="60"))  # just stored

        (handed,) = await documents_arrived("t1", [DocumentKey("order", "XSDD-B")], uow)  # type: ignore[arg-type]

        assert isinstance(handed, FinancingSubmitted)
        assert handed.request_id == request.id
        assert [o.number for o in handed.request.orders] == ["XSDD-A", "XSDD-B"]
        assert [d.order_number for d in handed.request.deliveries] == ["XSDD-A"]
        assert handed.verification_attempt == 1
        ((_, state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.SUBMITTED, None)
        assert note == "order(s) XSDD-A, XSDD-B came: matched again"
        assert index.waits == {}
        assert index.amended == [handed.request]

    async def test_an_order_completing_only_part_of_a_wait_changes_nothing(self):
        request = waiting_request(numbers=("XSDD-A", "XSDD-B"))
        index = FakeDocumentIndex(order("XSDD-A"))
        uow = _waiting(request, index=index)

        assert await documents_arrived("t1", [DocumentKey("order", "XSDD-A")], uow) == []  # type: ignore[arg-type]
        assert uow.requests.moves == []
        assert "FRLATE1" in index.waits

    async def test_every_application_waiting_for_the_order_is_handed_back(self):
        first, second = waiting_request("FRLATE1"), waiting_request("FRLATE2")
        index = FakeDocumentIndex(order())
        uow = _waiting(first, second, index=index)

        handed = await documents_arrived("t1", [DocumentKey("order", ORDER_NO)], uow)  # type: ignore[arg-type]

        assert sorted(m.request_id for m in handed) == ["FRLATE1", "FRLATE2"]

    async def test_a_document_for_an_application_no_longer_waiting_changes_nothing(self):
        request = waiting_request()
        index = FakeDocumentIndex(order())
        uow = _waiting(request, index=index)
        uow.requests.states[request.id] = FinancingState.MATCH_REVIEW  # the wait ran out

        assert await documents_arrived("t1", [DocumentKey("order", ORDER_NO)], uow) == []  # type: ignore[arg-type]
        assert uow.requests.moves == []

    async def test_a_delivery_note_alone_hands_nothing_back(self):
        index = FakeDocumentIndex(delivery("100"))
        uow = _waiting(waiting_request(), index=index)

        assert await documents_arrived("t1", [DocumentKey("delivery", ORDER_NO)], uow) == []  # type: ignore[arg-type]
        assert index.finds == 0


def _expiry(request_id: str = "FRLATE1") -> DocumentWaitExpired:
    return DocumentWaitExpired(
        request_id=request_id, awaited=(ORDER_NO,), waiting_since=NOW, hours=72
    )


class TestTheWaitRunningOut:
    async def test_an_application_still_waiting_goes_to_match_review_naming_what_never_came(self):
        index = FakeDocumentIndex()
        uow = _waiting(waiting_request(), index=index)

        emitted = await expire_document_wait(_expiry(), None, uow, services())  # type: ignore[arg-type]

        assert emitted == []
        ((_, state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.MATCH_REVIEW, "NO_ORDER")
        assert note == (
            f"order(s) {ORDER_NO} named by the invoice never came: waited 72 h from "
            "2026-11-28 17:00 Asia/Shanghai"
        )
        assert index.waits == {}

    async def test_under_match_exceptions_reject_it_is_rejected_with_no_order(self):
        uow = _waiting(waiting_request(), index=FakeDocumentIndex())

        (rejected,) = await expire_document_wait(
            _expiry(),
            None,
            uow,
            services(match_exceptions="reject"),  # type: ignore[arg-type]
        )

        assert isinstance(rejected, FinancingRejected)
        assert (rejected.reason, rejected.step) == ("NO_ORDER", "matching")
        assert "never came" in rejected.detail
        assert uow.requests.states["FRLATE1"] is FinancingState.REJECTED

    async def test_a_timeout_for_an_application_that_moved_on_does_nothing_however_often(self):
        uow = _waiting(waiting_request(), index=FakeDocumentIndex())
        uow.requests.states["FRLATE1"] = FinancingState.MATCHED

        for _ in range(2):
            assert await expire_document_wait(_expiry(), None, uow, services()) == []  # type: ignore[arg-type]
        assert uow.requests.moves == []

    async def test_a_second_firing_after_the_review_changes_nothing(self):
        uow = _waiting(waiting_request(), index=FakeDocumentIndex())
        await expire_document_wait(_expiry(), None, uow, services())  # type: ignore[arg-type]
        await expire_document_wait(_expiry(), None, uow, services())  # type: ignore[arg-type]

        assert [m[1] for m in uow.requests.moves] == [FinancingState.MATCH_REVIEW]

    async def test_orders_known_by_then_hand_it_back_to_matching_instead(self):
        index = FakeDocumentIndex(order())  # stored, but nobody handed it back
        uow = _waiting(waiting_request(), index=index)

        (handed,) = await expire_document_wait(_expiry(), None, uow, services())  # type: ignore[arg-type]

        assert isinstance(handed, FinancingSubmitted)
        assert uow.requests.states["FRLATE1"] is FinancingState.SUBMITTED


class TestDocumentKeys:
    def test_an_order_is_found_by_its_number_and_names_its_buyer(self):
        assert document_keys(order()) == (DocumentKey("order", ORDER_NO, BUYER.uscc),)
        assert document_keys(order(buyer=None)) == (DocumentKey("order", ORDER_NO, ""),)

    def test_a_delivery_note_is_found_by_the_order_it_ships_against(self):
        assert document_keys(delivery("5")) == (DocumentKey("delivery", ORDER_NO),)

    def test_a_customs_declaration_is_found_by_its_contract_and_names_the_exporter(self):
        declaration = CustomsDeclaration(
            entry_id="310120261000012345",
            declare_date=date(2026, 11, 12),
            trade_uscc="9132050571358240X0",
            contract_number="HT-2026-001",
            total=Money.of("1000.00"),
            provenance=Provenance(source_system="customs", source_document_id="1"),
        )
        assert document_keys(declaration) == (
            DocumentKey("customs", "HT-2026-001", "9132050571358240X0"),
        )

    def test_other_documents_have_no_keys(self):
        assert document_keys(waiting_request().invoice) == ()


class TestThePolicysDocumentWait:
    def test_the_default_policy_waits_72_hours_and_the_flow_takes_it(self):
        policy = load_policy(POLICY_DIR / "default.yaml")
        assert policy.document_wait_hours == 72
        assert (
            flow_policy(policy.model_copy(update={"document_wait_hours": 0})).document_wait_hours
            == 0
        )

    @pytest.mark.parametrize("hours", [-1, 721, "72"])
    def test_a_negative_a_longer_than_30_days_or_a_text_wait_is_refused(self, hours):
        with pytest.raises(ValidationError, match="document_wait_hours"):
            Policy.model_validate({"document_wait_hours": hours})
