"""HTTP face of the YonBIP OpenAPI simulator (formats-inbound §1.5–1.6).

    GET  /open-auth/dataCenter/getGatewayAddress?tenantId=        gateway discovery
    GET  /open-auth/selfAppAuth/getAccessToken?appKey&timestamp&signature   (+ host variants)
    POST /yonbip/sd/vouchersaleinvoice/save?access_token=         销售发票保存
    GET  /yonbip/sd/vouchersaleinvoice/detail?id=&access_token=   销售发票详情
    POST /yonbip/sd/vouchersaleinvoice/list?access_token=         销售发票列表 (paged)

Answers use YonBIP's `{"code", "message", "data"}` envelope, errors included. The admin API adds
invoice approval (which pushes an event), the subscriber and the push faults.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from simulators.common.admin import ScenarioError, install, validation_errors
from simulators.common.callbacks import CallbackFaults
from simulators.common.clock import Clock, now_cst
from simulators.erp.dataset import Companies, generate_invoices
from simulators.yonyou.engine import App, TokenStyle, YonBip
from simulators.yonyou.errors import (
    BUSINESS_OK,
    SERVER_LOGIC_ERROR,
    TOKEN_OK,
    TOKEN_TENANT_UNKNOWN,
    YonyouError,
    envelope,
)
from simulators.yonyou.events import EVENT_APPROVED, EVENT_SAVED, EventPublisher, Subscriber
from simulators.yonyou.records import save_view
from simulators.yonyou.scenario import SubscriberConfig, YonyouScenario

__all__ = ["create_app"]

TOKEN_PATHS: dict[str, TokenStyle] = {
    "/open-auth/selfAppAuth/getAccessToken": "classic",
    "/iuap-api-auth/open-auth/selfAppAuth/getAccessToken": "classic",
    "/open-auth/selfAppAuth/base/v1/getAccessToken": "v1",
    "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken": "v1",
}
INVOICE = "/yonbip/sd/vouchersaleinvoice"
OK = "操作成功"
_SETTINGS = (
    "invoices",
    "anomalies",
    "token_ttl_s",
    "timestamp_window_s",
    "approve_on_save",
    "detail_code_as_number",
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def _json_body(request: Request) -> Any:
    """Amounts stay exact (Decimal); NaN/Infinity are refused like any bad JSON."""
    try:
        return json.loads(
            await request.body(), parse_float=Decimal, parse_constant=_reject_constant
        )
    except ValueError:
        raise YonyouError(SERVER_LOGIC_ERROR, "请求体不是合法的JSON") from None


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh YonBIP tenant; `seed` fixes the app credentials, invoices, tokens and ids."""
    engine = YonBip(seed, clock=clock)
    events = EventPublisher(seed, clock=clock)
    app = FastAPI(title="YonBIP OpenAPI simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.yonbip, app.state.events = engine, events

    @app.exception_handler(YonyouError)
    async def yonyou_error(_: Request, error: YonyouError) -> Response:
        return error.response()

    @app.get("/open-auth/dataCenter/getGatewayAddress")
    async def gateway_address(request: Request) -> Response:
        tenant = request.query_params.get("tenantId", "")
        if tenant not in {a.tenant_id for a in engine.apps.values()}:
            raise YonyouError(TOKEN_TENANT_UNKNOWN, f"租户[{tenant}]不存在")
        base = str(request.base_url).rstrip("/")
        return envelope(TOKEN_OK, "成功！", {"gatewayUrl": base, "tokenUrl": base})

    async def get_access_token(request: Request) -> Response:
        token = engine.issue_token(dict(request.query_params), TOKEN_PATHS[request.url.path])
        data = {"access_token": token.value, "expire": engine.settings.token_ttl_s}
        return envelope(TOKEN_OK, "成功！", data)

    for path in TOKEN_PATHS:
        app.add_api_route(path, get_access_token, methods=["GET"])

    @app.post(f"{INVOICE}/save")
    async def save(request: Request) -> Response:
        engine.authorize(request.query_params.get("access_token"))
        record, outcome = engine.save(await _json_body(request))
        if outcome == "created":
            events.publish(EVENT_SAVED, record)
            if engine.settings.approve_on_save:
                events.publish(EVENT_APPROVED, engine.approve(record["id"]))
        return envelope(BUSINESS_OK, OK, save_view(record))

    @app.get(f"{INVOICE}/detail")
    async def detail(request: Request) -> Response:
        engine.authorize(request.query_params.get("access_token"))
        record = engine.detail(request.query_params.get("id"))
        code: str | int = int(BUSINESS_OK) if engine.settings.detail_code_as_number else BUSINESS_OK
        return envelope(code, OK, record)

    @app.post(f"{INVOICE}/list")
    async def invoice_list(request: Request) -> Response:
        engine.authorize(request.query_params.get("access_token"))
        return envelope(BUSINESS_OK, OK, engine.list_page(await _json_body(request)))

    def set_subscriber(config: SubscriberConfig | None) -> None:
        if config is None:
            events.subscriber = None
            return
        key = config.app_key or next(iter(engine.apps))
        if key not in engine.apps:
            raise ScenarioError(f"subscriber.app_key {key!r} is not one of the apps")
        events.subscriber = Subscriber(config.url, engine.apps[key])

    def scenario(section: Any) -> None:
        parsed = YonyouScenario.model_validate(section)
        given = parsed.model_fields_set
        if parsed.anomalies is not None:
            try:
                generate_invoices(seed, 0, Companies((), ()), parsed.anomalies)
            except ValueError as error:
                raise ScenarioError(f"anomalies: {error}") from None
        if parsed.apps is not None:
            engine.set_apps([App(a.app_key, a.app_secret, a.tenant_id) for a in parsed.apps])
        changes = {name: getattr(parsed, name) for name in _SETTINGS if name in given}
        if changes:
            engine.configure(replace(engine.settings, **changes))
        if "subscriber" in given:
            set_subscriber(parsed.subscriber)
        if "callbacks" in given:
            events.configure(parsed.callbacks or CallbackFaults())

    def state() -> dict[str, Any]:
        settings = {**asdict(engine.settings)}
        return {**engine.state(), "settings": settings, "events": events.state()}

    def reset() -> None:
        engine.reset()
        events.reset()

    install(app, name="yonyou", seed=seed, clock=clock, state=state, reset=reset, scenario=scenario)
    _add_admin(app, engine, events, set_subscriber)
    return app


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def _add_admin(app: FastAPI, engine: YonBip, events: EventPublisher, set_subscriber: Any) -> None:
    @app.put("/admin/subscriber")
    async def put_subscriber(request: Request) -> JSONResponse:
        try:
            config = SubscriberConfig.model_validate_json(await request.body())
            set_subscriber(config)
        except ValidationError as error:
            return JSONResponse({"errors": validation_errors(error)}, 422)
        except ScenarioError as error:
            return JSONResponse({"errors": [{"field": "app_key", "reason": str(error)}]}, 422)
        return JSONResponse(events.state()["subscriber"])

    @app.delete("/admin/subscriber")
    async def delete_subscriber() -> dict[str, bool]:
        set_subscriber(None)
        return {"ok": True}

    @app.put("/admin/callbacks")
    async def put_callbacks(request: Request) -> JSONResponse:
        try:
            faults = CallbackFaults.model_validate_json(await request.body())
        except ValidationError as error:
            return JSONResponse({"errors": validation_errors(error)}, 422)
        events.configure(faults)
        return JSONResponse(faults.model_dump())

    @app.post("/admin/invoices/{invoice_id}/approve")
    async def approve(invoice_id: str) -> JSONResponse:
        if not invoice_id.isdigit() or engine.find(int(invoice_id)) is None:
            return _error(f"unknown invoice id {invoice_id}", 404)
        try:
            record = engine.approve(int(invoice_id))
        except YonyouError as error:
            return _error(error.message, 409)
        pushed = events.publish(EVENT_APPROVED, record)
        return JSONResponse(
            {
                "id": invoice_id,
                "status": record["status"],
                "businessState": record["businessState"],
                "eventId": pushed.event_id if pushed else None,
            }
        )

    @app.post("/admin/events/seeded")
    async def push_seeded() -> JSONResponse:
        """An approval event for every seeded invoice, in seed order."""
        if events.subscriber is None:
            return _error("no subscriber: PUT /admin/subscriber first", 409)
        pushed = [events.publish(EVENT_APPROVED, record) for record in engine.seeded()]
        return JSONResponse({"pushed": sum(1 for p in pushed if p is not None)})

    @app.post("/admin/tokens/expire")
    async def expire_tokens() -> dict[str, int]:
        return {"expired": engine.expire_tokens()}
