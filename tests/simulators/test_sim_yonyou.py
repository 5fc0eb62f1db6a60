"""The YonBIP simulator speaks the OpenAPI: signed tokens, sales invoices, envelopes, faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from simulators import yonyou
from simulators.common.clock import CST
from simulators.erp.dataset import STANDARD_CASES, generate_companies, generate_invoices
from tests.simulators.conftest import asgi_client

TOKEN = "/open-auth/selfAppAuth/getAccessToken"
INVOICE = "/yonbip/sd/vouchersaleinvoice"


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 30, tzinfo=CST)

    def __call__(self) -> datetime:
        return self.now


def _sign(secret: str, app_key: str, timestamp: str) -> str:
    """Written from the official page, independently of the simulator's own code."""
    text = f"appKey{app_key}timestamp{timestamp}"
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    ).decode()


async def _app_credentials(client: httpx.AsyncClient) -> dict[str, str]:
    return (await client.get("/admin/state")).json()["apps"][0]


async def _token_answer(
    client: httpx.AsyncClient, clock: MovableClock, *, path: str = TOKEN, secret: str | None = None
) -> httpx.Response:
    app = await _app_credentials(client)
    timestamp = str(int(clock().timestamp() * 1000))
    signature = _sign(secret or app["app_secret"], app["app_key"], timestamp)
    params = {"appKey": app["app_key"], "timestamp": timestamp, "signature": signature}
    return await client.get(path, params=params)


async def _token(client: httpx.AsyncClient, clock: MovableClock) -> str:
    answer = await _token_answer(client, clock)
    return answer.json()["data"]["access_token"]


def _yonyou_cases(seed: int, count: int = STANDARD_CASES) -> list[Any]:
    cases = generate_invoices(seed, count, generate_companies(seed))
    return [c for c in cases if c.vendor == "yonyou"]


