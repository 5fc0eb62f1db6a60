"""The HTTP ingress: ERP pushes in, request status out (FastAPI on uvicorn).

A push is answered 202 only after the request and its first message are durably committed.
Bad input gets 422 listing every problem (JSON path, value, reason) and stores nothing. Hostile
bodies are refused before anything is stored, and mostly before they are read: an oversized body
gets 413 as soon as its Content-Length (or, chunked, its running size) passes the limit, with
the connection closed; a body declared as something the endpoint does not read (a form, HTML,
XML to a JSON endpoint) or compressed (a zip bomb is never inflated) gets 415; JSON declared
`charset=utf-8` that is not UTF-8 gets 422. Deep nesting, entity bombs and hidden characters in
identifiers are the mappers' and the canonical model's to refuse (`mappings._json`,
`mappings._xml`, `canonical.text`). `GET /metrics` is the hub's metrics in the Prometheus text
format (`observability.metrics`).

With FACTORHUB_INGRESS_AUTH=on the ERP push and ingest endpoints take only pushes signed by a
known tenant (headers and string to sign: `hub.security.ingress_auth`): 401 naming the header
when the signer is not proven, the timestamp is stale or the nonce reused, 403 naming the field
when the document's seller is not the tenant's. The signature is checked before the body is
mapped; the nonce is claimed last, just before storing. Each refusal stores nothing but an
`ingress.refused` entry in the audit trail, and a stored push belongs to the signing tenant.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from canonical import FinancingState, MappingError
from canonical.text import hidden_characters
from hub.app import Hub, utc_now
from hub.asyncapi import asyncapi_document
from hub.bank_reports import accept_status_report
from hub.ecny_notices import NoticeRefused, received_path
from hub.ingest import ingest
from hub.mapping_pool import map_push
from hub.persistence.lifecycles import Entity, Lifecycle, lifecycles_of
from hub.persistence.requests import HistoryEntry
from hub.persistence.tables import DisbursementRow, RequestRow
from hub.persistence.tenants import Tenant, claim_nonce, get_tenant
from hub.repayments import RepaymentRefused, accept_camt054, accept_repayment, parse_repayment
from hub.security.audit import record_action
from hub.security.ingress_auth import (
    NONCE,
    TENANT,
    Claim,
    IngressRefused,
    authenticate,
    claim_of,
    require_seller,
)
from mappings.catalogue import InboundFormat
from mappings.erp import InvoicePush
from mappings.formats import INBOUND_FORMATS, UnknownFormat, recognise
from observability.http import TracingMiddleware
from observability.metrics import CONTENT_TYPE
from routes.flow import ROUTES
from routes.policy import problems_of
from routes.ports import LoanRecord
from routes.quote import QuoteRequest, quote
from routes.repayment import standing

__all__ = ["create_app"]

Vendor = Literal["kingdee", "yonyou"]


class AcceptedBody(BaseModel):
    request_id: str
    status: Literal["accepted", "duplicate"]
    links: dict[str, str]


class IngestedBody(BaseModel):
    id: str
    kind: Literal["request", "document"]
    format: str
    status: Literal["accepted", "duplicate"]
    links: dict[str, str]


class DocumentBody(BaseModel):
    document_id: str
    tenant: str
    format: str
    family: str
    source_document_id: str
    fingerprint: str
    received_at: str
    canonical: Any


class HistoryItem(BaseModel):
    state: str
    reason: str | None
    note: str | None
    message_type: str | None
    message_id: str | None
    at: str


class LifecycleItem(BaseModel):
    """One move of the receivable, the limit reservation or the registration."""

    from_state: str | None
    """None: it came into being with this move (a reservation held)."""
    to_state: str
    event: str
    """The §4 machine's events, comma-separated."""
    note: str | None
    message_type: str | None
    message_id: str | None
    at: str


