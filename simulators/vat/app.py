"""HTTP face of the VAT invoice platform: 查验 and 数电票 XML download, plus its admin extras.

POST /api/v1/invoice/verify            查验 (JSON in, JSON out, always HTTP 200)
GET  /api/v1/einvoice/{invoiceNo}/xml  the 数电票 XML file
GET  /admin/invoices                   every invoice on the platform with its status
POST /admin/invoices/{invoiceNo}/status  mark one invoice (same fields as a scenario item)
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulators.common.admin import ScenarioError, install, validation_errors
from simulators.common.clock import Clock, now_cst
from simulators.erp.dataset import STANDARD_CASES
from simulators.vat.platform import DatasetSettings, Status, StatusChange, VatPlatform
from simulators.vat.verification import Answer, Outcome, VerifyRequest, answer

__all__ = ["VatScenario", "create_app"]

XML = "application/xml; charset=utf-8"


class DatasetSection(BaseModel):
    """The ERP dataset settings; must equal those the ERP simulators use for the same seed."""

    model_config = ConfigDict(extra="forbid")

    count: Annotated[int, Field(ge=0, le=20_000)] = STANDARD_CASES
    sellers: Annotated[int, Field(ge=1, le=500)] = 5
    buyers: Annotated[int, Field(ge=1, le=1500)] = 20
    anomaly_rate: Annotated[float, Field(ge=0, le=0.5)] = 0.03


class InvoiceMark(BaseModel):
    """One invoice's status: by 20-digit `number` or by 0-based dataset `index`."""

    model_config = ConfigDict(extra="forbid")

    number: str | None = None
    index: Annotated[int, Field(ge=0)] | None = None
    status: Status
    red_amount: Decimal | None = None  # red_partial: the tax-exclusive amount flushed

    @field_validator("red_amount")
    @classmethod
    def _fen(cls, value: Decimal | None) -> Decimal | None:
        exponent = 0 if value is None else value.as_tuple().exponent
        if value is not None and (value <= 0 or not isinstance(exponent, int) or exponent < -2):
            raise ValueError("a positive amount with at most 2 decimals")
        return value

    @model_validator(mode="after")
    def _one_key(self) -> InvoiceMark:
        if (self.number is None) == (self.index is None):
            raise ValueError("give exactly one of number and index")
        return self


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    red_amount: Decimal | None = None


class VatScenario(BaseModel):
    """The `vat` section of a scenario YAML (`faults` is handled by the shared admin)."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetSection | None = None
    daily_limit: Annotated[int, Field(ge=1, le=1000)] | None = None
    amount_basis: Literal["total", "amount"] | None = None
    invoices: list[InvoiceMark] = []


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh platform holding the invoices of dataset `seed`."""
    platform = VatPlatform(seed, clock=clock)
    app = FastAPI(title="VAT invoice platform simulator", openapi_url=None, docs_url=None)
    app.state.platform = platform

    def scenario(section: Any) -> None:
        parsed = VatScenario.model_validate(section)
        if parsed.dataset is not None:
            platform.configure(DatasetSettings(**parsed.dataset.model_dump()))
        plans = [_plan(platform, i, mark) for i, mark in enumerate(parsed.invoices)]
        if parsed.daily_limit is not None:
            platform.daily_limit = parsed.daily_limit
        if parsed.amount_basis is not None:
            platform.amount_basis = parsed.amount_basis
        platform.mark(plans)

    install(
        app,
        name="vat",
        seed=seed,
        clock=clock,
        state=platform.state,
        reset=platform.reset,
        scenario=scenario,
    )

    def verify_one(item: object) -> dict[str, Any]:
        """One 查验, from the JSON of its query (the single and the batch endpoint share it)."""
        request_id = platform.next_request_id()
        try:
            query = VerifyRequest.model_validate(item)
        except ValidationError as error:
            errors = tuple(validation_errors(error))
            return answer(Answer(Outcome.BAD_REQUEST, errors=errors), request_id)
        if query.invoice_date > platform.today():
            refused = Answer(Outcome.BAD_REQUEST, message="开票日期超过当前日期")
            return answer(refused, request_id, query)
        if platform.too_old(query):
            refused = Answer(Outcome.BAD_REQUEST, message="超过五年的发票不能查验")
            return answer(refused, request_id, query)
        return answer(platform.verify(query), request_id, query)

    @app.post("/api/v1/invoice/verify")
    async def verify(request: Request) -> JSONResponse:
        try:
            item = json.loads(await request.body())
        except ValueError:
            item = None  # answered as an illegal request, naming the body
        return JSONResponse(verify_one(item))

    @app.post("/api/v1/invoice/verify/batch")
    async def verify_batch(request: Request) -> JSONResponse:
        """批量查验: up to 200 queries, each answered as the single endpoint would, in order."""
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        items = body.get("invoices") if isinstance(body, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= 200:
            refused = Answer(
                Outcome.BAD_REQUEST,
                errors=({"field": "invoices", "reason": "a list of 1 to 200 queries"},),
            )
            return JSONResponse(answer(refused, platform.next_request_id()))
        return JSONResponse({"results": [verify_one(item) for item in items]})

    @app.get("/api/v1/einvoice/{invoice_no}/xml")
    async def download(invoice_no: str) -> Response:
        request_id = platform.next_request_id()
        if not (invoice_no.isdigit() and len(invoice_no) == 20):
            bad = Answer(Outcome.BAD_REQUEST, message="发票号码应为20位数字")
            return JSONResponse(answer(bad, request_id), 400)
        content = platform.download(invoice_no)
        if content is None:
            return JSONResponse(answer(Answer(Outcome.NOT_FOUND), request_id), 404)
        headers = {"Content-Disposition": f'attachment; filename="{invoice_no}.xml"'}
        return Response(content, media_type=XML, headers=headers)

    @app.get("/admin/invoices")
    async def invoices() -> list[dict[str, Any]]:
        return platform.listing()

    @app.post("/admin/invoices/{invoice_no}/status")
    async def set_status(invoice_no: str, request: Request) -> JSONResponse:
        try:
            body = StatusBody.model_validate_json(await request.body())
            plan = platform.plan(invoice_no, body.status, body.red_amount)
        except ValidationError as error:
            return JSONResponse({"errors": validation_errors(error)}, 422)
        except (KeyError, ValueError) as error:
            return JSONResponse({"errors": [{"field": "body", "reason": _reason(error)}]}, 422)
        platform.mark([plan])
        marking = platform.markings.get(invoice_no)
        status = marking.status if marking else "normal"
        red = plan.marking.red_number
        return JSONResponse({"invoiceNo": invoice_no, "status": status, "red_invoice": red})

    return app


def _plan(platform: VatPlatform, position: int, mark: InvoiceMark) -> StatusChange:
    try:
        number = mark.number if mark.index is None else platform.number_at(mark.index)
        assert number is not None  # one of number/index is set (validated)
        return platform.plan(number, mark.status, mark.red_amount)
    except (KeyError, ValueError, IndexError) as error:
        raise ScenarioError(f"invoices.{position}: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    return str(error.args[0]) if error.args else type(error).__name__