def _new_invoice(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_status": "Insert",
        "orgId": "1234567890123456",
        "agentId": 2345678901234,
        "invAgentTaxNo": "91320505MA1MXXXX0X",
        "vouchdate": "2026-11-27 00:00:00",
        "invoiceType": "10",
        "currency_code": "CNY",
        "oriSum": "2260.00",
        "saleInvoiceDetails": [
            {"productCode": "P-1", "qty": 20, "taxRate": 13, "oriSum": 1130.00},
            {"productCode": "P-2", "qty": 10, "taxRate": 13, "oriSum": "1130.00"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def client(clock):
    async with asgi_client(yonyou.create_app(seed=3, clock=clock)) as http:
        yield http


async def test_a_correctly_signed_request_gets_a_two_hour_token_in_the_00000_envelope(
    client, clock
):
    answer = await _token_answer(client, clock)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["code"], body["message"], body["data"]["expire"]) == ("00000", "成功！", 7200)
    assert len(body["data"]["access_token"]) == 30
    tokens = (await client.get("/admin/state")).json()["tokens"]
    assert (tokens["issued"], tokens["active"]) == (1, 1)


async def test_a_wrong_signature_is_refused_and_issues_no_token(client, clock):
    answer = await _token_answer(client, clock, secret="not-the-secret")
    assert answer.json() == {"code": "10003", "message": "签名校验失败", "data": None}
    state = (await client.get("/admin/state")).json()["tokens"]
    assert (state["issued"], state["refused"]) == (0, {"10003": 1})


async def test_a_stale_timestamp_an_unknown_app_or_a_missing_parameter_is_refused(client, clock):
    app = await _app_credentials(client)
    stale = str(int((clock() - timedelta(hours=1)).timestamp() * 1000))
    params = {"appKey": app["app_key"], "timestamp": stale}
    params["signature"] = _sign(app["app_secret"], app["app_key"], stale)
    assert (await client.get(TOKEN, params=params)).json()["code"] == "10004"
    assert (await client.get(TOKEN, params={**params, "appKey": "nobody"})).json()[
        "code"
    ] == "10002"
    missing = await client.get(TOKEN, params={"appKey": app["app_key"]})
    assert missing.json() == {"code": "10001", "message": "参数timestamp不能为空", "data": None}


async def test_business_calls_need_a_token_and_an_expired_one_answers_401(client, clock):
    no_token = await client.post(f"{INVOICE}/list", json={})
    assert no_token.status_code == 401
    assert no_token.json() == {"code": "401", "message": "非法token", "data": None}
    token = await _token(client, clock)
    assert (await client.post(f"{INVOICE}/list?access_token={token}", json={})).status_code == 200
    clock.now += timedelta(seconds=7200)
    expired = await client.post(f"{INVOICE}/list", params={"access_token": token}, json={})
    assert (expired.status_code, expired.json()["message"]) == (401, "token已过期")


async def test_the_admin_can_expire_every_token_at_once(client, clock):
    token = await _token(client, clock)
    assert (await client.post("/admin/tokens/expire")).json() == {"expired": 1}
    answer = await client.get(f"{INVOICE}/detail", params={"id": "1", "access_token": token})
    assert answer.status_code == 401


async def test_v1_tokens_carry_characters_a_client_must_url_encode(client, clock):
    path = "/iuap-api-auth/open-auth/selfAppAuth/base/v1/getAccessToken"
    token = (await _token_answer(client, clock, path=path)).json()["data"]["access_token"]
    assert token.startswith("yht")
    assert len(token) > 60
    encoded = await client.post(f"{INVOICE}/list", params={"access_token": token}, json={})
    assert encoded.status_code == 200
    assert "+" in token  # seed 3's first v1 token: a raw '+' arrives as a space
    raw = await client.post(f"{INVOICE}/list?access_token={token}", json={})
    assert raw.status_code == 401


async def test_seeded_invoices_are_the_erp_datasets_yonyou_cases_for_the_seed(client, clock):
    token = await _token(client, clock)
    case = _yonyou_cases(3)[0]
    answer = await client.get(
        f"{INVOICE}/detail", params={"id": str(case.erp_id), "access_token": token}
    )
    body = answer.json()
    assert (body["code"], body["message"]) == (
        200,
        "操作成功",
    )  # a number, as the detail page shows
    data = body["data"]
    assert (data["id"], data["code"]) == (case.erp_id, case.document_no)
    assert data["invAgentTaxNo"] == case.buyer.uscc
    assert data["einvoiceHm"] == case.invoice.number
    assert (data["status"], data["businessState"]) == (1, 2)
    assert Decimal(answer.text.split('"oriSum":')[1].split(",")[0]) == case.invoice.total
    lines = data["saleInvoiceDetails"]
    assert [line["productCode"] for line in lines] == [ln.product_code for ln in case.invoice.lines]
    assert {line["orderNo"] for line in lines} == {case.order.number}


async def test_detail_of_an_unknown_id_answers_1002(client, clock):
    token = await _token(client, clock)
    answer = await client.get(f"{INVOICE}/detail", params={"id": "42", "access_token": token})
    assert answer.json() == {"code": "1002", "message": "数据不存在", "data": None}


async def test_save_creates_an_open_invoice_in_the_save_response_shape(client, clock):
    token = await _token(client, clock)
    answer = await client.post(
        f"{INVOICE}/save", params={"access_token": token}, json={"data": _new_invoice()}
    )
    body = answer.json()
    assert (body["code"], body["message"]) == ("200", "操作成功")
    saved = body["data"]
    assert isinstance(saved["id"], str)
    assert saved["code"].startswith("TI")
    assert len(saved["voucher_saleinvoicedetails"]) == 2
    assert "saleInvoiceDetails" not in saved
    assert (saved["status"], saved["businessState"], saved["oriSum"]) == (0, 1, 2260.00)
    assert saved["voucher_saleinvoicedetails"][0]["oriMoney"] == 1000.00
    detail = await client.get(
        f"{INVOICE}/detail", params={"id": saved["id"], "access_token": token}
    )
    assert detail.json()["data"]["saleInvoiceDetails"][1]["oriTax"] == 130.00
    invoices = (await client.get("/admin/state")).json()["invoices"]
    assert (invoices["saved"], invoices["save_calls"]) == (1, {"created": 1})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_new_invoice(orgId=""), "字段[orgId]不能为空"),
        (_new_invoice(oriSum="2000.00"), "表头[oriSum]与表体合计不一致: 2000.00 != 2260.00"),
        (_new_invoice(vouchdate="27/11/2026"), "字段[vouchdate]格式应为yyyy-MM-dd HH:mm:ss"),
        (_new_invoice(invoiceType="99"), "字段[invoiceType]取值非法: 99"),
        (_new_invoice(_status="Delete"), "_status取值非法: Delete"),
        (
            _new_invoice(saleInvoiceDetails=[{"qty": 1, "taxRate": 13, "oriSum": "1,130"}]),
            "字段[saleInvoiceDetails[0].oriSum]不是合法的数值",
        ),
    ],
)
async def test_a_bad_save_answers_999_naming_the_field(client, clock, data, message):
    token = await _token(client, clock)
    answer = await client.post(
        f"{INVOICE}/save", params={"access_token": token}, json={"data": data}
    )
    assert answer.status_code == 200
    assert answer.json() == {"code": "999", "message": message, "data": None}
    assert (await client.get("/admin/state")).json()["invoices"]["saved"] == 0