class LifecycleBody(BaseModel):
    """Where one of the application's lifecycles (§4.2-4.4) stands, and its moves."""

    state: str | None
    """None: it does not exist (no reservation held, nothing registered)."""
    history: list[LifecycleItem]


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
    awaiting_operator: bool = False
    """Waits in a review queue with its reason (`factorhub review list`)."""
    reason: str | None
    detail: str | None
    disbursement: dict[str, Any] | None
    loan: dict[str, Any] | None = None
    """After the money went out: principal, outstanding, maturity, days past due, repayments."""
    history: list[HistoryItem]
    receivable: LifecycleBody | None = None
    """§4.2, moved with the application."""
    reservation: LifecycleBody | None = None
    """§4.3, the hold on the limits."""
    registration: LifecycleBody | None = None
    """§4.4, our 中登网 registration."""


_JSON: tuple[str, ...] = ("application/json", "text/json", "+json")
_XML: tuple[str, ...] = ("application/xml", "text/xml", "+xml")
"""Media types an endpoint reads (a `+suffix` matches any structured-syntax type); a body sent
without a Content-Type is read too, and its content decides."""


class _Refused(Exception):
    """A body refused as it arrives, before any mapping: the status and the JSON answer."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = body


async def _read_body(request: Request, limit: int, accepted: tuple[str, ...]) -> bytes:
    """The body, refused 415 / 413 / 422 (`_Refused`) as early as the headers allow."""
    media, charset = _media_type(request.headers.get("content-type", ""))
    if media and not any(media == a or (a[0] == "+" and media.endswith(a)) for a in accepted):
        raise _Refused(415, {
            "error": "unsupported media type",
            "content_type": media,
            "accepted": [a if a[0] != "+" else f"*/*{a}" for a in accepted],
        })
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise _Refused(415, {
            "error": f"unsupported content encoding {encoding!r}: send the body uncompressed",
        })
    raw = await _read_limited(request, limit)
    if charset in ("utf-8", "utf8") and "json" in media:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            reason = f"declared charset={charset}, but the body is not UTF-8 (bad byte at "
            problem = {"path": "", "value": None, "reason": f"{reason}{exc.start})"}
            raise _Refused(422, {"error": "invalid document", "problems": [problem]}) from None
    return raw


async def _read_limited(request: Request, limit: int) -> bytes:
    """At most `limit` bytes, refused on the declared length or, chunked, at the first chunk
    past it: a large body is never held whole."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, {"error": "body too large", "limit_bytes": limit})
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, {"error": "body too large", "limit_bytes": limit})
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(header: str) -> tuple[str, str]:
    """(media type, charset), lower case; ("", "") without a Content-Type."""
    media, _, parameters = header.partition(";")
    found = re.search(r"charset\s*=\s*\"?([^\";\s]+)", parameters, re.IGNORECASE)
    return media.strip().lower(), found.group(1).lower() if found else ""


