"""The Kingdee K/3 Cloud simulator speaks the WebAPI: logins, Save / View / ExecuteBillQuery."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from simulators import kingdee, runner
from simulators.common.clock import CST
from simulators.erp.dataset import STANDARD_CASES, generate_companies, generate_invoices
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client

STUB = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub."
LOGIN = f"{STUB}AuthService.ValidateUser.common.kdsvc"
BY_SECRET = f"{STUB}AuthService.LoginByAppSecret.common.kdsvc"
BY_SIGN = f"{STUB}AuthService.LoginBySign.common.kdsvc"
SAVE = f"{STUB}DynamicFormService.Save.common.kdsvc"
VIEW = f"{STUB}DynamicFormService.View.common.kdsvc"
QUERY = f"{STUB}DynamicFormService.ExecuteBillQuery.common.kdsvc"

# Golden values of the official Python SDK 8.2.0 (per-request signed headers).
GOLDEN_APP = {
    "app_id": "123456_YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4",
    "app_secret": "test-app-secret-value",
    "username": "user-1",
}
GOLDEN_HEADERS = {
    "X-Api-ClientID": "123456",
    "X-Kd-Appkey": "123456_YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4",
    "X-Kd-Appdata": "ZGNpZC0xLHVzZXItMSwyMDUyLDEwMA==",
    "X-Kd-Signature": (
        "NjI5MzRiZGVhNGJhOWY2N2Y2YzQ2MzQ5ODA3N2JiZTRiMDRmOTUwNjI3YWIzODU1ODBkZDdhNzgwMzdmMDgxMg=="
    ),
}
GOLDEN_CREDENTIALS = {
    "acct_id": "dcid-1",
    "users": [{"username": "user-1", "password": "pw-1"}],
    "apps": [GOLDEN_APP],
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 9, 30, tzinfo=CST)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(kingdee.create_app(seed=3, clock=clock)) as c:
        yield c


async def _state(client: httpx.AsyncClient) -> dict[str, Any]:
    state: dict[str, Any] = (await client.get("/admin/state")).json()
    return state


async def _login(client: httpx.AsyncClient) -> str:
    creds = (await _state(client))["credentials"]
    user = creds["users"][0]
    body = {
        "acctid": creds["acct_id"],
        "username": user["username"],
        "password": user["password"],
        "lcid": 2052,
    }
    answer = (await client.post(LOGIN, json=body)).json()
    assert answer["LoginResultType"] == 1, answer
    return str(answer["KDSVCSessionId"])


async def _query(client: httpx.AsyncClient, **data: Any) -> httpx.Response:
    return await client.post(QUERY, json={"data": data})


def _status(answer: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = answer["Result"]["ResponseStatus"]
    return status


def _invoice(**overrides: Any) -> dict[str, Any]:
    companies = generate_companies(3)
    model: dict[str, Any] = {
        "FBillTypeID": {"FNUMBER": "XSZZSZYFP01_SYS"},
        "FDATE": "2026-11-20",
        "FSETTLEORGID": {"FNumber": companies.sellers[0].kingdee_org_number},
        "FCUSTOMERID": {"FNumber": companies.buyers[0].kingdee_customer_number},
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FIVNUMBER": "26321000000000000001",
        "FAFTERTOTALTAXFOR": 1130.0,
        "FSALESICENTRY": [
            {"FMATERIALID": {"FNumber": "M0007"}, "FPRICEQTY": 2, "FALLAMOUNTFOR": 1130.0}
        ],
    }
    model.update(overrides)
    return model


# -- logins ----------------------------------------------------------------------------------------


async def test_validate_user_opens_a_session_carried_by_cookie_or_header(client):
    session_id = await _login(client)
    assert client.cookies["kdservice-sessionid"] == session_id
    rows = (await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo")).json()
    assert rows
    assert all(r[0].startswith("XSZP") for r in rows)
    client.cookies.clear()
    by_header = await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo")
    assert by_header.json() != rows  # the session-lost envelope
    headers = {"kdservice-sessionid": session_id}
    again = await client.post(
        QUERY, json={"data": {"FormId": "IV_SALESIC", "FieldKeys": "FBillNo"}}, headers=headers
    )
    assert again.json() == rows


async def test_native_positional_login_works_and_a_wrong_password_is_refused(client):
    creds = (await _state(client))["credentials"]
    user = creds["users"][0]
    native: dict[str, Any] = {
        "format": 1,
        "useragent": "ApiClient",
        "rid": "1",
        "v": "1.0",
        "parameters": [creds["acct_id"], user["username"], user["password"], 2052],
    }
    assert (await client.post(LOGIN, json=native)).json()["LoginResultType"] == 1
    native["parameters"][2] = "wrong"
    refused = (await client.post(LOGIN, json=native)).json()
    assert refused["LoginResultType"] == 0
    assert refused["KDSVCSessionId"] is None
    assert "密码错误" in refused["Message"]
    logins = (await _state(client))["logins"]
    assert [(entry["style"], entry["ok"]) for entry in logins] == [
        ("ValidateUser", True),
        ("ValidateUser", False),
    ]


async def test_login_by_app_secret_and_by_sign_open_sessions(client):
    creds = (await _state(client))["credentials"]
    app = creds["apps"][0]
    by_secret = {
        "acctID": creds["acct_id"],
        "userName": app["username"],
        "appId": app["app_id"],
        "appSecret": app["app_secret"],
        "lcid": 2052,
    }
    assert (await client.post(BY_SECRET, json=by_secret)).json()["LoginResultType"] == 1
    by_secret["appSecret"] = "nope"
    assert (await client.post(BY_SECRET, json=by_secret)).json()["LoginResultType"] == 0

    timestamp = "1763600000"
    parts = sorted([creds["acct_id"], app["username"], app["app_id"], app["app_secret"], timestamp])
    sign = hashlib.sha256("".join(parts).encode()).hexdigest()
    params = [creds["acct_id"], app["username"], app["app_id"], timestamp, sign, 2052]
    answer = (await client.post(BY_SIGN, json={"parameters": params})).json()
    assert answer["LoginResultType"] == 1
    assert answer["Context"]["DBid"] == creds["acct_id"]
    params[4] = hashlib.sha1("".join(parts).encode()).hexdigest()
    assert (await client.post(BY_SIGN, json={"parameters": params})).json()["LoginResultType"] == 0
    await client.post("/admin/scenario", json={"login_sign_algorithm": "sha1"})
    assert (await client.post(BY_SIGN, json={"parameters": params})).json()["LoginResultType"] == 1


async def test_signed_headers_of_the_official_sdk_authenticate_each_call(client):
    ok = await client.post("/admin/scenario", json={"credentials": GOLDEN_CREDENTIALS})
    assert ok.status_code == 200, ok.text
    body = {"data": {"FormId": "SAL_SaleOrder", "FieldKeys": "FBillNo", "Limit": 3}}
    rows = (await client.post(QUERY, json=body, headers=GOLDEN_HEADERS)).json()
    assert len(rows) == 3
    assert rows[0][0].startswith("XSDD")
    tampered = {
        **GOLDEN_HEADERS,
        "X-Kd-Appdata": base64.b64encode(b"dcid-1,user-2,2052,100").decode(),
    }
    refused = (await client.post(QUERY, json=body, headers=tampered)).json()
    assert refused[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 1
    wrong = {**GOLDEN_HEADERS, "X-Kd-Signature": base64.b64encode(b"0" * 64).decode()}
    refused = (await client.post(QUERY, json=body, headers=wrong)).json()
    assert "签名错误" in refused[0][0]["Result"]["ResponseStatus"]["Errors"][0]["Message"]


async def test_calls_without_a_session_get_the_session_lost_envelope(client):
    saved = (
        await client.post(SAVE, json={"formid": "IV_SALESIC", "data": {"Model": _invoice()}})
    ).json()
    assert saved == {
        "Result": {
            "ResponseStatus": {
                "ErrorCode": 500,
                "IsSuccess": False,
                "Errors": [
                    {"FieldName": None, "Message": "会话信息已丢失，请重新登录", "DIndex": 0}
                ],
                "SuccessEntitys": [],
                "SuccessMessages": [],
                "MsgCode": 1,
            }
        }
    }
    viewed = (
        await client.post(VIEW, json={"formid": "IV_SALESIC", "data": {"Number": "X"}})
    ).json()
    assert _status(viewed)["MsgCode"] == 1
    queried = await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo")
    assert queried.status_code == 200
    assert queried.json()[0][0] == saved
    state = await _state(client)
    assert state["counts"]["unauthenticated"] == 3
    assert state["bills"]["IV_SALESIC"]["saved"] == 0


async def test_an_idle_or_expired_session_is_lost(client, clock):
    await _login(client)
    clock.now += timedelta(minutes=19)
    assert isinstance(
        (await _query(client, FormId="AR_receivable", FieldKeys="FBillNo")).json()[0][0], str
    )
    clock.now += timedelta(minutes=21)
    lost = (await _query(client, FormId="AR_receivable", FieldKeys="FBillNo")).json()
    assert lost[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 1
    await _login(client)
    assert (await client.post("/admin/sessions/expire")).json() == {"expired": 1}
    lost = (await _query(client, FormId="AR_receivable", FieldKeys="FBillNo")).json()
    assert lost[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 1


def _kingdee_cases(seed: int) -> int:
    cases = generate_invoices(seed, STANDARD_CASES, generate_companies(seed))
    return sum(c.vendor == "kingdee" for c in cases)


# -- seeded data -----------------------------------------------------------------------------------


async def test_seeded_bills_tell_the_dataset_story(client):
    await _login(client)
    cases = [
        c
        for c in generate_invoices(3, STANDARD_CASES, generate_companies(3))
        if c.vendor == "kingdee"
    ]
    case = cases[0]
    form = "IV_SALESIC" if case.invoice.kind == "special" else "IV_SALESOC"
    keys = "FBillNo,FIVNUMBER,FCUSTOMERID.FNumber,FAFTERTOTALTAXFOR,FSRCBILLNO"
    rows = (
        await _query(
            client, FormId=form, FieldKeys=keys, FilterString=f"FBillNo='{case.document_no}'"
        )
    ).json()
    assert rows[0][:4] == [
        case.document_no,
        case.invoice.number,
        case.buyer.kingdee_customer_number,
        float(case.invoice.total),
    ]
    assert {r[4] for r in rows} == {case.order.number}
    order = (
        await client.post(
            VIEW, json={"formid": "SAL_SaleOrder", "data": {"Number": case.order.number}}
        )
    ).json()
    assert order["Result"]["Result"]["CustId"]["Number"] == case.buyer.kingdee_customer_number
    assert len(order["Result"]["Result"]["SaleOrderEntry"]) == len(case.order.lines)
    ar = (
        await _query(
            client,
            FormId="AR_RECEIVABLE",
            FieldKeys="FBillNo,FENDDATE_H,FALLAMOUNTFOR,FPAYAMOUNTFOR",
            FilterString=f"FBillNo='{case.receivable_no}'",
        )
    ).json()
    assert ar == [
        [
            case.receivable_no,
            f"{case.due_date}T00:00:00",
            float(case.invoice.total),
            float(case.invoice.total),
        ]
    ]
    counts = (await _state(client))["bills"]
    assert counts["SAL_SaleOrder"]["seeded"] == counts["AR_receivable"]["seeded"] == len(cases)


async def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    answers = []
    for seed in (5, 5, 6):
        app = kingdee.create_app(seed=seed)
        async with asgi_client(app) as c:
            session_id = await _login(c)
            rows = (
                await _query(
                    c,
                    FormId="AR_receivable",
                    FieldKeys="FID,FBillNo,FALLAMOUNTFOR,FEntityDetail_FEntryID",
                )
            ).text
            answers.append((session_id, (await _state(c))["credentials"], rows))
    assert answers[0] == answers[1]
    assert answers[0][2] != answers[2][2]
    assert answers[0][1] != answers[2][1]


async def test_view_answers_orm_names_base_data_objects_and_dates(client):
    await _login(client)
    number = (await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo", Limit=1)).json()[0][0]
    answer = (
        await client.post(
            VIEW,
            json={
                "parameters": [
                    "IV_SALESIC",
                    json.dumps({"CreateOrgId": 0, "Number": number, "Id": ""}),
                ]
            },
        )
    ).json()
    assert _status(answer)["IsSuccess"] is True
    doc = answer["Result"]["Result"]
    assert doc["BillNo"] == number
    assert isinstance(doc["Id"], int)
    assert doc["DOCUMENTSTATUS"] == "C"
    assert doc["CUSTOMERID"]["Name"][0]["Key"] == 2052
    assert doc["CUSTOMERID_Id"] == doc["CUSTOMERID"]["Id"]
    assert doc["DATE"].endswith("T00:00:00")
    assert doc["SALESICENTRY"][0]["Seq"] == 1
    assert doc["SALESICENTRY"][0]["MATERIALID"]["Number"]
    by_id = (
        await client.post(VIEW, json={"formid": "IV_SALESIC", "data": {"Id": str(doc["Id"])}})
    ).json()
    assert by_id["Result"]["Result"] == doc
    missing = (
        await client.post(VIEW, json={"formid": "IV_SALESIC", "data": {"Number": "NOPE"}})
    ).json()
    assert _status(missing)["MsgCode"] == 10
    assert _status(missing)["IsSuccess"] is False


# -- Save ------------------------------------------------------------------------------------------


async def test_save_stores_a_bill_that_view_and_query_then_answer(client):
    await _login(client)
    data = {"NeedReturnFields": ["FID", "FBillNo", "FSALESICENTRY.FEntryID"], "Model": _invoice()}
    answer = (
        await client.post(SAVE, json={"formid": "IV_SALESIC", "data": json.dumps(data)})
    ).json()
    status = _status(answer)
    assert status["IsSuccess"] is True
    assert status["MsgCode"] == 0
    bill_id, number = answer["Result"]["Id"], answer["Result"]["Number"]
    assert status["SuccessEntitys"] == [{"Id": bill_id, "Number": number, "DIndex": 0}]
    assert number.startswith("XSZP2611")
    returned = answer["Result"]["NeedReturnData"][0]
    assert returned["FID"] == bill_id
    assert returned["FBillNo"] == number
    assert isinstance(returned["FSALESICENTRY"][0]["FEntryID"], int)
    view = (
        await client.post(VIEW, json={"formid": "IV_SALESIC", "data": {"Number": number}})
    ).json()
    assert view["Result"]["Result"]["DOCUMENTSTATUS"] == "A"
    assert view["Result"]["Result"]["AFTERTOTALTAXFOR"] == 1130.0
    rows = (
        await _query(
            client,
            FormId="IV_SALESIC",
            FieldKeys="FBillNo,FDocumentStatus,FPRICEQTY",
            FilterString="FDocumentStatus='A'",
        )
    ).json()
    assert rows == [[number, "A", 2]]
    state = await _state(client)
    assert [(s["form_id"], s["number"], s["created"]) for s in state["saved"]] == [
        ("IV_SALESIC", number, True)
    ]


async def test_save_answers_every_missing_required_field_in_the_real_shape(client):
    await _login(client)
    model = _invoice(FCUSTOMERID={}, FSALESICENTRY=[{"FPRICEQTY": 1}])
    del model["FDATE"]
    answer = (
        await client.post(SAVE, json={"formid": "IV_SALESIC", "data": {"Model": model}})
    ).json()
    status = _status(answer)
    assert (status["IsSuccess"], status["ErrorCode"], status["MsgCode"]) == (False, 500, 11)
    assert {e["FieldName"] for e in status["Errors"]} == {"FDATE", "FCUSTOMERID", "FMATERIALID"}
    assert all("必填项" in e["Message"] and e["DIndex"] == 0 for e in status["Errors"])
    assert (await _state(client))["counts"]["save_failures"] == 1


@pytest.mark.parametrize(
    ("form", "model", "code", "field"),
    [
        ("IV_SALESIC", _invoice(FCUSTOMERID={"FNumber": "CUST-NOPE"}), 11, "FCUSTOMERID"),
        ("IV_SALESIC", _invoice(FNOSUCHFIELD=1), 9, "FNOSUCHFIELD"),
        ("IV_SALESIC", _invoice(FSALESICENTRY=[]), 11, "FSALESICENTRY"),
        ("NO_SUCH_FORM", _invoice(), 9, "FormId"),
        ("", _invoice(), 5, "FormId"),
    ],
)
async def test_save_refuses_what_k3cloud_refuses(client, form, model, code, field):
    await _login(client)
    answer = (await client.post(SAVE, json={"formid": form, "data": {"Model": model}})).json()
    status = _status(answer)
    assert (status["IsSuccess"], status["MsgCode"]) == (False, code)
    assert status["Errors"][0]["FieldName"] == field


async def test_a_receivable_plan_must_add_up_to_the_total(client):
    companies = generate_companies(3)
    model: dict[str, Any] = {
        "FBillTypeID": {"FNumber": "YSD01_SYS"},
        "FDATE": "2026-11-20",
        "FENDDATE_H": "2027-02-18",
        "FCUSTOMERID": {"FNumber": companies.buyers[1].kingdee_customer_number},
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FSETTLEORGID": {"FNumber": companies.sellers[1].kingdee_org_number},
        "FALLAMOUNTFOR": 1000.00,
        "FEntityDetail": [{"FMATERIALID": {"FNumber": "S0001"}, "FALLAMOUNTFOR_D": 1000.00}],
        "FEntityPlan": [{"FENDDATE": "2027-02-18", "FPAYAMOUNTFOR": 999.99}],
    }
    await _login(client)
    refused = (
        await client.post(SAVE, json={"formid": "AR_receivable", "data": {"Model": model}})
    ).json()
    assert _status(refused)["Errors"][0]["Message"] == "整单收款计划应收金额合计不等于整单价税合计"
    model["FEntityPlan"][0]["FPAYAMOUNTFOR"] = 1000.0
    saved = (
        await client.post(SAVE, json={"formid": "AR_receivable", "data": {"Model": model}})
    ).json()
    assert _status(saved)["IsSuccess"] is True
    assert saved["Result"]["Number"].startswith("AR2611")


async def test_an_audited_bill_cannot_be_modified_but_a_new_one_can(client):
    await _login(client)
    seeded_id = (await _query(client, FormId="SAL_SaleOrder", FieldKeys="FID", Limit=1)).json()[0][
        0
    ]
    refused = (
        await client.post(
            SAVE,
            json={"formid": "SAL_SaleOrder", "data": {"Model": {"FID": seeded_id, "FNote": "x"}}},
        )
    ).json()
    assert _status(refused)["MsgCode"] == 12
    first = (
        await client.post(
            SAVE, json={"formid": "IV_SALESIC", "data": {"Model": _invoice(FBillNo="MY-0001")}}
        )
    ).json()
    bill_id = first["Result"]["Id"]
    duplicate = (
        await client.post(
            SAVE, json={"formid": "IV_SALESIC", "data": {"Model": _invoice(FBillNo="MY-0001")}}
        )
    ).json()
    assert "已经存在" in _status(duplicate)["Errors"][0]["Message"]
    update = {
        "NeedUpDateFields": ["FIVNUMBER"],
        "Model": {"FID": bill_id, "FIVNUMBER": "26321000000000000099"},
    }
    changed = (await client.post(SAVE, json={"formid": "IV_SALESIC", "data": update})).json()
    assert (changed["Result"]["Id"], changed["Result"]["Number"]) == (bill_id, "MY-0001")
    rows = (
        await _query(
            client,
            FormId="IV_SALESIC",
            FieldKeys="FIVNUMBER,FPRICEQTY",
            FilterString="FBillNo='MY-0001'",
        )
    ).json()
    assert rows == [["26321000000000000099", 2]]
    assert [s["created"] for s in (await _state(client))["saved"]] == [True, False]
    unknown = (
        await client.post(SAVE, json={"formid": "IV_SALESIC", "data": {"Model": {"FID": 1}}})
    ).json()
    assert _status(unknown)["MsgCode"] == 10


# -- ExecuteBillQuery ------------------------------------------------------------------------------


async def test_an_unknown_field_key_is_an_http_500_with_the_metadata_error(client):
    await _login(client)
    answer = await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo,FNOPE.FNumber")
    assert answer.status_code == 500
    status = answer.json()[0][0]["Result"]["ResponseStatus"]
    assert (status["MsgCode"], status["Errors"][0]["Message"]) == (
        9,
        "元数据中标识为FNOPE.FNumber的字段不存在",
    )
    await client.post("/admin/scenario", json={"query_errors": "envelope"})
    bare = await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo", FilterString="FBad = 1")
    assert bare.status_code == 500
    assert _status(bare.json())["MsgCode"] == 9
    syntax = await _query(
        client, FormId="IV_SALESIC", FieldKeys="FBillNo", FilterString="FBillNo = "
    )
    assert syntax.status_code == 200
    assert _status(syntax.json())["MsgCode"] == 8


async def test_filters_ordering_and_paging_select_the_rows(client):
    await _login(client)
    every = (
        await _query(
            client, FormId="SAL_SaleOrder", FieldKeys="FBillNo,FDate", OrderString="FBillNo"
        )
    ).json()
    numbers = [r[0] for r in every]
    assert numbers == sorted(numbers)
    assert len(numbers) == _kingdee_cases(3)
    picked = (
        f"FBillNo in ('{numbers[0]}', '{numbers[3]}')"
        f" or (FBillNo like '%{numbers[5][-4:]}' and FDate >= '2000-01-01')"
    )
    rows = (
        await _query(
            client,
            FormId="SAL_SaleOrder",
            FieldKeys="FBillNo",
            FilterString=picked,
            OrderString="FBillNo desc",
        )
    ).json()
    assert rows == [[numbers[5]], [numbers[3]], [numbers[0]]]
    page = (
        await _query(
            client,
            FormId="SAL_SaleOrder",
            FieldKeys="FBillNo",
            OrderString="FBillNo",
            StartRow=2,
            Limit=3,
        )
    ).json()
    assert page == [[n] for n in numbers[2:5]]
    top = (
        await _query(
            client,
            FormId="SAL_SaleOrder",
            FieldKeys="FBillNo",
            OrderString="FBillNo",
            TopRowCount=4,
            StartRow=3,
        )
    ).json()
    assert top == [[numbers[3]]]
    await client.post("/admin/scenario", json={"query_limit": 7})
    assert (
        len((await _query(client, FormId="SAL_SaleOrder", FieldKeys="FBillNo", Limit=0)).json())
        == 7
    )
    assert (
        await _query(client, FormId="SAL_SaleOrder", FieldKeys="FBillNo", FilterString="1=0")
    ).json() == []
    lines = (
        await _query(
            client, FormId="SAL_SaleOrder", FieldKeys="FBillNo,FMaterialId.FNumber,FQty", Limit=0
        )
    ).json()
    assert len(lines) == 7  # one row per entry line, still capped
    queries = (await _state(client))["queries"]
    assert queries[0]["form_id"] == "SAL_SaleOrder"
    assert queries[0]["rows"] == _kingdee_cases(3)


# -- faults, admin, real server --------------------------------------------------------------------


async def test_a_lost_answer_still_saves_and_injected_errors_save_nothing(client):
    await _login(client)
    await client.put("/admin/faults", json={"lose_answer_rate": 1, "paths": ["/k3cloud/"]})
    lost = await client.post(SAVE, json={"formid": "IV_SALESIC", "data": {"Model": _invoice()}})
    assert (lost.status_code, lost.content) == (504, b"")
    await client.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
    refused = await client.post(
        SAVE, json={"formid": "IV_SALESIC", "data": {"Model": _invoice(FBillNo="E1")}}
    )
    assert refused.status_code == 503
    await client.put("/admin/faults", json={"malformed_rate": 1})
    broken = await _query(client, FormId="IV_SALESIC", FieldKeys="FBillNo")
    with pytest.raises(ValueError, match=r"Expecting|Extra data|Invalid|Unterminated"):
        broken.json()
    state = await _state(client)
    assert state["counts"]["saves"] == 1
    assert state["bills"]["IV_SALESIC"]["saved"] == 1


async def test_scenarios_are_validated_and_reset_forgets_everything(client):
    bad = await client.post("/admin/scenario", json={"query_limit": 0, "colour": "red"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"query_limit", "colour"}
    bad_bill = await client.post(
        "/admin/scenario", json={"bills": [{"form_id": "XX", "model": {}}]}
    )
    assert "bills.0.form_id" in bad_bill.json()["errors"][0]["reason"]
    seeded = {
        "form_id": "SAL_SaleOrder",
        "model": {
            "FBillNo": "QA-SO-1",
            "FDate": "2026-11-01",
            "FCustId": {"FNumber": "CUST-QA"},
            "FSaleOrgId": {"FNumber": "100"},
        },
    }
    assert (
        await client.post("/admin/scenario", json={"invoices": 4, "bills": [seeded]})
    ).status_code == 200
    await _login(client)
    rows = (
        await _query(
            client,
            FormId="SAL_SaleOrder",
            FieldKeys="FBillNo,FDocumentStatus,FCustId.FNumber",
            FilterString="FBillNo='QA-SO-1'",
        )
    ).json()
    assert rows == [["QA-SO-1", "C", "CUST-QA"]]
    assert (await _state(client))["bills"]["SAL_SaleOrder"]["seeded"] == 3  # 2 Kingdee cases + QA's
    await client.post(SAVE, json={"formid": "IV_SALESIC", "data": {"Model": _invoice()}})
    await client.post("/admin/reset")
    state = await _state(client)
    assert state["saved"] == []
    assert state["logins"] == []
    assert state["sessions_active"] == 0
    assert state["settings"]["invoices"] == STANDARD_CASES
    assert "IV_SALESIC" not in {f for f, c in state["bills"].items() if c["saved"]}


async def test_it_runs_as_a_real_server_with_a_case_insensitive_root():
    runner.SIMULATORS["kingdee-under-test"] = kingdee.create_app
    try:
        async with running_simulators(["kingdee-under-test"], seed=2) as sims:
            url = sims["kingdee-under-test"].base_url
            async with httpx.AsyncClient(base_url=url) as c:
                await _login(c)
                path = QUERY.replace("/k3cloud/", "/K3Cloud/")
                rows = (
                    await c.post(
                        path, json={"data": {"FormId": "IV_SALESOC", "FieldKeys": "FBillNo"}}
                    )
                ).json()
                assert rows
                assert all(r[0].startswith("XSPP") for r in rows)
                unknown = await c.post(f"{STUB}DynamicFormService.Nope.common.kdsvc", json={})
                assert unknown.status_code == 404
    finally:
        del runner.SIMULATORS["kingdee-under-test"]
