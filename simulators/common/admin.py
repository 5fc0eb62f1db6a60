"""The admin API every simulator shares, so QA drives them all the same way.

    GET  /admin/faults        the fault settings        PUT /admin/faults   replace them
    GET  /admin/received      every business request received (method, path, body), in order
    GET  /admin/state         what the simulator did (executed payments, registrations, ...)
    POST /admin/scenario      load a scenario section (JSON: the simulator's part of the YAML)
    POST /admin/reset         forget everything: state, received requests, faults

`install` adds the journal, the fault and the tracing middleware (`simulators.common.tracing`)
and mounts these routes; a simulator passes the three callables that are its own (`state`,
`reset`, `scenario`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from simulators.common.clock import Clock, now_cst
from simulators.common.faults import FaultMiddleware, Faults, FaultSettings
from simulators.common.journal import JournalMiddleware, RequestJournal
from simulators.common.tracing import TracingMiddleware

__all__ = ["ScenarioError", "install", "validation_errors"]

StateReader = Callable[[], Mapping[str, Any]]
ScenarioLoader = Callable[[Mapping[str, Any]], None]


class ScenarioError(ValueError):
    """A scenario section the simulator cannot apply; the message names the field."""


def install(
    app: FastAPI,
    *,
    name: str,
    seed: int,
    clock: Clock = now_cst,
    state: StateReader | None = None,
    reset: Callable[[], None] | None = None,
    scenario: ScenarioLoader | None = None,
) -> tuple[Faults, RequestJournal]:
    """Journal + faults + the /admin routes on `app`; returns (faults, journal)."""
    faults = Faults(seed, name=name)
    journal = RequestJournal(clock=clock)
    # Starlette runs the last added middleware first: the request's span opens (when tracing
    # is on), faults decide, then the journal records what actually reached the simulator.
    app.add_middleware(JournalMiddleware, journal=journal)
    app.add_middleware(FaultMiddleware, faults=faults)
    app.add_middleware(TracingMiddleware, simulator=name)
    app.state.faults, app.state.journal = faults, journal

    @app.get("/admin/faults")
    async def get_faults() -> dict[str, Any]:
        return {**faults.settings.model_dump(mode="json"), "injected": dict(faults.injected)}

    @app.put("/admin/faults")
    @app.post("/admin/faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            settings = FaultSettings.model_validate_json(await request.body())
        except ValidationError as error:
            return JSONResponse({"errors": validation_errors(error)}, 422)
        faults.configure(settings)
        return JSONResponse(settings.model_dump(mode="json"))

    @app.get("/admin/received")
    async def received() -> list[dict[str, Any]]:
        return journal.entries()

    @app.get("/admin/state")
    async def get_state() -> Mapping[str, Any]:
        return state() if state is not None else {}

    @app.post("/admin/scenario")
    async def load_scenario(request: Request) -> JSONResponse:
        try:
            section = await request.json()
        except ValueError:
            return JSONResponse({"errors": [{"field": "body", "reason": "not JSON"}]}, 422)
        if not isinstance(section, dict):
            return JSONResponse({"errors": [{"field": "body", "reason": "not an object"}]}, 422)
        try:
            apply_scenario(section)
        except ValidationError as error:
            return JSONResponse({"errors": validation_errors(error)}, 422)
        except ScenarioError as error:
            return JSONResponse({"errors": [{"field": "scenario", "reason": str(error)}]}, 422)
        return JSONResponse({"ok": True})

    @app.post("/admin/reset")
    async def reset_all() -> dict[str, bool]:
        if reset is not None:
            reset()
        faults.reset()
        journal.clear()
        return {"ok": True}

    def apply_scenario(section: Mapping[str, Any]) -> None:
        """`faults` is shared; the rest of the section is the simulator's own."""
        rest = {k: v for k, v in section.items() if k != "faults"}
        if "faults" in section:
            faults.configure(FaultSettings.model_validate(section["faults"]))
        if rest:
            if scenario is None:
                raise ScenarioError(f"{name} takes no scenario fields but faults: {sorted(rest)}")
            scenario(rest)

    app.state.apply_scenario = apply_scenario
    return faults, journal


def validation_errors(error: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
        for e in error.errors()
    ]
