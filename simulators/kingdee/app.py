"""HTTP face of the Kingdee K/3 Cloud WebAPI simulator (formats-inbound.md §2).

    POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc
    POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginByAppSecret.common.kdsvc
    POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginBySign.common.kdsvc
    POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.Save.common.kdsvc
    POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.View.common.kdsvc
    POST /k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc
    POST /admin/sessions/expire   (plus the shared /admin API)

The `k3cloud` root is case-insensitive (`/K3Cloud/...` too). Business calls need a session
(cookie or header `kdservice-sessionid`) or signed `X-Kd-*` headers; without, they get the
"会话信息已丢失" envelope with MsgCode 1.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from simulators.common.admin import install
from simulators.common.clock import Clock, now_cst
from simulators.kingdee.auth import LCIDS, LOCALE_NAMES, LoginOutcome
from simulators.kingdee.engine import KingdeeSim
from simulators.kingdee.envelope import (
    CONTEXT_LOST,
    BadRequest,
    MsgCode,
    failure,
    json_answer,
    read_call,
    read_json,
    success_status,
)
from simulators.kingdee.forms import FormSpec, find_form
from simulators.kingdee.query import QueryError, Resolver, run_query
from simulators.kingdee.store import Bill
from simulators.kingdee.view import render_view

__all__ = ["create_app"]

STUB = "kingdee.bos.webapi.servicesstub."
SUFFIX = ".common.kdsvc"
SESSION_COOKIE = "kdservice-sessionid"

Handler = Callable[[KingdeeSim, Request, bytes], Awaitable[Response]]


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh K/3 Cloud data centre whose bills, credentials and session ids follow `seed`."""
    sim = KingdeeSim(seed, clock)
    app = FastAPI(
        title="Kingdee K/3 Cloud simulator", openapi_url=None, docs_url=None, redoc_url=None
    )
    app.state.kingdee = sim
    install(
        app,
        name="kingdee",
        seed=seed,
        clock=clock,
        state=sim.state,
        reset=sim.reset,
        scenario=sim.apply,
    )

    @app.post("/admin/sessions/expire")
    async def expire_sessions() -> dict[str, int]:
        """Every open session is lost at once: the next business call gets MsgCode 1."""
        return {"expired": sim.auth.expire_all()}

    @app.post("/{root}/{service}")
    async def service(root: str, service: str, request: Request) -> Response:
        name = service.lower()
        handler = HANDLERS.get(name[len(STUB) : -len(SUFFIX)]) if _is_service(root, name) else None
        if handler is None:
            return json_answer({"error": f"unknown service {service}"}, 404)
        return await handler(sim, request, await request.body())

    return app


def _is_service(root: str, name: str) -> bool:
    return root.lower() == "k3cloud" and name.startswith(STUB) and name.endswith(SUFFIX)


# -- logins --------------------------------------------------------------------------------------


def _login_args(body: bytes, names: Sequence[str]) -> dict[str, str]:
    payload = read_json(body)
    values: dict[str, Any] = {}
    if isinstance(payload, Mapping):
        lowered = {str(k).lower(): v for k, v in payload.items()}
        if isinstance(lowered.get("parameters"), list):
            values = dict(zip(names, lowered["parameters"], strict=False))
        else:
            values = {n: lowered.get(n) for n in names}
    elif isinstance(payload, list):
        values = dict(zip(names, payload, strict=False))
    return {n: "" if values.get(n) is None else str(values[n]).strip() for n in names}


def _lcid(text: str) -> int:
    return int(text) if text.isdigit() and int(text) in LCIDS else 2052