def create_app(hub: Hub) -> FastAPI:
    """The ingress application over a started hub."""
    app = FastAPI(
        title="FactorHub ingress",
        version="0.1.0",
        description="ERP invoice pushes in; financing request status out.",
    )
    app.add_middleware(TracingMiddleware)  # the SERVER span of each request (tracing on)
    settings = hub.settings

    @app.exception_handler(_Refused)
    async def refused(_: Request, error: _Refused) -> JSONResponse:
        """Every endpoint that takes a body refuses a hostile one the same way; the connection
        is closed, so a client still sending a huge body stops at once."""
        return JSONResponse(error.body, error.status, headers={"connection": "close"})

    @app.post(
        "/v1/erp/{vendor}/invoices",
        status_code=202,
        response_model=AcceptedBody,
        responses={
            413: {"description": "body too large"},
            415: {"description": "not JSON, or compressed"},
            422: {"description": "invalid"},
        },
        summary="Push an invoice in the ERP's native JSON (Kingdee Save request, YonBIP save)",
    )
    async def push_invoice(
        vendor: Vendor,
        request: Request,
        requested_amount: Annotated[
            str | None,
            Query(
                description="The most the seller asks to have financed, a decimal string in "
                "the invoice's currency (the principal never exceeds it)",
                max_length=32,
            ),
        ] = None,
    ) -> Any:
        raw = await _read_body(request, settings.max_body_bytes, _JSON)
        tenant = request.headers.get("x-factorhub-tenant") or settings.tenant
        signer: tuple[Tenant, Claim] | None = None
        if settings.ingress_auth == "on":
            try:
                signer = await _signer(hub, request, raw)
            except IngressRefused as refused:
                return await _refuse(hub, request, refused)
            tenant = signer[0].id
        requested = None
        if requested_amount is not None:
            requested = _requested(requested_amount)
            if requested is None:
                reason = "must be a decimal string (ASCII digits) above 0 and below 10^15, with "
                reason += "at most 2 decimals"
                problem: dict[str, object] = {
                    "path": "?requested_amount",
                    "value": requested_amount,
                    "reason": reason,
                }
                return _invalid(vendor, [problem])
        try:
            if signer is None:
                accepted = await hub.intake.accept(
                    source=vendor, raw=raw, tenant=tenant, now=hub.clock(), requested=requested
                )
            else:  # mapped here, as its seller decides whether it may be stored at all
                push = map_push(vendor, raw, hub.clock())
                seller = push.invoice.seller.uscc
                await _admit(hub, signer, seller, "invoice.seller.uscc")
                accepted = await hub.intake.accept_push(
                    push, source=vendor, tenant=tenant, now=hub.clock(), requested=requested
                )
        except MappingError as error:
            return _invalid(vendor, [p.as_dict() for p in error.problems])
        except IngressRefused as refused:
            return await _refuse(hub, request, refused)
        return AcceptedBody(
            request_id=accepted.request_id,
            status="accepted" if accepted.created else "duplicate",
            links={"self": f"/v1/requests/{accepted.request_id}"},
        )

    families = sorted({f.family for f in INBOUND_FORMATS.values()})

    @app.post(
        "/v1/ingest/{name}",
        status_code=202,
        response_model=IngestedBody,
        responses={
            404: {"description": "no such format or family"},
            413: {"description": "body too large"},
            415: {"description": "neither JSON nor XML, or compressed"},
            422: {"description": "invalid, or not recognised within the family"},
        },
        summary="Ingest any inbound format by name (see `factorhub map --list`), or by family "
        f"({', '.join(families)}) to have the format recognised from the content",
    )
    async def ingest_document(name: Annotated[str, Path(max_length=64)], request: Request) -> Any:
        raw = await _read_body(request, settings.max_body_bytes, _JSON + _XML)
        tenant = request.headers.get("x-factorhub-tenant") or settings.tenant
        signer: tuple[Tenant, Claim] | None = None
        if settings.ingress_auth == "on":
            try:
                signer = await _signer(hub, request, raw)
            except IngressRefused as refused:
                return await _refuse(hub, request, refused)
            tenant = signer[0].id
        fmt: InboundFormat | None = INBOUND_FORMATS.get(name)
        if fmt is None:
            if name not in families:
                return JSONResponse(
                    {
                        "error": f"no format or family {name!r}",
                        "formats": list(INBOUND_FORMATS),
                        "families": families,
                    },
                    404,
                )
            try:
                fmt = recognise(raw, family=name)
            except UnknownFormat as error:
                return _invalid(name, [{"path": "", "value": None, "reason": str(error)}])
        try:
            if signer is not None:  # read twice (here and in ingest): the seller decides first
                seller, field = _seller_of(fmt.read(raw, hub.clock()))
                await _admit(hub, signer, seller, field)
            done = await ingest(hub.intake, hub.units, fmt, raw, tenant=tenant, now=hub.clock())
        except MappingError as error:
            return _invalid(fmt.name, [p.as_dict() for p in error.problems])
        except IngressRefused as refused:
            return await _refuse(hub, request, refused)
        where = "requests" if done.kind == "request" else "documents"
        return IngestedBody(
            id=done.id,
            kind=done.kind,
            format=fmt.name,
            status="accepted" if done.created else "duplicate",
            links={"self": f"/v1/{where}/{done.id}"},
        )

    @app.post(
        "/v1/calc",
        responses={
            200: {"description": "the quote (QuoteResult)"},
            422: {"description": "invalid"},
        },
        summary="Quote a financing (融资额度测算) before applying: the `factorhub calc` contract",
    )
    async def calc(request: Request) -> Response:
        raw = await _read_body(request, settings.max_body_bytes, _JSON)
        try:
            quote_request = QuoteRequest.model_validate_json(raw)
        except ValidationError as error:
            return _invalid("calc", [p.as_dict() for p in problems_of(error)])
        return Response(quote(quote_request).model_dump_json(), media_type="application/json")

    @app.post(
        "/v1/bank/pain002",
        responses={422: {"description": "not a readable pain.002"}},
        summary="The bank's asynchronous payment status report (pain.002 callback)",
    )
    async def bank_status_report(request: Request) -> JSONResponse:
        raw = await _read_body(request, settings.max_body_bytes, _XML)
        try:
            outcome = await accept_status_report(hub.units, raw, now=hub.clock())
        except MappingError as error:
            return _invalid("pain002", [p.as_dict() for p in error.problems])
        return JSONResponse({"reported": outcome.reported, "unknown": list(outcome.unknown)})

    @app.post(
        "/v1/ecny/notify",
        responses={
            401: {"description": "not signed by the e-CNY operator"},
            404: {"description": "this hub has no e-CNY channel configured"},
            422: {"description": "not a readable e-CNY notify"},
        },
        summary="The e-CNY operator's final-state notify (dcep.909): signed, applied once; "
        'answered {"code": "SUCCESS"} once queued',
    )
    async def ecny_notify(request: Request) -> JSONResponse:
        raw = await _read_body(request, settings.max_body_bytes, _JSON)
        notices = hub.ecny_notices
        if notices is None:
            return JSONResponse({"code": "FAIL", "msg": "no e-CNY channel configured"}, 404)
        try:
            outcome = await notices.accept(
                raw, path=received_path(request.scope), headers=request.headers, now=hub.clock()
            )
        except NoticeRefused as refused:
            return JSONResponse({"code": "FAIL", "msg": f"refused: {refused}"}, 401)
        except MappingError as error:
            return _invalid("ecny-payment-notify", [p.as_dict() for p in error.problems])
        return JSONResponse(
            {
                "code": "SUCCESS",
                "msg": "OK",
                "reported": outcome.reported,
                "unknown": list(outcome.unknown),
                "mismatched": list(outcome.mismatched),
            }
        )

    @app.post(
        "/v1/repayments",
        status_code=202,
        responses={
            404: {"description": "no such financing request"},
            409: {"description": "the financing was not paid out"},
            422: {"description": "invalid"},
        },
        summary="Money received against a paid-out financing (applied through the waterfall)",
    )
    async def repayment(request: Request) -> JSONResponse:
        raw = await _read_body(request, settings.max_body_bytes, _JSON)
        try:
            body = parse_repayment(raw)
            await accept_repayment(hub.units, body)
        except MappingError as error:
            return _invalid("repayment", [p.as_dict() for p in error.problems])
        except RepaymentRefused as error:
            return JSONResponse(
                {"error": str(error), "problems": [error.problem.as_dict()]}, error.status
            )
        return JSONResponse(
            {"status": "accepted", "links": {"request": f"/v1/requests/{body.request_id}"}}, 202
        )

    @app.post(
        "/v1/bank/camt054",
        responses={422: {"description": "not a readable camt.054"}},
        summary="The bank's booking notice (camt.054): debits confirm disbursements, "
        "credits on the collection account are repayments",
    )
    async def bank_booking_notice(request: Request) -> JSONResponse:
        raw = await _read_body(request, settings.max_body_bytes, _XML)
        try:
            outcome = await accept_camt054(hub.units, raw, now=hub.clock())
        except MappingError as error:
            return _invalid("camt054", [p.as_dict() for p in error.problems])
        return JSONResponse(
            {
                "settled": outcome.settled,
                "repayments": outcome.repayments,
                "unmatched": list(outcome.unmatched),
            }
        )

    @app.get("/v1/documents/{document_id}", response_model=DocumentBody)
    async def get_document(document_id: Annotated[str, Path(max_length=64)]) -> DocumentBody:
        async with hub.units() as uow:
            stored = await uow.documents.get(document_id)
        if stored is None:
            raise HTTPException(404, f"no document {document_id}")
        return DocumentBody(
            document_id=stored.id,
            tenant=stored.tenant,
            format=stored.format,
            family=stored.family,
            source_document_id=stored.source_document_id,
            fingerprint=stored.fingerprint,
            received_at=stored.received_at.isoformat(),
            canonical=json.loads(stored.document),
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
            loan = await uow.loans.get(request_id)
            lifecycles = await lifecycles_of(uow.session, request_id)
            body = _request_body(row, history, payment, lifecycles)
            return body if loan is None else body.model_copy(update={"loan": _loan_body(loan)})

    @app.get("/asyncapi.json", summary="AsyncAPI 3.0 description of the message bus")
    async def asyncapi() -> dict[str, Any]:
        return asyncapi_document([c.route for c in hub.consumers] or ROUTES)

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}}},
        summary="The hub's metrics (OpenTelemetry), in the Prometheus text format",
    )
    async def metrics() -> Response:
        return Response(await hub.metrics.render(), media_type=CONTENT_TYPE)

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


