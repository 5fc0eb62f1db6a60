"""External documents accepted through the ingest endpoint, stored as canonical JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.persistence.sql import insert_ignoring_duplicates
from hub.persistence.tables import DocumentRow, table_of

__all__ = ["SqlDocumentRepository", "StoredDocument"]

_documents = table_of(DocumentRow)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: str
    tenant: str
    format: str
    family: str
    source_document_id: str
    fingerprint: str
    document: str
    """The canonical JSON, exactly as stored."""
    received_at: datetime


class SqlDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, document: StoredDocument) -> bool:
        """Store the document; False if one with its id is already stored (nothing changes)."""
        statement = insert_ignoring_duplicates(self._session, _documents)
        result = await self._session.execute(
            statement,
            {
                "id": document.id,
                "tenant": document.tenant,
                "format": document.format,
                "family": document.family,
                "source_document_id": document.source_document_id,
                "fingerprint": document.fingerprint,
                "document": document.document,
                "received_at": document.received_at,
            },
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, document_id: str) -> StoredDocument | None:
        row = (
            await self._session.execute(select(_documents).where(_documents.c.id == document_id))
        ).one_or_none()
        if row is None:
            return None
        return StoredDocument(
            id=row.id,
            tenant=row.tenant,
            format=row.format,
            family=row.family,
            source_document_id=row.source_document_id,
            fingerprint=row.fingerprint,
            document=row.document,
            received_at=row.received_at,
        )
