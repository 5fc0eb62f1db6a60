"""A document arriving through `/v1/ingest`: indexed by its keys, and the applications waiting
for it handed back to matching, in the transaction that stores it (`routes.awaiting`)."""

from __future__ import annotations

from canonical import Envelope, FinancingSubmitted
from hub.persistence.requests import Cause
from hub.persistence.uow import SqlUnitOfWork
from routes.awaiting import document_keys, documents_arrived

__all__ = ["index_and_hand_back"]


async def index_and_hand_back(
    uow: SqlUnitOfWork, document_id: str, tenant: str, document: object, *, source: str
) -> list[str]:
    """Index a newly stored document; the ids of the applications it completes, each sent to
    matching again (a fresh `FinancingSubmitted` in the outbox) when `uow` commits."""
    keys = document_keys(document)
    if not keys:
        return []
    await uow.document_index.index(document_id, tenant, keys)
    uow.requests.cause = Cause(message_type=f"ingest {source}")
    handed = await documents_arrived(tenant, keys, uow)
    await uow.outbox.add_many([(m.topic, _envelope(m, tenant)) for m in handed])
    return [m.request_id for m in handed]


def _envelope(message: FinancingSubmitted, tenant: str) -> Envelope:
    return Envelope(
        correlation_id=message.request_id,
        tenant=tenant,
        source_system="factorhub",
        type=type(message).__name__,
        key=message.request.seller.uscc,
        body=message.model_dump(mode="json"),
    ).carrying(message)