async def _signer(hub: Hub, request: Request, raw: bytes) -> tuple[Tenant, Claim]:
    """The tenant that signed this request, and what its headers claim (IngressRefused 401)."""
    claim = claim_of(request.headers)
    now = hub.clock()
    async with hub.units() as uow:
        tenant = await get_tenant(uow.session, claim.tenant)
    authenticate(
        claim,
        scheme=None if tenant is None else tenant.scheme,
        keys=() if tenant is None else tenant.keys(now),
        method=request.method,
        target=received_path(request.scope),
        body=raw,
        now=now,
    )
    assert tenant is not None  # authenticate refuses an unknown tenant
    return tenant, claim


async def _admit(hub: Hub, signer: tuple[Tenant, Claim], seller: str | None, field: str) -> None:
    """Refuse (403) another tenant's seller, then claim the nonce (401 on a replay): the last
    check before storing, so that a refused push leaves its nonce unused."""
    tenant, claim = signer
    require_seller(tenant.sellers, seller, field)
    async with hub.units() as uow:
        fresh = await claim_nonce(uow.session, tenant.id, claim.nonce, hub.clock())
        if fresh:
            await uow.commit()
    if not fresh:
        raise IngressRefused(401, NONCE, "already used")


async def _refuse(hub: Hub, request: Request, refused: IngressRefused) -> JSONResponse:
    """The 401/403 answer, recorded in the audit trail first: actor the tenant claimed (not
    proven, hence never trusted for anything but this record), or `anonymous`."""
    actor = request.headers.get(TENANT.lower(), "").strip()[:64] or "anonymous"
    path = received_path(request.scope)
    async with hub.units() as uow:
        await record_action(
            uow.session,
            at=hub.clock(),
            actor=actor,
            action="ingress.refused",
            to_state=str(refused.status),
            details=f"{refused.field}: {refused.reason} ({request.method} {path[:200]})",
        )
        await uow.commit()
    return JSONResponse(refused.body(), refused.status)


