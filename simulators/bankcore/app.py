"""HTTP face of the bank core: one SOAP 1.1 endpoint and its WSDL, plus the shared admin API.

    GET  /bankcore?wsdl     the WSDL (soap:address = the URL it was fetched from)
    POST /bankcore          QueryCreditLine | SubmitPayment | QueryPaymentStatus (text/xml)
    GET  /admin/ledger | credit-lines       (+ the shared /admin routes)

Bad input answers a soap:Client fault; an injected error (the shared `error_rate`) answers a
soap:Server fault with the configured HTTP status, as an overloaded core behind an ESB does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, Response
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators import uscc as uscc_rules
from simulators.bankcore.core import BankCore, PaymentOrder, PaymentOutcome, UnknownCreditLine
from simulators.bankcore.soap import (
    Request as SoapRequest,
)
from simulators.bankcore.soap import (
    SoapFault,
    client_fault,
    element,
    parse_request,
    render_fault,
    render_response,
)
from simulators.bankcore.wsdl import OPERATIONS, wsdl
from simulators.common.admin import ScenarioError, install
from simulators.common.clock import Clock, now_cst
from simulators.common.faults import INJECTED_ERROR_BODY

__all__ = ["BankCoreScenario", "CreditLineSeed", "create_app"]

PATH = "/bankcore"
SOAP_XML = "text/xml; charset=utf-8"
Money = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=2)]
Account = Annotated[str, Field(pattern=r"^[0-9A-Za-z\-]{1,34}$")]


class CreditLineSeed(BaseModel):
    """A customer's credit line as a scenario sets it (replaces the seeded one for that USCC)."""

    model_config = ConfigDict(extra="forbid")

    customer_uscc: str
    customer_name: Annotated[str, Field(min_length=1, max_length=140)] | None = None
    total: Money
    used: Money = Decimal("0.00")
    expiry_date: date | None = None
    status: Literal["ACTIVE", "FROZEN"] = "ACTIVE"

    @field_validator("customer_uscc")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        if not uscc_rules.is_valid(value):
            raise ValueError("not a valid 统一社会信用代码 (check character)")
        return value


class BankCoreScenario(BaseModel):
    """The bank core's section of a scenario file (besides the shared `faults`)."""

    model_config = ConfigDict(extra="forbid")

    balances: dict[Account, Money | None] = {}
    """Debtor account -> balance (null: unlimited); unlisted accounts are unlimited."""
    credit_lines: list[CreditLineSeed] = []


def _apply(core: BankCore, section: Mapping[str, Any]) -> None:
    scenario = BankCoreScenario.model_validate(section)
    for account, balance in scenario.balances.items():
        core.bank.set_balance(account, balance)
    for line in scenario.credit_lines:
        try:
            core.put_credit_line(
                uscc=line.customer_uscc,
                name=line.customer_name,
                total=line.total,
                used=line.used,
                expiry=line.expiry_date,
                frozen=line.status == "FROZEN",
            )
        except UnknownCreditLine as error:
            raise ScenarioError(f"credit_lines: {error}") from error


