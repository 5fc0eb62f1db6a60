"""Accepting an ERP push: map it, store the request and its first message in ONE transaction.

The request id is derived from (tenant, source system, source document id), so the same
document pushed twice gets the same id and creates nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from canonical import Envelope, FinancingRequest, FinancingSubmitted, Receivable
from hub.persistence.uow import UnitOfWorkFactory
from mappings.erp import InvoicePush
from mappings.kingdee import kingdee_invoice_to_canonical
from mappings.yonyou import yonyou_invoice_to_canonical

__all__ = ["ERP_MAPPERS", "Accepted", "accept_invoice_push", "request_id_for"]

ErpMapper = Callable[..., InvoicePush]

ERP_MAPPERS: dict[str, ErpMapper] = {
    "kingdee": kingdee_invoice_to_canonical,
    "yonyou": yonyou_invoice_to_canonical,
}
"""Source system -> mapper of its invoice push."""

DEFAULT_TERMS = timedelta(days=90)
"""Due date assumed when the ERP sends none (a receivable always has one)."""


@dataclass(frozen=True, slots=True)
class Accepted:
    request_id: str
    created: bool


def request_id_for(tenant: str, source_system: str, document_id: str) -> str:
    digest = hashlib.new("sm3", f"{tenant}\x1f{source_system}\x1f{document_id}".encode())
    return "FR" + digest.hexdigest()[:30].upper()


def build_request(
    push: InvoicePush, *, tenant: str, source: str, now: datetime
) -> FinancingRequest:
    invoice = push.invoice
    request_id = request_id_for(tenant, source, invoice.provenance.source_document_id)
    due: date = invoice.due_date or invoice.issue_date + DEFAULT_TERMS
    return FinancingRequest(
        id=request_id,
        tenant=tenant,
        seller=invoice.seller,
        buyer=invoice.buyer,
        invoice=invoice,
        orders=push.orders,
        receivable=Receivable(
            id=request_id,
            seller=invoice.seller,
            buyer=invoice.buyer,
            face=invoice.total,
            issue_date=invoice.issue_date,
            due_date=due,
            invoice_keys=(invoice.key,),
        ),
        submitted_at=now,
    )


async def accept_invoice_push(
    units: UnitOfWorkFactory, *, source: str, raw: bytes, tenant: str, now: datetime
) -> Accepted:
    """Map (raising MappingError on bad input: nothing is stored), then store durably."""
    push = ERP_MAPPERS[source](raw, received_at=now)
    request = build_request(push, tenant=tenant, source=source, now=now)
    message = FinancingSubmitted(request_id=request.id, request=request)
    envelope = Envelope(
        correlation_id=request.id,
        tenant=tenant,
        source_system=source,
        type=type(message).__name__,
        key=request.seller.uscc,
        body=message.model_dump(mode="json"),
    )
    try:
        async with units() as uow:
            created = await uow.requests.add(request, source_system=source)
            if created:
                await uow.outbox.add(message.topic, envelope)
                await uow.commit()
    except IntegrityError:  # the same document raced in concurrently: it is stored once
        created = False
    return Accepted(request.id, created)
