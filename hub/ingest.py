"""`POST /v1/ingest/{format}`: any inbound format, through the same mappers as the CLI.

An invoice push becomes a financing request exactly as on the ERP endpoints (same request id
for the same source document); every other document is stored as canonical JSON under an id
derived from (tenant, format, source document id), so ingesting it twice stores it once. An
order (or a delivery note) is indexed by its number, and the applications waiting for it
(AWAITING_DOCUMENTS) are handed back to matching in the same transaction (`routes.awaiting`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pydantic_core

from hub.intake import Intake
from hub.late_documents import index_and_hand_back
from hub.persistence.documents import StoredDocument
from hub.persistence.uow import UnitOfWorkFactory
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush

__all__ = ["Ingested", "document_id_for", "ingest"]


@dataclass(frozen=True, slots=True)
class Ingested:
    kind: Literal["request", "document"]
    id: str
    created: bool


def document_id_for(tenant: str, format_name: str, source_document_id: str) -> str:
    digest = hashlib.new("sm3", f"{tenant}\x1f{format_name}\x1f{source_document_id}".encode())
    return "DOC" + digest.hexdigest()[:30].upper()


async def ingest(
    intake: Intake,
    units: UnitOfWorkFactory,
    fmt: InboundFormat,
    raw: bytes,
    *,
    tenant: str,
    now: datetime,
) -> Ingested:
    """Map `raw` as `fmt` (MappingError: nothing stored), then store it durably."""
    result = fmt.read(raw, now)
    if isinstance(result, InvoicePush):
        accepted = await intake.accept_push(result, source=fmt.family, tenant=tenant, now=now)
        return Ingested("request", accepted.request_id, accepted.created)
    fingerprint = hashlib.new("sm3", raw).hexdigest()
    source_id = _source_document_id(result) or fingerprint
    document = StoredDocument(
        id=document_id_for(tenant, fmt.name, source_id),
        tenant=tenant,
        format=fmt.name,
        family=fmt.family,
        source_document_id=source_id[:128],
        fingerprint=fingerprint,
        document=pydantic_core.to_json(result).decode(),
        received_at=now,
    )
    async with units() as uow:
        created = await uow.documents.add(document)
        if created:  # indexed, and the applications waiting for it handed back, at once
            await index_and_hand_back(uow, document.id, tenant, result, source=fmt.name)
        await uow.commit()
    return Ingested("document", document.id, created)


def _source_document_id(result: object) -> str | None:
    """The source's own id of the document, when the canonical object carries provenance."""
    provenance = getattr(result, "provenance", None)
    identifier = getattr(provenance, "source_document_id", None)
    return identifier if isinstance(identifier, str) and identifier else None
