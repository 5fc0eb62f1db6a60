"""The credit-bureau connector against the credit simulator's 天眼查 API: statuses, 失信 and
被执行 records, one look-up per enterprise, answers kept, failures."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import httpx

from canonical import PermanentError, TransientError
from canonical.credit import CourtRecordKind, CreditStanding, EnterpriseStatus
from connectors.credit_bureau import HttpCreditBureau
from simulators import credit
from simulators.common.clock import CST
from simulators.erp.dataset import generate_companies

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=CST)
COMPANIES = generate_companies(3)
SELLER, BUYER, OTHER = COMPANIES.sellers[0], COMPANIES.buyers[0], COMPANIES.buyers[1]
TOKEN = "tyc-sim-token"
STRANGER = "91310115MA1K4XY7QF"  # a valid USCC the bureau does not know
DISHONEST = {
    "case_no": "(2026)沪0115执1234号",
    "court": "上海市浦东新区人民法院",
    "amount": "1250000.00",
    "registered_on": "2026-03-02",
}
EXECUTED = {
    "case_no": "(2026)沪0115执5678号",
    "court": "上海市浦东新区人民法院",
    "amount": "86000.50",
    "registered_on": "2026-05-10",
}
SCENARIO = {
    "companies": [
        {"uscc": SELLER.uscc, "status": "注销", "status_date": "2026-08-01"},
        {"uscc": BUYER.uscc, "dishonest": [DISHONEST], "executed": [EXECUTED]},
        {"uscc": OTHER.uscc, "status": "吊销", "status_date": "2026-09-15"},
    ]
}


def _client() -> httpx.AsyncClient:
    app = credit.create_app(seed=3, clock=lambda: NOW)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://credit")


def _bureau(client: httpx.AsyncClient, **options: object) -> HttpCreditBureau:
    return HttpCreditBureau(client, token=TOKEN, clock=lambda: NOW, **options)  # type: ignore[arg-type]


async def _billed(client: httpx.AsyncClient) -> int:
    return int((await client.get("/admin/state")).json()["billed"]["tianyancha"])


async def test_the_bureau_says_who_is_deregistered_revoked_and_on_the_dishonest_list():
    async with _client() as client:
        assert (await client.post("/admin/scenario", json=SCENARIO)).status_code == 200
        seller, buyer, other = await _bureau(client).check_many(
            [SELLER.uscc, BUYER.uscc, OTHER.uscc]
        )
    assert isinstance(seller, CreditStanding)
    assert isinstance(buyer, CreditStanding)
    assert isinstance(other, CreditStanding)
    assert seller.status is EnterpriseStatus.CANCELLED
    assert seller.profile is not None
    assert seller.profile.cancelled_on == date(2026, 8, 1)
    assert other.status is EnterpriseStatus.REVOKED
    assert (seller.dishonest.total, other.dishonest.total) == (0, 0)
    assert buyer.status is EnterpriseStatus.ACTIVE
    assert buyer.dishonest.total == 1
    (record,) = buyer.dishonest.records
    assert (record.case_no, record.court, record.performance) == (
        DISHONEST["case_no"],
        DISHONEST["court"],
        "全部未履行",
    )
    assert buyer.executed is None  # not asked: one billed call fewer per enterprise


async def test_executed_records_are_asked_for_only_when_wanted():
    async with _client() as client:
        await client.post("/admin/scenario", json=SCENARIO)
        (buyer,) = await _bureau(client).check_many([BUYER.uscc], executed=True)
        billed = await _billed(client)
    assert isinstance(buyer, CreditStanding)
    assert buyer.executed is not None
    assert buyer.executed.kind is CourtRecordKind.EXECUTED
    assert buyer.executed.total == 1
    assert buyer.executed.records[0].amount is not None
    assert str(buyer.executed.records[0].amount.amount) == "86000.50"
    assert billed == 3  # base information, 失信, 被执行


async def test_an_enterprise_asked_many_times_is_looked_up_once_and_then_kept_for_a_while():
    async with _client() as client:
        bureau = _bureau(client)
        answers = await bureau.check_many([SELLER.uscc, BUYER.uscc, SELLER.uscc, SELLER.uscc])
        first = await _billed(client)
        await asyncio.gather(*(bureau.check_many([SELLER.uscc, BUYER.uscc]) for _ in range(5)))
        kept = await _billed(client)
        forgetful = _bureau(client, max_age=0.0)
        await asyncio.gather(*(forgetful.check_many([OTHER.uscc]) for _ in range(5)))
        await asyncio.sleep(0.01)
        await forgetful.check_many([OTHER.uscc])
        again = await _billed(client)
    assert [a.uscc for a in answers] == [SELLER.uscc, BUYER.uscc, SELLER.uscc, SELLER.uscc]  # type: ignore[union-attr]
    assert first == 4  # two enterprises, two billed calls each
    assert kept == first  # answers kept: the bureau is not asked again
    assert again == first + 4  # asked together: once; asked after max_age: again


async def test_an_enterprise_the_bureau_does_not_know_has_no_profile_and_no_records():
    async with _client() as client:
        (stranger,) = await _bureau(client).check_many([STRANGER])
    assert isinstance(stranger, CreditStanding)
    assert stranger.profile is None
    assert stranger.status is None
    assert stranger.dishonest.total == 0


async def test_a_busy_bureau_fails_transiently_and_its_failure_is_not_kept():
    async with _client() as client:
        bureau = _bureau(client)
        await client.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
        (busy,) = await bureau.check_many([SELLER.uscc])
        await client.put("/admin/faults", json={"malformed_rate": 1})
        (broken,) = await bureau.check_many([SELLER.uscc])
        await client.put("/admin/faults", json={})
        (later,) = await bureau.check_many([SELLER.uscc])
    assert isinstance(busy, TransientError)
    assert "503" in str(busy)
    assert isinstance(broken, TransientError)  # a body cut off in transit: ask again
    assert isinstance(later, CreditStanding)


async def test_a_refused_token_or_a_used_up_balance_is_transient_not_the_enterprises_fault():
    async with _client() as client:
        (refused,) = await HttpCreditBureau(client, token="wrong").check_many([SELLER.uscc])
        await client.post("/admin/scenario", json={"tianyancha": {"quota": 0}})
        (broke,) = await _bureau(client).check_many([SELLER.uscc])
    assert isinstance(refused, TransientError)
    assert "300002" in str(refused)
    assert isinstance(broke, TransientError)
    assert "300006" in str(broke)


def _answering(body: dict[str, object]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/baseinfo/normal"):
            return httpx.Response(200, json=body)
        return httpx.Response(
            200, json={"result": None, "reason": "经查无结果", "error_code": 300000}
        )

    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://credit")


async def test_an_unreadable_answer_or_one_about_another_enterprise_is_permanent():
    async with _client() as client:
        real = (
            await client.get(
                "/services/open/ic/baseinfo/normal",
                params={"keyword": BUYER.uscc},
                headers={"Authorization": TOKEN},
            )
        ).json()
    unreadable = {"result": {"name": "无代码公司"}, "reason": "ok", "error_code": 0}
    async with _answering(unreadable) as client:
        (broken,) = await _bureau(client).check_many([SELLER.uscc])
    async with _answering(real) as client:
        (wrong,) = await _bureau(client).check_many([SELLER.uscc])
    assert isinstance(broken, PermanentError)
    assert "creditCode" in str(broken)
    assert isinstance(wrong, PermanentError)
    assert BUYER.uscc in str(wrong)


async def test_no_more_calls_are_in_flight_than_the_bound():
    flight = {"now": 0, "most": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        flight["now"] += 1
        flight["most"] = max(flight["most"], flight["now"])
        await asyncio.sleep(0.01)
        flight["now"] -= 1
        return httpx.Response(
            200, content=json.dumps({"result": None, "reason": "无", "error_code": 300000})
        )

    usccs = [c.uscc for c in COMPANIES.buyers[:6]]
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://credit") as client:
        answers = await _bureau(client, concurrency=2).check_many(usccs)
    assert all(isinstance(a, CreditStanding) and a.profile is None for a in answers)
    assert flight["most"] == 2
