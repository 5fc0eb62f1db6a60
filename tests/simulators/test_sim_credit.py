"""The credit bureau simulator speaks PBOC, 企查查 and 天眼查 with their own auth and envelopes."""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from canonical.credit import EnterpriseStatus
from mappings.credit_pboc import pboc_report_to_canonical
from mappings.credit_qcc import qcc_to_canonical
from mappings.credit_tianyancha import tianyancha_to_canonical
from simulators import credit, uscc
from simulators.common.clock import CST
from simulators.erp.dataset import generate_companies
from tests.simulators.conftest import asgi_client

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=CST)
KEY, SECRET, TOKEN = "qcc-sim-key", "qcc-sim-secret", "tyc-sim-token"
SELLER = generate_companies(3).sellers[0]
UNKNOWN = uscc.generate(random.Random(7), "310115")  # valid, but no dataset company
INVALID = "91310115MA1K00000X"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(credit.create_app(seed=3, clock=lambda: NOW)) as c:
        yield c


def _qcc_headers(key: str = KEY, secret: str = SECRET, at: datetime = NOW) -> dict[str, str]:
    timespan = str(int(at.timestamp()))
    token = hashlib.md5(f"{key}{timespan}{secret}".encode()).hexdigest().upper()
    return {"Token": token, "Timespan": timespan}


