"""Three-way matching through the running stack (§3.3, §6.0 `partial_match_mode:
delivered_only`): an invoice billing more than its delivery note shipped is paid for what was
delivered only.

The ERP simulator's "quantity_over_delivery" case invoices 21 of an accessory its order and its
销售出库单 (SAL_OUTSTOCK) say 20 of. The hub's Kingdee mapper does not read SAL_OUTSTOCK yet (it
maps the invoice and its sales orders only), so the test maps the push with that mapper and
attaches the delivery note the push carried, as canonical `deliveries`, before submitting the
request to the running hub the way the ingress stores a push (request row and outbox row in one
commit); from there on everything runs as in production.
"""

from __future__ import annotations

from decimal import Decimal

from canonical import (
    DeliveryNote,
    DocumentLine,
    Envelope,
    FinancingRequest,
    FinancingSubmitted,
    Provenance,
)
from hub.intake import submission
from hub.mapping_pool import map_push
from simulators.erp.dataset import GeneratedCase, generate_invoices
from simulators.erp.payloads import render
from tests.e2e.stack import SEED, Stack, running_stack


def delivery_note(case: GeneratedCase) -> DeliveryNote:
    """The push's SAL_OUTSTOCK as canonical: the items and quantities shipped (no prices)."""
    note = case.delivery
    assert note is not None
    return DeliveryNote(
        number=note.number,
        delivery_date=note.delivery_date,
        order_number=note.order_number,
        lines=tuple(
            DocumentLine(
                line_no=n,
                item_code=line.product_code,
                quantity=Decimal(line.quantity),
                unit_price=Decimal(0),
                amount=Decimal(0),
            )
            for n, line in enumerate(note.lines, 1)
        ),
        provenance=Provenance(source_system="kingdee", source_document_id=note.number),
    )


async def submit_with_delivery(stack: Stack, case: GeneratedCase) -> str:
    """Map the Kingdee push as the ingress does, attach its delivery note, store and emit."""
    now = stack.hub.clock()
    tenant = stack.hub.settings.tenant
    push = map_push("kingdee", render(case), now)
    mapped, _ = submission(push, tenant=tenant, source="kingdee", now=now)
    request = FinancingRequest.model_validate(
        {**dict(mapped), "deliveries": (delivery_note(case),)}
    )
    message = FinancingSubmitted(request_id=request.id, request=request)
    envelope = Envelope(
        correlation_id=request.id,
        tenant=tenant,
        source_system="kingdee",
        type=type(message).__name__,
        key=request.seller.uscc,
        body=message.model_dump(mode="json"),
    ).carrying(message)
    async with stack.hub.units() as uow:
        assert await uow.requests.add(request, source_system="kingdee")
        await uow.outbox.add_many([(message.topic, envelope)])
        await uow.commit()
    return request.id


async def test_an_erp_push_whose_delivery_note_covers_less_than_the_invoice_is_paid_for_what_was_delivered(  # noqa: E501
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        anomalies = {"quantity_over_delivery": 1.0, "order_amount_mismatch": 0.0}
        case = generate_invoices(SEED, 1, stack.companies, anomalies)[0]
        # The case, by hand: M0004 120 invoiced, ordered and shipped, ¥1,027,270.34 incl. tax;
        # P0002 (an accessory) 21 invoiced for ¥702.41 incl. tax, 20 ordered and shipped.
        assert case.vendor == "kingdee"
        assert case.invoice.total == Decimal("1027972.75")
        invoiced = {ln.product_code: (ln.quantity, ln.total) for ln in case.invoice.lines}
        assert invoiced == {
            "M0004": (120, Decimal("1027270.34")),
            "P0002": (21, Decimal("702.41")),
        }
        assert case.delivery is not None
        assert {ln.product_code: ln.quantity for ln in case.delivery.lines} == {
            "M0004": 120,
            "P0002": 20,
        }
        # 21 > 20 x 1.02: delivered only. Eligible face = 1,027,270.34 + 702.41 x 20 / 21
        # (= 668.9619...) = 1,027,939.3019... -> 1,027,939.30 (down to the fen; the order's
        # total is the same 1,027,939.30); principal 1,027,939.30 x 0.80 = 822,351.44
        # (not 1,027,972.75 x 0.80 = 822,378.20); the fee, 0.5 % of the eligible face
        # 1,027,939.30 = 5,139.6965 -> 5,139.70, is deducted: 817,211.74 paid.
        request_id = await submit_with_delivery(stack, case)
        paid = await stack.request_in(request_id, "DISBURSED", "REJECTED", "MATCH_REVIEW")
        ledger = await stack.bank_ledger()

    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
    assert Decimal(paid["disbursement"]["principal"]) == Decimal("822351.44")
    assert Decimal(paid["disbursement"]["fee"]) == Decimal("5139.70")
    assert Decimal(paid["disbursement"]["amount"]) == Decimal("817211.74")
    (entry,) = ledger
    assert Decimal(entry["amount"]) == Decimal("817211.74")
    assert entry["end_to_end_id"] == paid["disbursement"]["instruction_id"]
    matched = next(h for h in paid["history"] if h["state"] == "MATCHED")
    assert matched["note"].startswith(
        "delivered only: eligible face 1027939.30 of invoice total 1027972.75"
    )