def _state(core: BankCore) -> dict[str, Any]:
    return {
        "stats": core.bank.stats(),
        "ledger": [entry.to_json() for entry in core.bank.ledger()],
        "attempts": core.bank.attempts(),
        "refused": core.refused(),
        "credit_lines": core.credit_lines(),
        "occupied": core.occupied(),
        "balances": core.bank.balances(),
    }


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh bank core; `seed` picks the customers (the ERP dataset's), their lines and the
    fault sequence."""
    core = BankCore(seed, clock=clock)
    app = FastAPI(title="bank core SOAP simulator", openapi_url=None, docs_url=None, redoc_url=None)
    install(
        app,
        name="bankcore",
        seed=seed,
        clock=clock,
        state=lambda: _state(core),
        reset=core.reset,
        scenario=lambda section: _apply(core, section),
    )
    app.add_middleware(_SoapFaultMiddleware)  # outermost: sees the shared faults' answers
    app.state.core = core

    @app.get(PATH)
    async def describe(request: Request) -> Response:
        if not any(key.lower() == "wsdl" for key in request.query_params):
            return Response("GET ?wsdl for the service description", 405, media_type="text/plain")
        location = str(request.url.replace(query=""))
        return Response(wsdl(location), media_type=SOAP_XML)

    @app.post(PATH)
    async def call(request: Request) -> Response:
        try:
            soap = parse_request(await request.body(), OPERATIONS)
            answer = _HANDLERS[soap.operation](core, soap)
        except SoapFault as fault:
            return Response(render_fault(fault), 500, media_type=SOAP_XML)
        return Response(render_response(answer), media_type=SOAP_XML)

    @app.get("/admin/ledger")
    async def ledger() -> list[dict[str, Any]]:
        return [entry.to_json() for entry in core.bank.ledger()]

    @app.get("/admin/credit-lines")
    async def credit_lines() -> list[dict[str, Any]]:
        return core.credit_lines()

    return app


# -- operations ------------------------------------------------------------------------------


def _query_credit_line(core: BankCore, soap: SoapRequest) -> etree._Element:
    uscc, line_id = soap.text("CustomerUscc"), soap.text("CreditLineId")
    if (uscc is None) == (line_id is None):
        raise client_fault("INVALID_REQUEST", "give exactly one of CustomerUscc, CreditLineId")
    if uscc is not None and not uscc_rules.is_valid(uscc):
        raise client_fault("INVALID_USCC", f"{uscc} fails the USCC check", "CustomerUscc")
    try:
        line = core.credit_line(uscc=uscc, line_id=line_id)
    except UnknownCreditLine as error:
        field = "CustomerUscc" if uscc else "CreditLineId"
        raise client_fault("CREDIT_LINE_NOT_FOUND", str(error), field) from error
    response = element(None, "QueryCreditLineResponse")
    node = element(response, "CreditLine")
    for tag, text in (
        ("CreditLineId", line.line_id),
        ("CustomerName", line.customer_name),
        ("CustomerUscc", line.uscc),
        ("Currency", line.currency),
        ("TotalAmount", format(line.total, "f")),
        ("UsedAmount", format(line.used, "f")),
        ("AvailableAmount", format(line.available, "f")),
        ("ExpiryDate", line.expiry.isoformat()),
        ("Status", line.status(core.today())),
    ):
        element(node, tag, text)
    return response


def _submit_payment(core: BankCore, soap: SoapRequest) -> etree._Element:
    order = PaymentOrder(
        instruction_id=soap.text("InstructionId") or "",
        debtor_account=soap.text("DebtorAccount") or "",
        creditor_account=soap.text("CreditorAccount") or "",
        creditor_name=soap.text("CreditorName") or "",
        creditor_agent=soap.text("CreditorAgent"),
        amount=Decimal(soap.text("Amount") or "0"),
        currency=soap.text("Currency") or "",
        credit_line_id=soap.text("CreditLineId"),
    )
    try:
        outcome = core.submit(order)
    except UnknownCreditLine as error:
        raise client_fault("CREDIT_LINE_NOT_FOUND", str(error), "CreditLineId") from error
    return _payment("SubmitPaymentResponse", outcome, with_duplicate=True)


def _query_payment_status(core: BankCore, soap: SoapRequest) -> etree._Element:
    instruction_id = soap.text("InstructionId") or ""
    outcome = core.status(instruction_id)
    if outcome is None:
        message = f"no payment with InstructionId {instruction_id}"
        raise client_fault("PAYMENT_NOT_FOUND", message, "InstructionId")
    return _payment("QueryPaymentStatusResponse", outcome, with_duplicate=False)


def _payment(tag: str, outcome: PaymentOutcome, *, with_duplicate: bool) -> etree._Element:
    response = element(None, tag)
    node = element(response, "Payment")
    element(node, "InstructionId", outcome.instruction_id)
    element(node, "Status", outcome.status)
    if outcome.reason is not None:
        element(node, "ReasonCode", outcome.reason)
    if outcome.info:
        element(node, "ReasonText", outcome.info[:140])
    element(node, "BankReference", outcome.bank_reference)
    element(node, "Amount", format(outcome.amount, "f"))
    element(node, "Currency", outcome.currency)
    if outcome.accepted_at is not None:
        element(node, "AcceptedAt", outcome.accepted_at)
    if with_duplicate:
        element(node, "Duplicate", "true" if outcome.duplicate else "false")
    return response


_HANDLERS = {
    "QueryCreditLine": _query_credit_line,
    "SubmitPayment": _submit_payment,
    "QueryPaymentStatus": _query_payment_status,
}


# -- injected errors as SOAP faults ------------------------------------------------------------

_INJECTED = INJECTED_ERROR_BODY


class _SoapFaultMiddleware:
    """The shared fault middleware answers injected errors in JSON; on the SOAP path a core
    answers a soap:Server fault instead (same HTTP status), so zeep raises `Fault`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != PATH:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400 and not held:
                held.append(message)  # maybe an injected error: wait for its body
                return
            if held and message["type"] == "http.response.body":
                start = held.pop()
                if message.get("body", b"") == _INJECTED:
                    await _server_fault(send, start["status"])
                    return
                await send(start)
            await send(message)

        await self.app(scope, receive, watch)


async def _server_fault(send: Send, status: int) -> None:
    fault = SoapFault("Server", "SERVICE_UNAVAILABLE", f"core service unavailable (HTTP {status})")
    body = render_fault(fault)
    headers = [(b"content-type", SOAP_XML.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
