"""The HTTP ingress: ERP pushes in, request status out (FastAPI on uvicorn).

A push is answered 202 only after the request and its first message are durably committed.
Bad input gets 422 listing every problem (JSON path, value, reason) and stores nothing; an
oversized body gets 413 before it is read to the end.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from canonical import FinancingState, MappingError
from hub.app import Hub
from hub.asyncapi import asyncapi_document
from hub.persistence.requests import HistoryEntry
from hub.persistence.tables import DisbursementRow, RequestRow
from routes.flow import ROUTES

__all__ = ["create_app"]

Vendor = Literal["kingdee", "yonyou"]


class AcceptedBody(BaseModel):
    request_id: str
    status: Literal["accepted", "duplicate"]
    links: dict[str, str]


class HistoryItem(BaseModel):
    state: str
    reason: str | None
    note: str | None
    message_type: str | None
    message_id: str | None
    at: str


class RequestBody(BaseModel):
    request_id: str
    tenant: str
    source_system: str
    source_document_id: str
    seller_uscc: str
    invoice: str
    total: str
    currency: str
    state: str
    terminal: bool
    reason: str | None
    detail: str | None
    disbursement: dict[str, Any] | None
    history: list[HistoryItem]


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(hub: Hub) -> FastAPI:
    """The ingress application over a started hub."""
    app = FastAPI(
        title="FactorHub ingress",
        version="0.1.0",
        description="ERP invoice pushes in; financing request status out.",
    )
    settings = hub.settings

    @app.post(
        "/v1/erp/{vendor}/invoices",
        status_code=202,
        response_model=AcceptedBody,
        responses={413: {"description": "body too large"}, 422: {"description": "invalid"}},
        summary="Push an invoice in the ERP's native JSON (Kingdee Save request, YonBIP save)",
    )
    async def push_invoice(vendor: Vendor, request: Request) -> Any:
        try:
            raw = await _read_limited(request, settings.max_body_bytes)
        except _TooLarge:
            return JSONResponse(
                {"error": "body too large", "limit_bytes": settings.max_body_bytes}, 413
            )
        tenant = request.headers.get("x-factorhub-tenant") or settings.tenant
        try:
            accepted = await hub.intake.accept(
                source=vendor, raw=raw, tenant=tenant, now=hub.clock()
            )
        except MappingError as error:
            return JSONResponse(
                {
                    "error": "invalid document",
                    "source": vendor,
                    "problems": [p.as_dict() for p in error.problems],
                },
                422,
            )
        return AcceptedBody(
            request_id=accepted.request_id,
            status="accepted" if accepted.created else "duplicate",
            links={"self": f"/v1/requests/{accepted.request_id}"},
        )

    @app.get("/v1/requests/{request_id}", response_model=RequestBody)
    async def get_request(
        request_id: Annotated[str, Path(max_length=64)],
    ) -> RequestBody:
        async with hub.units() as uow:
            row = await uow.session.get(RequestRow, request_id)
            if row is None:
                raise HTTPException(404, f"no financing request {request_id}")
            history = await uow.requests.history(request_id)
            payment = (
                await uow.session.execute(
                    select(DisbursementRow).where(DisbursementRow.request_id == request_id)
                )
            ).scalar_one_or_none()
            return _request_body(row, history, payment)

    @app.get("/asyncapi.json", summary="AsyncAPI 3.0 description of the message bus")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document([c.route for c in hub.consumers] or ROUTES)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, probe in (("database", hub.database.ping), ("broker", hub.transport.ping)):
            try:
                await probe()
                checks[name] = "ok"
            except Exception as error:
                checks[name] = f"unavailable: {type(error).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, 200 if ready else 503)

    return app


def _request_body(
    row: RequestRow, history: list[HistoryEntry], payment: DisbursementRow | None
) -> RequestBody:
    return RequestBody(
        request_id=row.id,
        tenant=row.tenant,
        source_system=row.source_system,
        source_document_id=row.source_document_id,
        seller_uscc=row.seller_uscc,
        invoice=row.invoice_key,
        total=_fen(row.total_fen),
        currency=row.currency,
        state=row.state,
        terminal=FinancingState(row.state).terminal,
        reason=row.reason,
        detail=row.detail,
        disbursement=None
        if payment is None
        else {
            "instruction_id": payment.id,
            "message_id": payment.message_id,
            "amount": _fen(payment.amount_fen),
            "currency": payment.currency,
            "status": payment.state,
            "bank_code": payment.bank_code,
            "bank_reference": payment.bank_reference,
        },
        history=[
            HistoryItem(
                state=h.state,
                reason=h.reason,
                note=h.note,
                message_type=h.message_type,
                message_id=h.message_id,
                at=h.at.isoformat(),
            )
            for h in history
        ],
    )


def _fen(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
