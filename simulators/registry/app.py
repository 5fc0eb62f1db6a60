"""HTTP API of the registry simulator (FastAPI).

Bodies are validated by hand from the raw bytes so every bad input answers
422 `{"errors": [{"field", "reason"}]}`, whatever went wrong; a refused operation answers
`{"error", "code", "message"}` with 403 (wrong 修改码), 404 (unknown number) or 409 (state).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from simulators.common.admin import ScenarioError, install
from simulators.common.clock import Clock, now_cst
from simulators.registry.models import (
    AmendmentRequest,
    BatchRequest,
    CancelRequest,
    ExtensionRequest,
    RegistrationRequest,
    SeedRequest,
    field_errors,
)
from simulators.registry.seeding import seed_registrations
from simulators.registry.store import RegistryError, RegistryStore

__all__ = ["create_app"]

_Model = TypeVar("_Model", bound=BaseModel)


class _BadInput(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


async def _parse(request: Request, model: type[_Model]) -> _Model:
    return _parse_bytes(await request.body(), model)


def _parse_bytes(raw: bytes, model: type[_Model]) -> _Model:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise _BadInput(field_errors(exc)) from exc


def _json_default(value: object) -> str:
    """YAML gives dates and datetimes as objects; the API reads them as ISO text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh registry; `seed` makes numbers, modification codes and seeded data repeatable."""
    store = RegistryStore(seed=seed, clock=clock)
    app = FastAPI(title="中登网 simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.store = store

    def scenario(section: Mapping[str, Any]) -> None:
        """`registrations` / `conflicts` / `companies`: other factors' registrations."""
        try:
            body = SeedRequest.model_validate_json(json.dumps(section, default=_json_default))
        except TypeError as error:
            raise ScenarioError(str(error)) from error
        seed_registrations(store, body, seed)

    _, journal = install(
        app,
        name="registry",
        seed=seed,
        clock=clock,
        state=store.state,
        reset=store.reset,
        scenario=scenario,
    )

    @app.exception_handler(_BadInput)
    async def bad_input(_: Request, exc: _BadInput) -> JSONResponse:
        return JSONResponse({"errors": exc.errors}, 422)

    @app.exception_handler(RegistryError)
    async def refused(_: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse(exc.body(), exc.status)

    @app.post("/registrations")
    async def register(request: Request) -> JSONResponse:
        """初始登记."""
        body = await _parse(request, RegistrationRequest)
        registration, created = store.register(body)
        return JSONResponse(registration.receipt(), 201 if created else 200)

    @app.post("/registrations/batch")
    async def register_batch(request: Request) -> JSONResponse:
        """批量登记: many filings in one upload, each validated and answered on its own."""
        body = await _parse(request, BatchRequest)
        results: list[dict[str, Any]] = []
        for index, item in enumerate(body.registrations):
            try:
                filing = RegistrationRequest.model_validate(item)
            except ValidationError as exc:
                errors = [
                    {"field": f"registrations.{index}.{e['field']}", "reason": e["reason"]}
                    for e in field_errors(exc)
                ]
                results.append({"status": 422, "errors": errors})
                continue
            registration, created = store.register(filing)
            results.append({"status": 201 if created else 200, **registration.receipt()})
        return JSONResponse({"results": results})

    @app.get("/registrations/search")
    async def search(
        assignor_name: str | None = None,
        assignor_uscc: str | None = None,
        registration_no: str | None = None,
    ) -> Response:
        """查询 by 担保人 name and/or USCC, or by number; answers the 查询证明."""
        if not any(key and key.strip() for key in (assignor_name, assignor_uscc, registration_no)):
            reason = "give assignor_name, assignor_uscc and/or registration_no"
            raise _BadInput([{"field": "query", "reason": reason}])
        body = store.search_json(assignor_name, assignor_uscc, registration_no)
        return Response(body, media_type="application/json")

    @app.get("/search-certificates/{number}")
    async def certificate(number: str) -> JSONResponse:
        """The 查询证明 as issued (a snapshot: later filings do not change it)."""
        found = store.certificate(number)
        if found is None:
            body = {
                "error": "unknown certificate_no",
                "code": "NOT_FOUND",
                "message": f"查询证明编号{number}不存在",
            }
            return JSONResponse(body, 404)
        return JSONResponse(found)

    @app.get("/registrations/{number}")
    async def get_registration(number: str) -> JSONResponse:
        registration = store.get(number)
        if registration is None:
            body = {
                "error": "unknown registration_no",
                "code": "NOT_FOUND",
                "message": f"登记证明编号{number}不存在",
                "registration_no": number,
            }
            return JSONResponse(body, 404)
        return JSONResponse(registration.public(store.today()))

    @app.post("/registrations/{number}/amendments")
    async def amend(number: str, request: Request) -> JSONResponse:
        """变更登记."""
        body = await _parse(request, AmendmentRequest)
        registration, entry = store.amend(number, body.modification_code, body.changes)
        answer = entry.public(registration.registration_no)
        return JSONResponse({**answer, "registration": registration.public(store.today())}, 201)

    @app.post("/registrations/{number}/extensions")
    async def extend(number: str, request: Request) -> JSONResponse:
        """展期登记."""
        body = await _parse(request, ExtensionRequest)
        registration, entry = store.extend(number, body.modification_code, body.period_months)
        answer = entry.public(registration.registration_no)
        return JSONResponse({**answer, "registration": registration.public(store.today())}, 201)

    @app.post("/registrations/{number}/cancel")
    async def cancel(number: str, request: Request) -> JSONResponse:
        """注销登记."""
        body = await _parse(request, CancelRequest)
        registration = store.cancel(number, body.modification_code)
        return JSONResponse(registration.public(store.today()))

    @app.post("/admin/seed")
    async def seed_other_factors(request: Request) -> JSONResponse:
        """Other factors' registrations (the scenario section's shape); answers their receipts."""
        body = await _parse(request, SeedRequest)
        try:
            receipts = seed_registrations(store, body, seed)
        except ScenarioError as error:
            raise _BadInput([{"field": "conflicts", "reason": str(error)}]) from error
        return JSONResponse({"registrations": receipts}, 201)

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return {"registrations": len(store), "requests": journal.total}

    return app