def _seller_of(document: object) -> tuple[str | None, str]:
    """The USCC (customs: the company code) of a document's seller, and the field naming it."""
    if isinstance(document, InvoicePush):
        return document.invoice.seller.uscc, "invoice.seller.uscc"
    seller = getattr(document, "seller", None)
    for attribute in ("uscc", "code"):
        value = getattr(seller, attribute, None)
        if isinstance(value, str) and value:
            return value, f"seller.{attribute}"
    return None, "seller"


_ECHOED = 200
"""Characters of an offending value shown back (a 1 MB string is not echoed whole)."""
_REQUESTED = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")
"""ASCII digits only: `Decimal()` would also read `１２３` and `١٢٣`, and `1e999999`."""


def _requested(text: str) -> Decimal | None:
    """A requested amount: a plain decimal above 0 with at most two decimals, else None."""
    text = text.strip(" ")
    if not _REQUESTED.fullmatch(text):
        return None
    value = Decimal(text)
    if value <= 0:  # below 10^15 by its shape
        return None
    return value.quantize(Decimal("0.01"))


def _invalid(source: str, problems: list[dict[str, object]]) -> JSONResponse:
    """422 in the one error shape every ingress endpoint uses."""
    safe = [{**p, "value": _echoed(p.get("value"))} for p in problems]
    return JSONResponse({"error": "invalid document", "source": source, "problems": safe}, 422)


