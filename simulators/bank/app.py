"""HTTP face of the bank: pain.001 in, pain.002 out (answer, query and pushed callbacks), camt.054
notifications of what was booked, and the shared admin API plus the bank's own admin views.

    POST /iso20022/pain.001                  a payment file; answers its pain.002
    GET  /iso20022/payments/{EndToEndId}     pain.002 for one transaction (404 if never seen)
    GET  /iso20022/camt.054?account=..&after=N   bookings of one account (after entry N):
                                             its payments (DBIT) and incoming credits (CRDT)
    GET  /admin/ledger | credits | attempts | stats | balances | callbacks   (+ shared /admin)
    POST /admin/credits (an incoming credit transfer), /admin/balances, PUT|POST /admin/callbacks
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulators.bank.camt054 import Notification, render_camt054
from simulators.bank.engine import Bank, Booking, CreditConflict, CreditEntry, CreditTerms
from simulators.bank.pain001 import read_pain001
from simulators.bank.pain002 import render_pain002
from simulators.bank.xmlio import RejectedXml, parse_pain001
from simulators.common.admin import install, validation_errors
from simulators.common.callbacks import CallbackFaults, CallbackSender
from simulators.common.clock import Clock, now_cst
from simulators.common.faults import Faults

__all__ = ["BankScenario", "CallbackSettings", "create_app"]

XML = "application/xml"
_DECIMAL = re.compile(r"-?\d{1,18}(\.\d{1,5})?")
Balance = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=2)]


class BalanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    account: Annotated[str, Field(min_length=1, max_length=34)]
    balance: str | None  # decimal string; null = unlimited


# Characters XML 1.0 cannot carry; such text could never reach a camt.054.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_AMOUNT = re.compile(r"[0-9]{1,16}(\.[0-9]{1,2})?")  # ISO amounts: 18 digits in all
Identifier = Annotated[str, Field(min_length=1, max_length=34, pattern=r"^\S+$")]
Reference = Annotated[str, Field(min_length=1, max_length=35, pattern=r"^\S+$")]


class CreditRequest(BaseModel):
    """An incoming credit transfer: a payer (e.g. a buyer repaying a financing) pays `account`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    account: Identifier
    amount: str  # decimal string, > 0, at most 2 decimals
    currency: Annotated[str, Field(pattern=r"^CNY$")] = "CNY"  # the accounts are CNY accounts
    debtor_name: Annotated[str, Field(min_length=1, max_length=140)]
    debtor_account: Identifier
    debtor_agent: Annotated[str, Field(pattern=r"^[0-9]{12}$")] | None = None  # CNAPS 行号
    remittance: Annotated[str, Field(min_length=1, max_length=1400)] | None = None
    end_to_end_id: Reference | None = None  # the payer's, if any; NOTPROVIDED otherwise
    value_date: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] | None = None
    reference: Reference | None = None  # AcctSvcrRef; generated when absent

    @field_validator("amount")
    @classmethod
    def _positive_amount(cls, value: str) -> str:
        if not _AMOUNT.fullmatch(value):
            raise ValueError("decimal string with at most 2 decimals, e.g. 452000.00")
        if Decimal(value) <= 0:
            raise ValueError("must be greater than 0")
        return value

    @field_validator("value_date")
    @classmethod
    def _real_date(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)  # ValueError names the problem
        return value

    @field_validator(
        "account", "debtor_name", "debtor_account", "remittance", "end_to_end_id", "reference"
    )
    @classmethod
    def _xml_text(cls, value: str | None) -> str | None:
        if value is not None:
            if _NOT_XML.search(value):
                raise ValueError("contains characters XML cannot carry")
            if not value.strip():
                raise ValueError("must not be blank")
        return value

    def terms(self) -> CreditTerms:
        return CreditTerms(
            account=self.account,
            amount=Decimal(self.amount).quantize(Decimal("0.01")),
            currency=self.currency,
            debtor_name=self.debtor_name,
            debtor_account=self.debtor_account,
            debtor_agent=self.debtor_agent,
            remittance=self.remittance,
            end_to_end_id=self.end_to_end_id,
            value_date=None if self.value_date is None else date.fromisoformat(self.value_date),
        )


class CallbackSettings(CallbackFaults):
    """Where pain.002 status reports are pushed (no `url`: none are) and how they misbehave."""

    url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None


class BankScenario(BaseModel):
    """The bank's section of a scenario file (besides the shared `faults`)."""

    model_config = ConfigDict(extra="forbid")

    balances: dict[Annotated[str, Field(min_length=1, max_length=34)], Balance | None] = {}
    """Debtor account -> balance (null: unlimited); unlisted accounts are unlimited."""
    callbacks: CallbackSettings | None = None


def _format_error(message: str, status: int = 400, details: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"error": message, "reason": "FF01"}
    if details:
        body["details"] = details
    return JSONResponse(body, status)


class _Channel:
    """The bank plus its callback settings; one per app."""

    def __init__(self, bank: Bank, sender: CallbackSender) -> None:
        self.bank, self.sender = bank, sender
        self.callbacks = CallbackSettings()

    def configure_callbacks(self, settings: CallbackSettings) -> None:
        self.callbacks = settings
        self.sender.configure(CallbackFaults(**settings.model_dump(exclude={"url"})))

    def apply(self, section: Mapping[str, Any]) -> None:
        scenario = BankScenario.model_validate(section)
        for account, balance in scenario.balances.items():
            self.bank.set_balance(account, balance)
        if scenario.callbacks is not None:
            self.configure_callbacks(scenario.callbacks)

    def reset(self) -> None:
        self.bank.reset()
        self.sender.reset()
        self.callbacks = CallbackSettings()

    def deliveries(self) -> list[dict[str, Any]]:
        return [d.summary() for d in list(self.sender.deliveries)]


