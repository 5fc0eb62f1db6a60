"""HTTP face of the bank: ISO 20022 in (pain.001), pain.002 out, plus a status query and admin."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulators.bank.engine import Bank
from simulators.bank.faults import Decision, Faults, FaultSettings
from simulators.bank.pain001 import read_pain001
from simulators.bank.pain002 import render_pain002
from simulators.bank.xmlio import RejectedXml, parse_pain001
from simulators.common.clock import Clock, now_cst
from simulators.common.journal import JournalMiddleware, RequestJournal

XML = "application/xml"
_DECIMAL = re.compile(r"-?\d{1,18}(\.\d{1,5})?")


class BalanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    account: Annotated[str, Field(min_length=1, max_length=34)]
    balance: str | None  # decimal string; null = unlimited


def _format_error(message: str, status: int = 400, details: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"error": message, "reason": "FF01"}
    if details:
        body["details"] = details
    return JSONResponse(body, status)


async def _apply(decision: Decision, bank: Bank) -> Response | None:
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.error_status is None:
        return None
    bank.count("injected_errors")
    return JSONResponse({"error": "injected fault"}, decision.error_status)


def create_app(
    seed: int = 0, *, default_balance: Decimal | None = None, clock: Clock = now_cst
) -> FastAPI:
    """A fresh bank; `seed` drives the fault RNG, `default_balance` None means unlimited."""
    bank = Bank(default_balance=default_balance, clock=clock)
    faults = Faults(seed)
    journal = RequestJournal(clock=clock)
    app = FastAPI(title="bank ISO 20022 simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.bank, app.state.faults, app.state.journal = bank, faults, journal
    app.add_middleware(JournalMiddleware, journal=journal)

    @app.post("/iso20022/pain.001")
    async def submit(request: Request) -> Response:
        decision = faults.decide(submission=True)
        refused = await _apply(decision, bank)
        if refused is not None:
            return refused
        if "xml" not in request.headers.get("content-type", ""):
            return _format_error("Content-Type must be application/xml", 415)
        try:
            message = read_pain001(parse_pain001(await request.body()))
        except RejectedXml as exc:
            bank.count("invalid_messages")
            return _format_error(exc.message, details=exc.details)
        report = bank.submit(message)
        answer = render_pain002(report, bank.next_report_id(), clock())
        if decision.lose_answer:
            bank.count("lost_answers")
            return Response(status_code=504)
        return Response(answer, media_type=XML)

    @app.get("/iso20022/payments/{end_to_end_id:path}")
    async def payment_status(end_to_end_id: str) -> Response:
        refused = await _apply(faults.decide(submission=False), bank)
        if refused is not None:
            return refused
        report = bank.lookup(end_to_end_id)
        if report is None:
            return JSONResponse({"error": "unknown end_to_end_id"}, 404)
        return Response(render_pain002(report, bank.next_report_id(), clock()), media_type=XML)

    _add_admin(app, bank, faults, journal)
    return app


def _add_admin(app: FastAPI, bank: Bank, faults: Faults, journal: RequestJournal) -> None:
    @app.post("/admin/reset")
    async def reset() -> dict[str, Any]:
        bank.reset()
        faults.configure(FaultSettings())
        journal.clear()
        return {"ok": True}

    @app.get("/admin/ledger")
    async def ledger() -> list[dict[str, Any]]:
        return [entry.to_json() for entry in bank.ledger()]

    @app.get("/admin/attempts")
    async def attempts() -> list[dict[str, Any]]:
        return bank.attempts()

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return bank.stats()

    @app.get("/admin/faults")
    async def get_faults() -> dict[str, Any]:
        return faults.settings.model_dump()

    @app.post("/admin/faults")
    async def set_faults(request: Request) -> Response:
        try:
            settings = FaultSettings.model_validate_json(await request.body())
        except ValidationError as exc:
            return _validation_error(exc)
        faults.configure(settings)
        return JSONResponse(settings.model_dump())

    @app.get("/admin/balances")
    async def get_balances() -> dict[str, str | None]:
        return bank.balances()

    @app.post("/admin/balances")
    async def set_balance(request: Request) -> Response:
        try:
            body = BalanceRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return _validation_error(exc)
        if body.balance is not None and not _DECIMAL.fullmatch(body.balance):
            return JSONResponse({"errors": [{"field": "balance", "reason": "decimal string"}]}, 422)
        bank.set_balance(body.account, None if body.balance is None else Decimal(body.balance))
        return JSONResponse(bank.balances())

    @app.get("/admin/received")
    async def received() -> list[dict[str, Any]]:
        return journal.entries()


def _validation_error(exc: ValidationError) -> Response:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
        for e in exc.errors()
    ]
    return JSONResponse({"errors": errors}, 422)