async def _qcc(
    client: httpx.AsyncClient, path: str, value: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    param = "keyword" if path.startswith("/ECIV4") else "searchKey"
    answer = await client.get(
        path,
        params={"key": KEY, param: value},
        headers=_qcc_headers() if headers is None else headers,
    )
    assert answer.status_code == 200
    return dict(answer.json())


async def _tyc(client: httpx.AsyncClient, path: str, keyword: str, token: str = TOKEN) -> Any:
    answer = await client.get(
        f"/services/open/{path}", params={"keyword": keyword}, headers={"Authorization": token}
    )
    assert answer.status_code == 200
    return answer.json()


RISKY = {
    "companies": [
        {
            "uscc": SELLER.uscc,
            "status": "注销",
            "status_date": "2026-08-01",
            "status_reason": "决议解散",
            "dishonest": [
                {
                    "case_no": "(2026)沪0115执1234号",
                    "court": "上海市浦东新区人民法院",
                    "amount": "1250000.00",
                    "registered_on": "2026-03-02",
                }
            ],
            "executed": [
                {
                    "case_no": "(2026)沪0115执5678号",
                    "court": "上海市浦东新区人民法院",
                    "amount": "86000.50",
                    "registered_on": "2026-05-10",
                }
            ],
        }
    ]
}


async def test_qcc_basic_details_of_a_dataset_company_map_to_an_active_profile(client):
    body = await _qcc(client, "/ECIV4/GetBasicDetailsByName", SELLER.uscc)
    assert (body["Status"], body["Message"]) == ("200", "【有效请求】查询成功")
    assert body["OrderNumber"].startswith("ECI20261120100000")
    assert body["Result"]["Name"] == SELLER.name
    profile = qcc_to_canonical(httpx.Response(200, json=body).content, received_at=NOW)
    assert (profile.uscc, profile.status) == (SELLER.uscc, EnterpriseStatus.ACTIVE)
    by_name = await _qcc(client, "/ECIV4/GetBasicDetailsByName", SELLER.name)
    assert by_name["Result"]["CreditCode"] == SELLER.uscc


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({"key": "wrong"}, _qcc_headers(), "101"),
        ({"key": KEY}, _qcc_headers(secret="not-the-secret"), "107"),
        ({"key": KEY}, {}, "107"),
        ({"key": KEY}, _qcc_headers(at=NOW.replace(hour=9)), "115"),
        ({"key": KEY, "keyword": ""}, _qcc_headers(), "202"),
        ({"key": KEY, "keyword": "华"}, _qcc_headers(), "213"),
        ({"key": KEY, "keyword": "不存在的公司有限公司"}, _qcc_headers(), "201"),
    ],
)
async def test_qcc_refuses_bad_auth_and_bad_queries_with_its_own_status(
    client, params, headers, status
):
    query = {"keyword": SELLER.uscc, **params}
    answer = await client.get("/ECIV4/GetBasicDetailsByName", params=query, headers=headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["Status"] == status
    assert body["Message"] == credit.vendors.QCC_CODES[status]
    assert body["Result"] is None
    refused = (await client.get("/admin/state")).json()["refused"]
    assert refused == {f"qcc:{status}": 1}


async def test_qcc_and_tianyancha_quotas_run_out_with_their_own_codes(client):
    section = {"qcc": {"quota": 1}, "tianyancha": {"quota": 1}}
    assert (await client.post("/admin/scenario", json=section)).status_code == 200
    assert (await _qcc(client, "/ECIV4/GetBasicDetailsByName", SELLER.uscc))["Status"] == "200"
    assert (await _qcc(client, "/ECIV4/GetBasicDetailsByName", SELLER.uscc))["Status"] == "112"
    assert (await _tyc(client, "ic/baseinfo/normal", SELLER.uscc))["error_code"] == 0
    assert (await _tyc(client, "ic/baseinfo/normal", SELLER.uscc))["error_code"] == 300006
    billed = (await client.get("/admin/state")).json()["billed"]
    assert billed == {"qcc": 1, "tianyancha": 1}


async def test_tianyancha_answers_its_envelope_for_a_bad_token_no_keyword_and_no_result(client):
    assert (await _tyc(client, "ic/baseinfo/normal", SELLER.uscc, token="x")) == {
        "result": None,
        "reason": "账号失效",
        "error_code": 300002,
    }
    assert (await _tyc(client, "ic/baseinfo/normal", " "))["error_code"] == 300008
    nothing = await _tyc(client, "ic/baseinfo/normal", "不存在的公司有限公司")
    assert (nothing["error_code"], nothing["reason"]) == (300000, "经查无结果")
    clean = await _tyc(client, "jr/dishonest/2.0", SELLER.uscc)
    assert clean["error_code"] == 300000


async def test_tianyancha_base_info_maps_to_the_same_company(client):
    body = await _tyc(client, "ic/baseinfo/normal", SELLER.name)
    assert body["error_code"] == 0
    profile = tianyancha_to_canonical(httpx.Response(200, json=body).content, received_at=NOW)
    assert (profile.uscc, profile.name) == (SELLER.uscc, SELLER.name)
    assert profile.status == EnterpriseStatus.ACTIVE


async def test_a_scenario_cancels_a_company_and_gives_it_risk_items_at_every_vendor(client):
    before = await _qcc(client, "/CourtV4/SearchShiXin", SELLER.uscc)
    assert before["Status"] == "201"
    assert (await client.post("/admin/scenario", json=RISKY)).status_code == 200

    basic = await _qcc(client, "/ECIV4/GetBasicDetailsByName", SELLER.uscc)
    assert basic["Result"]["Status"] == "注销"
    assert basic["Result"]["RevokeInfo"]["CancelDate"] == "2026-08-01"
    profile = qcc_to_canonical(httpx.Response(200, json=basic).content, received_at=NOW)
    assert profile.status == EnterpriseStatus.CANCELLED
    shixin = await _qcc(client, "/CourtV4/SearchShiXin", SELLER.uscc)
    assert [r["Anno"] for r in shixin["Result"]] == ["(2026)沪0115执1234号"]
    assert shixin["Paging"]["TotalRecords"] == 1
    zhixing = await _qcc(client, "/CourtV4/SearchZhiXing", SELLER.uscc)
    assert [r["Biaodi"] for r in zhixing["Result"]] == ["86000.50"]

    tyc = await _tyc(client, "ic/baseinfo/normal", SELLER.uscc)
    assert tyc["result"]["regStatus"] == "注销"
    dishonest = await _tyc(client, "jr/dishonest/2.0", SELLER.uscc)
    assert dishonest["result"]["total"] == 1
    assert dishonest["result"]["items"][0]["casecode"] == "(2026)沪0115执1234号"
    executed = await _tyc(client, "jr/zhixinginfo/2.0", SELLER.uscc)
    assert executed["result"]["items"][0]["execMoney"] == "86000.50"

    report = await client.get(f"/pboc/enterprise-reports/{SELLER.uscc}?queryReason=03")
    public = report.json()["summary"]["publicRecords"]
    assert public["enforcements"] == 2
    assert report.json()["identity"]["status"] == "注销"

    await client.post("/admin/reset")
    assert (await _qcc(client, "/CourtV4/SearchShiXin", SELLER.uscc))["Status"] == "201"


async def test_a_scenario_can_add_a_revoked_company_the_dataset_does_not_know(client):
    code = uscc.generate(random.Random(1), "310115")
    section = {"companies": [{"uscc": code, "name": "外来贸易（上海）有限公司", "status": "吊销"}]}
    assert (await client.post("/admin/scenario", json=section)).status_code == 200
    body = await _tyc(client, "ic/baseinfo/normal", "外来贸易(上海)有限公司")
    assert (body["result"]["creditCode"], body["result"]["regStatus"]) == (code, "吊销")
    qcc = await _qcc(client, "/ECIV4/GetBasicDetailsByName", code)
    profile = qcc_to_canonical(httpx.Response(200, json=qcc).content, received_at=NOW)
    assert profile.status == EnterpriseStatus.REVOKED


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"companies": [{"uscc": INVALID}]}, "companies.0.uscc"),
        ({"companies": [{"uscc": SELLER.uscc, "status": "破产"}]}, "companies.0.status"),
        ({"qcc": {"quota": -1}}, "qcc.quota"),
        ({"companies": [{"uscc": UNKNOWN}]}, "scenario"),
    ],
)
async def test_a_bad_scenario_is_refused_naming_the_field(client, section, field):
    answer = await client.post("/admin/scenario", json=section)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field