async def test_a_body_that_is_not_json_answers_999_in_the_envelope(client, clock):
    token = await _token(client, clock)
    answer = await client.post(
        f"{INVOICE}/save", params={"access_token": token}, content=b'{"data": NaN'
    )
    assert answer.json() == {"code": "999", "message": "请求体不是合法的JSON", "data": None}


async def test_a_save_whose_answer_was_lost_is_not_repeated_when_resubmitted_with_its_key(
    client, clock
):
    token = await _token(client, clock)
    body = {"data": _new_invoice(), "resubmitCheckKey": "hub-msg-0001"}
    await client.put("/admin/faults", json={"lose_answer_rate": 1, "paths": [f"{INVOICE}/save"]})
    lost = await client.post(f"{INVOICE}/save", params={"access_token": token}, json=body)
    assert (lost.status_code, lost.content) == (504, b"")
    await client.put("/admin/faults", json={})
    again = await client.post(f"{INVOICE}/save", params={"access_token": token}, json=body)
    assert again.json()["code"] == "200"
    invoices = (await client.get("/admin/state")).json()["invoices"]
    assert invoices["saved"] == 1
    assert invoices["save_calls"] == {"created": 1, "replayed": 1}
    assert [i["id"] for i in invoices["list"] if i["origin"] == "saved"] == [
        again.json()["data"]["id"]
    ]


async def test_an_injected_error_saves_nothing(client, clock):
    token = await _token(client, clock)
    await client.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
    answer = await client.post(
        f"{INVOICE}/save", params={"access_token": token}, json={"data": _new_invoice()}
    )
    assert answer.status_code == 503
    assert (await client.get("/admin/state")).json()["invoices"]["saved"] == 0


