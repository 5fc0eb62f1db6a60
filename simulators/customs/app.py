"""HTTP face of the customs Single Window simulator: declaration query by EntryId.

    GET /dec/declarations/{EntryId}                 DecMessage (application/xml, UTF-8)
    GET /dec/declarations/{EntryId}?envelope=dxp    the same, Base64 inside a DxpMsg

An unknown (or withheld) EntryId and a malformed one are answered 200 with a
DecImportResponse whose ResponseCode is not 0, the way the customs data centre answers.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from simulators.common.admin import ScenarioError, install
from simulators.common.clock import Clock, now_cst
from simulators.customs.declarations import (
    DEFAULT_CASES,
    Declaration,
    export_declarations,
    shifted,
)
from simulators.customs.decmessage import decmessage, dxp_wrapped, import_response

__all__ = ["NOT_FOUND", "WRONG_FORMAT", "CustomsScenario", "create_app"]

XML = "application/xml; charset=utf-8"
NOT_FOUND = "1"
WRONG_FORMAT = "2"
_ENTRY_ID = re.compile(r"[0-9]{18}")

EntryId = Annotated[str, StringConstraints(pattern=r"^[0-9]{18}$")]


class CustomsScenario(BaseModel):
    """The `customs` section of a scenario YAML."""

    model_config = ConfigDict(extra="forbid")

    cases: Annotated[int, Field(ge=0, le=2000)] = DEFAULT_CASES
    """How many ERP dataset cases to draw declarations from (only the export ones get one)."""
    missing: list[EntryId] = []
    """Declarations answered "not found" (not cleared yet, or never filed)."""
    value_shift_pct: dict[EntryId, Annotated[int, Field(ge=-90, le=500)]] = {}
    """Declared value moved by this percent against the invoice (a customs/invoice mismatch)."""


class _Customs:
    """The declarations on file and what was asked; one lock, no awaits inside."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self.apply(CustomsScenario())

    def apply(self, scenario: CustomsScenario) -> None:
        declarations = export_declarations(self.seed, scenario.cases)
        unknown = sorted(
            e for e in {*scenario.missing, *scenario.value_shift_pct} if e not in declarations
        )
        if unknown:
            raise ScenarioError(
                f"no declaration with EntryId {', '.join(unknown)} (see GET /admin/state)"
            )
        for entry_id, percent in scenario.value_shift_pct.items():
            declarations[entry_id] = shifted(declarations[entry_id], percent)
        with self._lock:
            self.declarations = declarations
            self.missing = set(scenario.missing)
            self.queries: Counter[str] = Counter()
            self.not_found: Counter[str] = Counter()
            self.answers = 0

    def find(self, entry_id: str) -> tuple[Declaration | None, int]:
        with self._lock:
            self.queries[entry_id] += 1
            self.answers += 1
            found = None if entry_id in self.missing else self.declarations.get(entry_id)
            if found is None:
                self.not_found[entry_id] += 1
            return found, self.answers

    def reset(self) -> None:
        self.apply(CustomsScenario())

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "declarations": [
                    _summary(d, d.entry_id in self.missing) for d in self.declarations.values()
                ],
                "queries": dict(self.queries),
                "not_found": dict(self.not_found),
            }


def _summary(d: Declaration, missing: bool) -> dict[str, Any]:
    return {
        "entry_id": d.entry_id,
        "case_id": d.case_id,
        "invoice_number": d.invoice_number,
        "contract_no": d.contract_no,
        "exporter": {"name": d.exporter.name, "uscc": d.exporter.uscc},
        "overseas_consignee": d.overseas.name,
        "ie_date": d.ie_date.isoformat(),
        "total": str(d.total),
        "currency": d.currency,
        "missing": missing,
    }


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh Single Window whose declarations follow the ERP dataset of the same seed."""
    customs = _Customs(seed)
    app = FastAPI(title="customs Single Window simulator", openapi_url=None, docs_url=None)
    app.state.customs = customs

    def scenario(section: Mapping[str, Any]) -> None:
        customs.apply(CustomsScenario.model_validate(section))

    install(
        app,
        name="customs",
        seed=seed,
        clock=clock,
        state=customs.state,
        reset=customs.reset,
        scenario=scenario,
    )

    @app.get("/dec/declarations/{entry_id}")
    async def declaration(entry_id: str, envelope: str = "") -> Response:
        if not _ENTRY_ID.fullmatch(entry_id):
            body = import_response(WRONG_FORMAT, f"海关编号[{entry_id}]格式错误，应为18位数字")
            return Response(body, media_type=XML)
        if envelope not in ("", "dxp"):
            body = import_response(WRONG_FORMAT, f"不支持的报文封装[{envelope}]，可选 dxp")
            return Response(body, media_type=XML)
        found, count = customs.find(entry_id)
        if found is None:
            body = import_response(NOT_FOUND, f"未查询到海关编号为[{entry_id}]的报关单信息")
            return Response(body, media_type=XML)
        if envelope == "dxp":
            message_id = f"{found.trade_code}{count:010d}"
            return Response(dxp_wrapped(found, message_id), media_type=XML)
        return Response(decmessage(found), media_type=XML)

    return app