async def test_the_pboc_report_has_the_summary_sections_and_maps_to_the_hub_model(client):
    first = await client.get(
        f"/pboc/enterprise-reports/{SELLER.uscc}", params={"queryReason": "02"}
    )
    assert first.status_code == 200
    report = first.json()
    assert set(report) == {"reportHeader", "identity", "summary", "queryRecords"}
    assert len(report["reportHeader"]["reportNo"]) == 22
    assert report["reportHeader"]["queryReason"] == "贷前审查"
    summary = pboc_report_to_canonical(first.content, received_at=NOW)
    assert summary.subject_uscc == SELLER.uscc
    assert len(summary.zhongzheng_code or "") == 16
    again = await client.get(
        f"/pboc/enterprise-reports/{SELLER.uscc}", params={"queryReason": "01"}
    )
    assert [r["reason"] for r in again.json()["queryRecords"]] == ["贷前审查"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/pboc/enterprise-reports/123?queryReason=02", 400, "E0001"),
        (f"/pboc/enterprise-reports/{SELLER.uscc}?queryReason=99", 400, "E0002"),
        (f"/pboc/enterprise-reports/{UNKNOWN}?queryReason=02", 404, "E0404"),
    ],
)
async def test_the_pboc_channel_refuses_with_its_return_code(client, path, status, code):
    answer = await client.get(path)
    assert answer.status_code == status
    assert answer.json()["returnCode"] == code
    assert answer.json()["returnMessage"]


async def test_admin_state_counts_queries_per_subject_and_vendor(client):
    await _qcc(client, "/ECIV4/GetBasicDetailsByName", SELLER.uscc)
    await _qcc(client, "/CourtV4/SearchZhiXing", SELLER.name)
    await _tyc(client, "ic/baseinfo/normal", SELLER.uscc)
    await client.get(f"/pboc/enterprise-reports/{SELLER.uscc}?queryReason=01")
    await _tyc(client, "ic/baseinfo/normal", "查无此司有限公司")
    state = (await client.get("/admin/state")).json()
    assert state["queries"] == {SELLER.uscc: {"qcc": 2, "tianyancha": 1, "pboc": 1}}
    assert state["unknown"] == {"tianyancha:查无此司有限公司": 1}


async def test_the_same_seed_gives_the_same_answers_and_another_seed_other_companies():
    answers = []
    for seed in (6, 6, 8):
        async with asgi_client(credit.create_app(seed=seed, clock=lambda: NOW)) as c:
            state = (await c.get("/admin/state")).json()
            code = state["companies"][0]["uscc"]
            report = await c.get(f"/pboc/enterprise-reports/{code}?queryReason=01")
            answers.append((state["companies"], report.content))
    assert answers[0] == answers[1]
    assert answers[0][0] != answers[2][0]


async def test_an_injected_error_answers_before_any_query_is_counted(client):
    await client.put("/admin/faults", json={"error_rate": 1, "error_status": 502})
    answer = await client.get(f"/pboc/enterprise-reports/{SELLER.uscc}?queryReason=01")
    assert answer.status_code == 502
    assert (await client.get("/admin/state")).json()["queries"] == {}