def _login_answer(sim: KingdeeSim, outcome: LoginOutcome) -> Response:
    session = outcome.session
    body: dict[str, Any] = {
        "Message": outcome.message or None,
        "MessageCode": "CheckPasswordPolicy" if outcome.ok else None,
        "LoginResultType": 1 if outcome.ok else 0,
        "Context": None,
        "KDSVCSessionId": session.session_id if session else None,
        "FormId": None,
        "RedirectFormParam": None,
        "FormInputObject": None,
        "ErrorStackTrace": None,
        "Lcid": 0,
        "AccessToken": None,
        "KdAccessResult": None,
        "IsSuccessByAPI": outcome.ok,
    }
    if session is None:
        return json_answer(body)
    body["Context"] = {
        "UserLocale": LCIDS[session.lcid],
        "LogLocale": LCIDS[session.lcid],
        "DBid": sim.auth.credentials.acct_id,
        "DatabaseType": 3,
        "SessionId": session.session_id,
        "UseLanguages": [{"LocaleId": session.lcid, "LocaleName": LOCALE_NAMES[session.lcid]}],
        "UserId": 100_000 + sum(map(ord, session.username)),
        "UserName": session.username,
        "CustomName": "FactorHub 模拟数据中心",
        "DisplayVersion": "8.1.0.20230713",
        "DataCenterName": "FactorHub 模拟数据中心",
        "ClientType": 32,
    }
    response = json_answer(body)
    response.set_cookie(SESSION_COOKIE, session.session_id, path="/", httponly=True)
    return response


async def _validate_user(sim: KingdeeSim, _: Request, body: bytes) -> Response:
    a = _login_args(body, ("acctid", "username", "password", "lcid"))
    outcome = sim.auth.validate_user(a["acctid"], a["username"], a["password"], _lcid(a["lcid"]))
    return _login_answer(sim, outcome)


async def _login_by_app_secret(sim: KingdeeSim, _: Request, body: bytes) -> Response:
    a = _login_args(body, ("acctid", "username", "appid", "appsecret", "lcid"))
    outcome = sim.auth.login_by_app_secret(
        a["acctid"], a["username"], a["appid"], a["appsecret"], _lcid(a["lcid"])
    )
    return _login_answer(sim, outcome)


async def _login_by_sign(sim: KingdeeSim, _: Request, body: bytes) -> Response:
    a = _login_args(body, ("acctid", "username", "appid", "timestamp", "sign", "lcid"))
    outcome = sim.auth.login_by_sign(
        a["acctid"], a["username"], a["appid"], a["timestamp"], a["sign"], _lcid(a["lcid"])
    )
    return _login_answer(sim, outcome)


# -- business calls ------------------------------------------------------------------------------


def _authenticate(sim: KingdeeSim, request: Request) -> int:
    """The caller's lcid; raises the "session lost" failure when the call is not authenticated."""
    session_id = request.cookies.get(SESSION_COOKIE) or request.headers.get(SESSION_COOKIE)
    session = sim.auth.session(session_id)
    if session is not None:
        return session.lcid
    try:
        user = sim.auth.signed_headers(request.headers)
    except ValueError as error:
        sim.counts["unauthenticated"] += 1
        raise BadRequest.one(MsgCode.CONTEXT_LOST, str(error)) from error
    if user is None:
        sim.counts["unauthenticated"] += 1
        raise BadRequest.one(MsgCode.CONTEXT_LOST, CONTEXT_LOST)
    return 2052


def _form(form_id: str) -> FormSpec:
    if not form_id:
        raise BadRequest.one(MsgCode.EMPTY_FORM_ID, "FormId不能为空", "FormId")
    form = find_form(form_id)
    if form is None:
        raise BadRequest.one(MsgCode.NOT_EXIST, f"业务对象“{form_id}”不存在", "FormId")
    return form


async def _save(sim: KingdeeSim, request: Request, body: bytes) -> Response:
    try:
        _authenticate(sim, request)
        call = read_call(body)
        bill, _ = sim.store.save(_form(call.form_id), call.data)
    except BadRequest as error:
        if error.code != MsgCode.CONTEXT_LOST:
            sim.counts["save_failures"] += 1
        return json_answer(failure(error), error.http_status)
    entity = {"Id": bill.id, "Number": bill.number, "DIndex": 0}
    return json_answer(
        {
            "Result": {
                "ResponseStatus": success_status([entity]),
                "Id": bill.id,
                "Number": bill.number,
                "NeedReturnData": [_need_return(bill, call.data)],
            }
        }
    )


