"""HTTP face of the e-CNY operator (the simulator contract of formats-outbound §2.3).

    POST /ecny/v1/payments                    payment order -> ACCEPTED | REJECTED | DUPLICATE
    GET  /ecny/v1/payments/{outTradeNo}       status query (mirrors dcep.411/412)
    POST {notifyUrl}                          final-state notify, sent by the simulator
    GET  /admin/keys                          SM2 keys: the operator's, the callers'
    POST /admin/reconcile                     对账: presumed statuses become the truth, notified
    GET|PUT|POST /admin/notify                notify faults (late, duplicate, out of order)
    POST /admin/notify/{outTradeNo}/resend    the last notify again, same msgId
    + the shared /admin routes (faults, received, state, scenario, reset)

Every answer is JSON, signed with the operator's key over the request's method and path.
Refusals: 400 R005/R006/R007/R008 (the body), 401 R004 (the signature), 404 unknown order,
409 an id reused for another payment; business rejections are 200 with code REJECTED.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from simulators.common.admin import install, validation_errors
from simulators.common.callbacks import CallbackFaults
from simulators.common.clock import Clock, iso_seconds, now_cst
from simulators.ecny.channel import Channel, Refused
from simulators.ecny.crypto import OPERATOR_APP_ID, sign_headers
from simulators.ecny.engine import Conflict, Order, Submission
from simulators.ecny.models import BadOrder, parse_order

__all__ = ["create_app"]

PAYMENTS = "/ecny/v1/payments"
SIGNER_ID = "1234567812345678"


def create_app(seed: int = 0, *, clock: Clock = now_cst) -> FastAPI:
    """A fresh operator; `seed` gives the wallets, keys, ids and fault sequence."""
    channel = Channel(seed, clock)
    app = FastAPI(title="e-CNY operator simulator", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ecny = channel
    install(
        app,
        name="ecny",
        seed=seed,
        clock=clock,
        state=channel.state,
        reset=channel.reset,
        scenario=channel.apply,
    )

    def answer(request: Request, body: dict[str, Any], status: int = 200) -> Response:
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = sign_headers(
            channel.keys,
            app_id=OPERATOR_APP_ID,
            method=request.method,
            path=_signed_path(request),
            body=raw,
            timestamp=int(clock().timestamp()),
        )
        return Response(raw, status, headers=headers, media_type="application/json")

    def refusal(request: Request, refused: Refused) -> Response:
        channel.refused[refused.code] += 1
        body = {"code": "REJECTED", "prcSts": "PR01", "rjctCd": refused.code}
        return answer(request, {**body, "rjctInf": refused.info, "ecnyTxId": None}, refused.status)

    @app.post(PAYMENTS)
    async def pay(request: Request) -> Response:
        raw = await request.body()
        try:
            channel.check(request.method, _signed_path(request), request.headers, raw)
            order = parse_order(raw)
        except Refused as refused:
            return refusal(request, refused)
        except BadOrder as bad:
            return refusal(request, Refused(400, bad.code, bad.info))
        try:
            submission = channel.operator.submit(order, clock())
        except Conflict as conflict:
            return refusal(request, Refused(409, "R007", f"参数有误: {conflict.info}"))
        if submission.code == "ACCEPTED":
            channel.schedule_settlement(submission.order.out_trade_no)
        return answer(request, _sync_answer(submission))

    @app.get(PAYMENTS + "/{out_trade_no}")
    async def query(request: Request, out_trade_no: str) -> Response:
        try:
            channel.check(request.method, _signed_path(request), request.headers, b"")
        except Refused as refused:
            return refusal(request, refused)
        order = channel.operator.lookup(out_trade_no)
        if order is None:
            return refusal(request, Refused(404, "R007", f"参数有误: 原交易 {out_trade_no} 不存在"))
        return answer(request, _query_answer(order))

    _add_admin(app, channel)
    return app


def _add_admin(app: FastAPI, channel: Channel) -> None:
    @app.get("/admin/keys")
    async def keys() -> dict[str, Any]:
        return {
            "operator": {
                "app_id": OPERATOR_APP_ID,
                "sign_sn": channel.keys.public.sign_sn,
                "public_key_pem": channel.keys.public.pem,
            },
            "callers": [caller.to_json() for caller in channel.callers.values()],
            "verify_signatures": channel.verify,
            "signer_id": SIGNER_ID,
            "signing_string": "METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY",
        }

    @app.post("/admin/reconcile")
    async def reconcile() -> dict[str, Any]:
        return {"corrected": [order.to_json() for order in channel.reconcile()]}

    @app.get("/admin/notify")
    async def get_notify() -> dict[str, Any]:
        return {
            "settings": channel.notifier.faults.model_dump(mode="json"),
            "notifies": channel.notifier.summaries(),
        }

    @app.put("/admin/notify")
    @app.post("/admin/notify")
    async def set_notify(request: Request) -> Response:
        try:
            faults = CallbackFaults.model_validate_json(await request.body())
        except ValidationError as error:
            return JSONResponse({"errors": validation_errors(error)}, 422)
        channel.configure_notify(faults)
        return JSONResponse(faults.model_dump(mode="json"))

    @app.post("/admin/notify/{out_trade_no}/resend")
    async def resend(out_trade_no: str) -> Response:
        if not channel.resend_last_notify(out_trade_no):
            return JSONResponse({"error": f"no notify sent yet for {out_trade_no}"}, 404)
        return JSONResponse({"ok": True})


def _signed_path(request: Request) -> str:
    """The path as the client sent it (still percent-encoded), with its query if any."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else request.url.path
    query = request.scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def _sync_answer(submission: Submission) -> dict[str, Any]:
    order = submission.order
    return {
        "code": submission.code,
        "prcSts": order.prc_sts,
        "rjctCd": order.rjct_cd,
        "rjctInf": order.rjct_inf,
        "msgId": order.msg_id,
        "outTradeNo": order.out_trade_no,
        "ecnyTxId": order.ecny_tx_id,
        "amount": f"{order.amount:.2f}",
        "ccy": "CNY",
    }


def _query_answer(order: Order) -> dict[str, Any]:
    return {
        "code": "SUCCESS",
        "outTradeNo": order.out_trade_no,
        "msgId": order.msg_id,
        "ecnyTxId": order.ecny_tx_id,
        "prcSts": order.prc_sts,
        "prcCd": order.prc_cd,
        "rjctCd": order.rjct_cd,
        "rjctInf": order.rjct_inf,
        "amount": f"{order.amount:.2f}",
        "ccy": "CNY",
        "finishTime": iso_seconds(order.finish_time) if order.finish_time else None,
    }