def create_app(
    seed: int = 0, *, default_balance: Decimal | None = None, clock: Clock = now_cst
) -> FastAPI:
    """A fresh bank; `seed` drives the fault and callback RNGs, `default_balance` None means
    unlimited."""
    bank = Bank(default_balance=default_balance, clock=clock)
    channel = _Channel(bank, CallbackSender(seed=seed, name="bank"))
    app = FastAPI(title="bank ISO 20022 simulator", openapi_url=None, docs_url=None, redoc_url=None)
    faults, _ = install(
        app,
        name="bank",
        seed=seed,
        clock=clock,
        state=lambda: _state(channel, faults),
        reset=channel.reset,
        scenario=channel.apply,
    )
    app.state.bank, app.state.callbacks = bank, channel.sender

    @app.post("/iso20022/pain.001")
    async def submit(request: Request) -> Response:
        if "xml" not in request.headers.get("content-type", ""):
            return _format_error("Content-Type must be application/xml", 415)
        try:
            message = read_pain001(parse_pain001(await request.body()))
        except RejectedXml as exc:
            bank.count("invalid_messages")
            return _format_error(exc.message, details=exc.details)
        report = bank.submit(message)
        url = channel.callbacks.url
        if url is not None:  # the pushed report is a message of its own, with its own MsgId
            pushed = render_pain002(report, bank.next_report_id(), clock())
            channel.sender.send(url, pushed, content_type=XML)
        return Response(render_pain002(report, bank.next_report_id(), clock()), media_type=XML)

    @app.get("/iso20022/payments/{end_to_end_id:path}")
    async def payment_status(end_to_end_id: str) -> Response:
        report = bank.lookup(end_to_end_id)
        if report is None:
            return JSONResponse({"error": "unknown end_to_end_id"}, 404)
        return Response(render_pain002(report, bank.next_report_id(), clock()), media_type=XML)

    @app.get("/iso20022/camt.054")
    async def notifications(account: str | None = None, after: str = "0") -> Response:
        if not account or len(account) > 34:
            return _format_error("query parameter account (1..34 characters) is required")
        if not after.isdigit():
            return _format_error("query parameter after must be a non-negative entry number")
        first = int(after)
        entries = [
            (n, booking)
            for n, booking in bank.bookings()
            if n > first and _books_on(booking, account)
        ]
        msg_id = bank.next_report_id()
        notification = Notification(f"NTF{msg_id[7:]}", account, entries)
        return Response(render_camt054(msg_id, clock(), [notification]), media_type=XML)

    _add_admin(app, channel, faults)
    return app


def _books_on(booking: Booking, account: str) -> bool:
    """A payment is booked on its debtor account, an incoming credit on the account it pays."""
    if isinstance(booking, CreditEntry):
        return booking.terms.account == account
    return booking.debtor_account == account


def _stats(bank: Bank, faults: Faults) -> dict[str, int]:
    injected = dict(faults.injected)
    return {
        **bank.stats(),
        "injected_errors": injected.get("error", 0),
        "lost_answers": injected.get("lose_answer", 0),
    }


def _state(channel: _Channel, faults: Faults) -> dict[str, Any]:
    bank = channel.bank
    return {
        "stats": _stats(bank, faults),
        "ledger": [entry.to_json() for entry in bank.ledger()],
        "credits": [entry.to_json() for entry in bank.credits()],
        "attempts": bank.attempts(),
        "balances": bank.balances(),
        "callbacks": channel.deliveries(),
    }


def _add_admin(app: FastAPI, channel: _Channel, faults: Faults) -> None:
    bank = channel.bank

    @app.get("/admin/ledger")
    async def ledger() -> list[dict[str, Any]]:
        return [entry.to_json() for entry in bank.ledger()]

    @app.get("/admin/credits")
    async def credits(account: str | None = None) -> list[dict[str, Any]]:
        return [
            entry.to_json()
            for entry in bank.credits()
            if account is None or entry.terms.account == account
        ]

    @app.post("/admin/credits")
    async def book_credit(request: Request) -> Response:
        try:
            body = CreditRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"errors": validation_errors(exc)}, 422)
        try:
            entry, booked = bank.book_credit(body.terms(), body.reference)
        except CreditConflict as exc:
            existing = None if exc.existing is None else exc.existing.to_json()
            return JSONResponse({"error": exc.message, "existing": existing}, 409)
        return JSONResponse(entry.to_json(), 201 if booked else 200)

    @app.get("/admin/attempts")
    async def attempts() -> list[dict[str, Any]]:
        return bank.attempts()

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return _stats(bank, faults)

    @app.get("/admin/balances")
    async def get_balances() -> dict[str, str | None]:
        return bank.balances()

    @app.post("/admin/balances")
    async def set_balance(request: Request) -> Response:
        try:
            body = BalanceRequest.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"errors": validation_errors(exc)}, 422)
        if body.balance is not None and not _DECIMAL.fullmatch(body.balance):
            return JSONResponse({"errors": [{"field": "balance", "reason": "decimal string"}]}, 422)
        bank.set_balance(body.account, None if body.balance is None else Decimal(body.balance))
        return JSONResponse(bank.balances())

    @app.get("/admin/callbacks")
    async def get_callbacks() -> dict[str, Any]:
        return {
            "settings": channel.callbacks.model_dump(mode="json"),
            "deliveries": channel.deliveries(),
        }

    @app.put("/admin/callbacks")
    @app.post("/admin/callbacks")
    async def set_callbacks(request: Request) -> Response:
        try:
            settings = CallbackSettings.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"errors": validation_errors(exc)}, 422)
        channel.configure_callbacks(settings)
        return JSONResponse(settings.model_dump(mode="json"))
