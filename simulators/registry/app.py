"""HTTP API of the registry simulator (FastAPI).

Bodies are validated by hand from the raw bytes so every bad input answers
422 `{"errors": [{"field", "reason"}]}`, whatever went wrong.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from simulators.common.clock import Clock, iso_seconds, now_cst
from simulators.common.journal import JournalMiddleware, RequestJournal
from simulators.registry.models import (
    BatchRequest,
    CancelRequest,
    RegistrationRequest,
    SeedRequest,
    field_errors,
)
from simulators.registry.store import RegistryStore, WrongModificationCode

_Model = TypeVar("_Model", bound=BaseModel)


class _BadInput(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors)
        self.errors = errors


async def _parse(request: Request, model: type[_Model]) -> _Model:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        raise _BadInput(field_errors(exc)) from exc


def _unknown(number: str) -> JSONResponse:
    return JSONResponse({"error": "unknown registration_no", "registration_no": number}, 404)


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh registry; `seed` makes registration numbers and modification codes repeatable."""
    store = RegistryStore(seed=seed, clock=clock)
    journal = RequestJournal(clock=clock)
    app = FastAPI(title="中登网 simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.journal = journal
    app.add_middleware(JournalMiddleware, journal=journal)

    @app.exception_handler(_BadInput)
    async def bad_input(_: Request, exc: _BadInput) -> JSONResponse:
        return JSONResponse({"errors": exc.errors}, 422)

    @app.post("/registrations")
    async def register(request: Request) -> JSONResponse:
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
        assignor_name: str | None = None, assignor_uscc: str | None = None
    ) -> JSONResponse:
        if not (assignor_name and assignor_name.strip()) and not (
            assignor_uscc and assignor_uscc.strip()
        ):
            reason = "give assignor_name and/or assignor_uscc"
            raise _BadInput([{"field": "query", "reason": reason}])
        hits = store.search(assignor_name, assignor_uscc)
        today = store.today()
        return JSONResponse(
            {
                "certificate_no": store.next_certificate_no(),
                "query_time": iso_seconds(store.now()),
                "query": {"assignor_name": assignor_name, "assignor_uscc": assignor_uscc},
                "registrations": [r.public(today) for r in hits],
            }
        )

    @app.get("/registrations/{number}")
    async def get_registration(number: str) -> JSONResponse:
        registration = store.get(number)
        if registration is None:
            return _unknown(number)
        return JSONResponse(registration.public(store.today()))

    @app.post("/registrations/{number}/cancel")
    async def cancel(number: str, request: Request) -> JSONResponse:
        body = await _parse(request, CancelRequest)
        try:
            registration = store.cancel(number, body.modification_code)
        except WrongModificationCode:
            return JSONResponse({"error": "modification_code does not match"}, 403)
        if registration is None:
            return _unknown(number)
        return JSONResponse(registration.public(store.today()))

    _add_admin(app, store, journal)
    return app


def _add_admin(app: FastAPI, store: RegistryStore, journal: RequestJournal) -> None:
    @app.post("/admin/reset")
    async def reset() -> dict[str, Any]:
        store.reset()
        journal.clear()
        return {"ok": True}

    @app.post("/admin/seed")
    async def seed(request: Request) -> JSONResponse:
        body = await _parse(request, SeedRequest)
        receipts = []
        for item in body.registrations:
            fields = item.model_dump(exclude={"registered_at"})
            registration, _ = store.register(
                RegistrationRequest.model_validate(fields, strict=False), item.registered_at
            )
            receipts.append(registration.receipt())
        return JSONResponse({"registrations": receipts}, 201)

    @app.get("/admin/received")
    async def received() -> list[dict[str, Any]]:
        return journal.entries()

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return {"registrations": len(store), "requests": journal.total}