def _echoed(value: object) -> object:
    """An offending value as the answer may show it: short, JSON-safe, and with hidden
    characters (a bidi override, NUL) escaped so they are seen rather than acted on."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return "<object>"
    if isinstance(value, list | tuple):
        return "<array>"
    text = value if isinstance(value, str) else str(value)
    for char in hidden_characters(text):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text if len(text) <= _ECHOED else text[:_ECHOED] + "…"


def _disbursement_body(payment: DisbursementRow) -> dict[str, Any]:
    """What the bank was told to pay (`amount`), and how it splits: the principal financed,
    less the fee and the interest deducted up front."""
    principal = payment.principal_fen if payment.principal_fen is not None else payment.amount_fen
    upfront = payment.upfront_interest_fen or 0
    return {
        "instruction_id": payment.id,
        "message_id": payment.message_id,
        "amount": _fen(payment.amount_fen),
        "principal": _fen(principal),
        "fee": _fen(principal - payment.amount_fen - upfront),
        "upfront_interest": _fen(upfront),
        "currency": payment.currency,
        "status": payment.state,
        "bank_code": payment.bank_code,
        "bank_reference": payment.bank_reference,
    }


def _request_body(
    row: RequestRow,
    history: list[HistoryEntry],
    payment: DisbursementRow | None,
    lifecycles: dict[Entity, Lifecycle],
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
        awaiting_operator=FinancingState(row.state).awaiting_operator,
        reason=row.reason,
        detail=row.detail,
        disbursement=None if payment is None else _disbursement_body(payment),
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
        receivable=_lifecycle_body(lifecycles[Entity.RECEIVABLE]),
        reservation=_lifecycle_body(lifecycles[Entity.RESERVATION]),
        registration=_lifecycle_body(lifecycles[Entity.REGISTRATION]),
    )


def _lifecycle_body(lifecycle: Lifecycle) -> LifecycleBody:
    return LifecycleBody(
        state=lifecycle.state,
        history=[
            LifecycleItem(
                from_state=e.source,
                to_state=e.target,
                event=e.event,
                note=e.note,
                message_type=e.message_type,
                message_id=e.message_id,
                at=e.at.isoformat(),
            )
            for e in lifecycle.history
        ],
    )


def _loan_body(loan: LoanRecord) -> dict[str, Any]:
    today = max([utc_now().date(), *(r.value_date for r in loan.repayments)])
    now = standing(loan, today)
    return {
        "principal": f"{loan.principal.amount:f}",
        "currency": loan.principal.currency,
        "start": loan.start.isoformat(),
        "maturity": loan.maturity.isoformat(),
        "outstanding": f"{now.outstanding:f}",
        "fee_unpaid": f"{now.fee_unpaid:f}",
        "days_past_due": now.days_past_due,
        "early_warning": loan.warned,
        "repayments": [
            {
                "reference": r.reference,
                "value_date": r.value_date.isoformat(),
                "amount": f"{r.amount.amount:f}",
                "payer": r.payer,
            }
            for r in loan.repayments
        ],
    }


def _fen(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
