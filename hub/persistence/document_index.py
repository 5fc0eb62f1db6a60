"""Trade documents by their keys, and the orders applications wait for (routes.awaiting).

A document ingested through `/v1/ingest` is indexed by what matching looks it up by (an
order's number, the order a delivery note ships against, a declaration's contract), so the
orders an invoice names and their delivery notes are one indexed query away, whatever else
is stored; an export invoice's declarations come in the same query when matching asks for them
(`routes.customs_match`). An application waiting for orders has one `awaited_documents` row per
order (and one per contract when it waits for a declaration), found by (tenant, number) when a
document arrives.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from canonical import CustomsDeclaration, DeliveryNote, FinancingRequest, PurchaseOrder
from hub.persistence.sql import insert_ignoring_duplicates
from hub.persistence.tables import (
    AwaitedDocumentRow,
    DocumentKeyRow,
    DocumentRow,
    RequestRow,
    table_of,
)
from routes.ports import DocumentKey, DocumentWait, TradeDocuments

__all__ = ["SqlDocumentIndex"]

_keys = table_of(DocumentKeyRow)
_documents = table_of(DocumentRow)
_awaited = table_of(AwaitedDocumentRow)
_requests = table_of(RequestRow)


def _find(*kinds: str) -> Select[str, str]:
    return (
        select(_keys.c.kind, _documents.c.document)
        .join(_documents, _documents.c.id == _keys.c.document_id)
        .where(
            _keys.c.tenant == bindparam("b_tenant"),
            _keys.c.number.in_(bindparam("b_numbers", expanding=True)),
            _keys.c.kind.in_(kinds),
        )
        .order_by(_documents.c.received_at.desc(), _documents.c.id)
    )


_FIND = _find("order", "delivery")
_FIND_WITH_CUSTOMS = _find("order", "delivery", "customs")
_WAITING = (
    select(_awaited)
    .where(
        _awaited.c.request_id.in_(
            select(_awaited.c.request_id).where(
                _awaited.c.tenant == bindparam("b_tenant"),
                _awaited.c.number.in_(bindparam("b_numbers", expanding=True)),
            )
        )
    )
    .order_by(_awaited.c.request_id, _awaited.c.number)
)
_INSERT_WAIT = insert(_awaited)
_STOP = delete(_awaited).where(_awaited.c.request_id == bindparam("b_id"))
_AMEND = (
    update(_requests)
    .where(_requests.c.id == bindparam("b_id"))
    .values(document=bindparam("document"))
)


class SqlDocumentIndex:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def index(self, document_id: str, tenant: str, keys: Sequence[DocumentKey]) -> None:
        """Index a stored document by its keys (indexing it again changes nothing)."""
        if not keys:
            return
        await self._session.execute(
            insert_ignoring_duplicates(self._session, _keys),
            [
                {
                    "document_id": document_id,
                    "kind": key.kind,
                    "number": key.number,
                    "tenant": tenant,
                    "party_uscc": key.party_uscc,
                }
                for key in keys
            ],
        )

    async def find(
        self, tenant: str, order_numbers: Collection[str], *, customs: bool = False
    ) -> TradeDocuments:
        numbers = sorted(set(order_numbers))
        if not numbers:
            return TradeDocuments()
        orders: list[PurchaseOrder] = []
        deliveries: list[DeliveryNote] = []
        declarations: list[CustomsDeclaration] = []
        statement = _FIND_WITH_CUSTOMS if customs else _FIND
        rows = await self._session.execute(statement, {"b_tenant": tenant, "b_numbers": numbers})
        for kind, document in rows:
            if kind == "order":
                orders.append(PurchaseOrder.model_validate_json(document))
            elif kind == "delivery":
                deliveries.append(DeliveryNote.model_validate_json(document))
            else:
                declarations.append(CustomsDeclaration.model_validate_json(document))
        return TradeDocuments(
            orders=tuple(orders), deliveries=tuple(deliveries), declarations=tuple(declarations)
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
        await self.stop_waiting(request_id)
        awaited = [("order", n) for n in dict.fromkeys(numbers)]
        awaited += [("customs", n) for n in dict.fromkeys(customs)]
        if not awaited:
            return
        await self._session.execute(
            _INSERT_WAIT,
            [
                {
                    "request_id": request_id,
                    "kind": kind,
                    "number": number,
                    "tenant": tenant,
                    "since": since,
                    "due_at": due_at,
                }
                for kind, number in awaited
            ],
        )

    async def waiting_for(self, tenant: str, numbers: Collection[str]) -> list[DocumentWait]:
        if not numbers:
            return []
        rows = await self._session.execute(
            _WAITING, {"b_tenant": tenant, "b_numbers": sorted(set(numbers))}
        )
        waits: dict[str, DocumentWait] = {}
        for row in rows:
            known = waits.get(row.request_id)
            orders = known.numbers if known else ()
            contracts = known.customs if known else ()
            if row.kind == "customs":
                contracts = (*contracts, row.number)
            else:
                orders = (*orders, row.number)
            waits[row.request_id] = DocumentWait(
                request_id=row.request_id,
                numbers=orders,
                since=row.since,
                due_at=row.due_at,
                customs=contracts,
            )
        return list(waits.values())

    async def stop_waiting(self, request_id: str) -> None:
        await self._session.execute(_STOP, {"b_id": request_id})

    async def amend(self, request: FinancingRequest) -> None:
        await self._session.execute(
            _AMEND, {"b_id": request.id, "document": request.model_dump_json()}
        )