async def test_list_pages_through_every_invoice_and_filters_by_code_and_date(client, clock):
    token = await _token(client, clock)
    cases = _yonyou_cases(3)

    async def page(**query: Any) -> dict[str, Any]:
        answer = await client.post(f"{INVOICE}/list", params={"access_token": token}, json=query)
        body = answer.json()
        assert body["code"] == "200"
        return body["data"]

    first = await page(pageIndex=1, pageSize=8)
    pages = -(-len(cases) // 8)
    assert (first["recordCount"], first["pageCount"], first["pageIndex"]) == (len(cases), pages, 1)
    codes = []
    for index in range(1, pages + 1):
        codes += [r["code"] for r in (await page(pageIndex=index, pageSize=8))["recordList"]]
    assert sorted(codes) == sorted(c.document_no for c in cases)
    assert len(set(codes)) == len(cases)
    one = await page(code=cases[5].document_no, isSum=True)
    assert [r["code"] for r in one["recordList"]] == [cases[5].document_no]
    assert "saleInvoiceDetails" not in one["recordList"][0]
    day = f"{cases[0].invoice.issue_date} 00:00:00"
    dated = await page(open_vouchdate_begin=day, open_vouchdate_end=day, pageSize=50)
    expected = {c.document_no for c in cases if c.invoice.issue_date == cases[0].invoice.issue_date}
    assert {r["code"] for r in dated["recordList"]} == expected
    bad = await client.post(
        f"{INVOICE}/list", params={"access_token": token}, json={"pageSize": 501}
    )
    assert bad.json()["code"] == "999"


async def test_the_same_seed_gives_the_same_credentials_tokens_and_invoices():
    seen = []
    for seed in (5, 5, 6):
        clock = MovableClock()
        async with asgi_client(yonyou.create_app(seed=seed, clock=clock)) as http:
            state = (await http.get("/admin/state")).json()
            token = await _token(http, clock)
            seen.append((state["apps"], token, state["invoices"]["list"]))
    assert seen[0] == seen[1]
    assert seen[0][0] != seen[2][0]
    assert seen[0][2] != seen[2][2]


async def test_a_scenario_sets_apps_ttl_and_invoice_count_and_rejects_bad_fields(client, clock):
    section = {
        "invoices": 8,
        "token_ttl_s": 60,
        "detail_code_as_number": False,
        "apps": [{"app_key": "qa-app", "app_secret": "c2VjcmV0LXNlY3JldA", "tenant_id": "t1"}],
    }
    assert (await client.post("/admin/scenario", json=section)).status_code == 200
    token_answer = await _token_answer(client, clock)
    assert token_answer.json()["data"]["expire"] == 60
    token = token_answer.json()["data"]["access_token"]
    listed = await client.post(f"{INVOICE}/list", params={"access_token": token}, json={})
    assert listed.json()["data"]["recordCount"] == len(_yonyou_cases(0, 8))
    first = listed.json()["data"]["recordList"][0]["id"]
    detail = await client.get(f"{INVOICE}/detail", params={"id": first, "access_token": token})
    assert detail.json()["code"] == "200"
    gateway = await client.get("/open-auth/dataCenter/getGatewayAddress", params={"tenantId": "t1"})
    assert gateway.json()["data"]["tokenUrl"] == "http://sim.test"
    bad = await client.post("/admin/scenario", json={"token_ttl_s": 0, "colour": "red"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"token_ttl_s", "colour"}
    unknown = await client.post("/admin/scenario", json={"anomalies": {"cosmic_rays": 0.1}})
    assert "unknown anomaly" in unknown.json()["errors"][0]["reason"]


async def test_reset_forgets_tokens_and_saved_invoices(client, clock):
    token = await _token(client, clock)
    await client.post(
        f"{INVOICE}/save", params={"access_token": token}, json={"data": _new_invoice()}
    )
    await client.post("/admin/reset")
    state = (await client.get("/admin/state")).json()
    assert (state["tokens"]["issued"], state["invoices"]["saved"]) == (0, 0)
    assert state["invoices"]["seeded"] == len(_yonyou_cases(0))


async def test_an_update_changes_an_open_invoice_but_not_an_approved_one(client, clock):
    token = await _token(client, clock)
    params = {"access_token": token}
    saved = await client.post(f"{INVOICE}/save", params=params, json={"data": _new_invoice()})
    invoice_id = saved.json()["data"]["id"]
    lines = [{"productCode": "P-1", "qty": 1, "taxRate": 13, "oriSum": "113.00"}]
    update = _new_invoice(_status="Update", id=invoice_id, oriSum=None, saleInvoiceDetails=lines)
    updated = await client.post(f"{INVOICE}/save", params=params, json={"data": update})
    assert (updated.json()["data"]["id"], updated.json()["data"]["oriSum"]) == (invoice_id, 113.00)
    await client.post(f"/admin/invoices/{invoice_id}/approve")
    refused = await client.post(f"{INVOICE}/save", params=params, json={"data": update})
    assert refused.json()["code"] == "999"
    assert "已审核" in refused.json()["message"]
    calls = (await client.get("/admin/state")).json()["invoices"]["save_calls"]
    assert calls == {"created": 1, "updated": 1, "rejected": 1}