def _need_return(bill: Bill, data: Mapping[str, Any]) -> dict[str, Any]:
    """`NeedReturnFields` such as `["FID", "FBillNo", "FSALESICENTRY.FEntryID"]`."""
    asked = next((v for k, v in data.items() if k.lower() == "needreturnfields"), None)
    out: dict[str, Any] = {}
    keys = bill.form.canonical
    for item in asked if isinstance(asked, list) else []:
        head, _, child = str(item).partition(".")
        found = keys.get(head.upper())
        if found is None:
            continue
        name = found[0]
        if name in bill.form.entities:
            rows = bill.model.get(name) or []
            sub = next((c for c in bill.form.entities[name] if c.upper() == child.upper()), None)
            out[name] = [{sub: r.get(sub)} for r in rows] if sub else rows
        elif found[1] is None:
            out[name] = bill.model.get(name)
    return out


async def _view(sim: KingdeeSim, request: Request, body: bytes) -> Response:
    try:
        lcid = _authenticate(sim, request)
        call = read_call(body)
        form = _form(call.form_id)
        args = {k.lower(): v for k, v in call.data.items()}
        number, raw_id = str(args.get("number") or "").strip(), str(args.get("id") or "").strip()
        if not number and not raw_id:
            raise BadRequest.one(MsgCode.PARAMETER_ERROR, "Number和Id不能同时为空", "Number")
        bill_id = int(raw_id) if raw_id.isdigit() else None
        if raw_id and bill_id is None:
            raise BadRequest.one(MsgCode.PARAMETER_ERROR, f"Id“{raw_id}”不是有效的单据内码", "Id")
        bill = sim.store.find(form, bill_id=bill_id, number=number)
        sim.log(
            "views",
            {"form_id": form.form_id, "number": number, "id": raw_id, "found": bill is not None},
        )
        if bill is None:
            raise BadRequest.one(
                MsgCode.NO_DATA, f"{form.label}“{number or raw_id}”不存在或已被删除"
            )
    except BadRequest as error:
        return json_answer(failure(error), error.http_status)
    status = success_status()
    return json_answer(
        {"Result": {"ResponseStatus": status, "Result": render_view(bill, sim.base, lcid)}}
    )


async def _execute_bill_query(sim: KingdeeSim, request: Request, body: bytes) -> Response:
    entry: dict[str, Any] = {"form_id": None, "field_keys": None, "filter": None}
    try:
        _authenticate(sim, request)
        call = read_call(body, form_in_data=True)
        form = _form(call.form_id)
        args = {k.lower(): v for k, v in call.data.items()}
        entry.update(
            form_id=form.form_id, field_keys=args.get("fieldkeys"), filter=args.get("filterstring")
        )
        try:
            rows = run_query(
                sim.store.of_form(form), Resolver(form, sim.base), call.data, sim.query_limit
            )
        except QueryError as error:
            # An unknown field key is a server exception in K/3 Cloud: HTTP 500 (§2.8).
            status = (
                500
                if error.field not in {None, "FieldKeys", "OrderString", "FilterString"}
                else 200
            )
            code = MsgCode.NOT_EXIST if status == 500 else MsgCode.PARAMETER_ERROR
            raise BadRequest.one(code, error.message, error.field, http_status=status) from error
    except BadRequest as error:
        sim.log("queries", {**entry, "ok": False, "error": error.errors[0].message})
        answer: Any = failure(error)
        if sim.query_errors == "wrapped":
            answer = [[answer]]
        return json_answer(answer, error.http_status)
    sim.log("queries", {**entry, "ok": True, "rows": len(rows)})
    return json_answer(rows)


HANDLERS: dict[str, Handler] = {
    "authservice.validateuser": _validate_user,
    "authservice.loginbyappsecret": _login_by_app_secret,
    "authservice.loginbysign": _login_by_sign,
    "dynamicformservice.save": _save,
    "dynamicformservice.view": _view,
    "dynamicformservice.executebillquery": _execute_bill_query,
}
