"""Canonical objects for tests, built by hand (no mapper involved)."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from decimal import Decimal

from canonical import (
    BankAccount,
    DisbursementInstruction,
    DocumentLine,
    Envelope,
    FinancingRequest,
    FinancingSubmitted,
    Invoice,
    InvoiceKind,
    Money,
    Party,
    PartyRole,
    Provenance,
    PurchaseOrder,
    Receivable,
)
from hub.persistence.facilities import FacilityTerms
from routes.policy import DEFAULT_FACTOR, DEFAULT_FACTOR_ACCOUNT

SELLER = Party(name="苏州华盛精密机械有限公司", uscc="9132050571358240X0", role=PartyRole.SELLER)
BUYER = Party(name="上海申联汽车零部件有限公司", uscc="913101156607431925", role=PartyRole.BUYER)
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def line(qty: str, price: str, item: str = "M0001") -> DocumentLine:
    amount = Decimal(qty) * Decimal(price)
    return DocumentLine(
        line_no=1,
        item_code=item,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        tax_rate=Decimal("0.13"),
        amount=amount,
        tax=(amount * Decimal("0.13")).quantize(Decimal("0.01")),
    )


def invoice_number_for(request_id: str) -> str:
    """A 20-digit 数电 number of the request's own."""
    return "2632" + f"{zlib.crc32(request_id.encode()):016d}"


def financing_request(
    request_id: str = "FR0001",
    *,
    total: str = "113000.00",
    order_total: str | None = None,
    invoice_qty: str = "100",
    order_qty: str = "100",
    with_order: bool = True,
    invoice_number: str | None = None,
) -> FinancingRequest:
    """A request whose invoice number is its own (derived from the id) unless one is given:
    two requests with one invoice are double financing."""
    gross = Decimal(total)
    net = (gross / Decimal("1.13")).quantize(Decimal("0.01"))
    provenance = Provenance(source_system="test", source_document_id=f"DOC-{request_id}")
    invoice = Invoice(
        number=invoice_number or invoice_number_for(request_id),
        kind=InvoiceKind.SPECIAL,
        issue_date=date(2026, 11, 20),
        due_date=date(2027, 2, 18),
        seller=SELLER,
        buyer=BUYER,
        amount=Money.of(net),
        tax=Money.of(gross - net),
        total=Money.of(gross),
        lines=(line(invoice_qty, "1000.00"),),
        order_numbers=("XSDD2611000001",),
        provenance=provenance,
    )
    orders = (
        (
            PurchaseOrder(
                number="XSDD2611000001",
                order_date=date(2026, 11, 1),
                total=Money.of(order_total or total),
                lines=(line(order_qty, "1000.00"),),
                provenance=provenance,
            ),
        )
        if with_order
        else ()
    )
    return FinancingRequest(
        id=request_id,
        tenant="t1",
        seller=SELLER,
        buyer=BUYER,
        invoice=invoice,
        orders=orders,
        receivable=Receivable(
            id=request_id,
            seller=SELLER,
            buyer=BUYER,
            face=invoice.total,
            issue_date=invoice.issue_date,
            due_date=date(2027, 2, 18),
            invoice_keys=(invoice.key,),
        ),
        submitted_at=NOW,
    )


def facility(limit: str = "1000000.00", party: Party = SELLER) -> FacilityTerms:
    return FacilityTerms(
        seller=party,
        limit=Money.of(limit),
        account=BankAccount(
            number="6222020200112233445",
            name=party.name,
            bank_name="中国工商银行苏州分行",
            cnaps_code="102305000011",
        ),
    )


SELLER_ACCOUNT = BankAccount(
    number="1102020309000123456",
    name="苏州华盛精密机械有限公司",
    bank_name="中国工商银行苏州分行",
    cnaps_code="102305002018",
)


def instruction(number: int, amount: str = "1000.00", **changes: object) -> DisbursementInstruction:
    """A disbursement from the default factor to SELLER, ids derived from `number`."""
    fields: dict[str, object] = {
        "id": f"D{number:08d}",
        "request_id": f"FR{number:08d}",
        "message_id": f"M{number:08d}",
        "amount": Money.of(amount),
        "debtor": DEFAULT_FACTOR,
        "debtor_account": DEFAULT_FACTOR_ACCOUNT,
        "creditor": SELLER,
        "creditor_account": SELLER_ACCOUNT,
        "execution_date": NOW.date(),
        "remittance": f"保理融资 FR{number:08d}",
        "created_at": NOW,
    }
    fields.update(changes)
    return DisbursementInstruction.model_validate(fields)


def submitted_envelope(request_id: str, *, invoice_number: str | None = None) -> Envelope:
    """The FinancingSubmitted envelope the intake would write for `financing_request(id)`."""
    request = financing_request(request_id, invoice_number=invoice_number)
    message = FinancingSubmitted(request_id=request_id, request=request)
    return Envelope(
        correlation_id=request_id,
        tenant="t1",
        source_system="test",
        type="FinancingSubmitted",
        key=request.seller.uscc,
        body=message.model_dump(mode="json"),
    )
