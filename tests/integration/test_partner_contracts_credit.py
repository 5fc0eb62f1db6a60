"""The hub's credit readers (mappings.credit_pboc, credit_qcc, credit_tianyancha) read the bytes the
credit simulator, written separately from the same reference (formats-outbound §4), answers, and
`recognise` tells the three apart. tests/simulators/test_sim_credit.py already maps re-serialised
bodies by function; this adds the bytes as sent, auto-detection and the refusals."""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import Decimal

import httpx
import pytest

from canonical import MappingError
from canonical.credit import EnterpriseProfile, EnterpriseStatus
from mappings.credit_pboc import pboc_report_to_canonical
from mappings.credit_qcc import qcc_to_canonical
from mappings.credit_tianyancha import tianyancha_to_canonical
from mappings.formats import recognise
from simulators import credit, uscc
from simulators.common.clock import CST
from simulators.erp.dataset import generate_companies
from tests.simulators.conftest import asgi_client

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=CST)
SELLER = generate_companies(3).sellers[0]
KEY, SECRET, TOKEN = "qcc-sim-key", "qcc-sim-secret", "tyc-sim-token"
CANCELLED = {"companies": [{"uscc": SELLER.uscc, "status": "注销", "status_date": "2026-08-01"}]}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(credit.create_app(seed=3, clock=lambda: NOW)) as c:
        yield c


async def _qcc(client: httpx.AsyncClient, keyword: str) -> bytes:
    timespan = str(int(NOW.timestamp()))
    token = hashlib.md5(f"{KEY}{timespan}{SECRET}".encode()).hexdigest().upper()
    answer = await client.get(
        "/ECIV4/GetBasicDetailsByName",
        params={"key": KEY, "keyword": keyword},
        headers={"Token": token, "Timespan": timespan},
    )
    return answer.content


async def _tyc(client: httpx.AsyncClient, keyword: str) -> bytes:
    answer = await client.get(
        "/services/open/ic/baseinfo/normal",
        params={"keyword": keyword},
        headers={"Authorization": TOKEN},
    )
    return answer.content


async def test_both_vendors_basic_information_maps_to_the_same_company(client):
    qcc_raw, tyc_raw = await _qcc(client, SELLER.uscc), await _tyc(client, SELLER.name)
    assert recognise(qcc_raw).name == "qcc-enterprise"
    assert recognise(tyc_raw).name == "tianyancha-enterprise"
    qcc = qcc_to_canonical(qcc_raw, received_at=NOW)
    tyc = tianyancha_to_canonical(tyc_raw, received_at=NOW)
    assert recognise(qcc_raw).read(qcc_raw, NOW) == qcc
    assert recognise(tyc_raw).read(tyc_raw, NOW) == tyc
    for profile in (qcc, tyc):
        assert (profile.uscc, profile.name) == (SELLER.uscc, SELLER.name)
        assert profile.status is EnterpriseStatus.ACTIVE
    same = ("legal_representative", "registered_capital", "established_on", "address")
    assert {f: getattr(qcc, f) for f in same} == {f: getattr(tyc, f) for f in same}


async def test_a_cancelled_company_reads_cancelled_at_both_vendors(client):
    assert (await client.post("/admin/scenario", json=CANCELLED)).status_code == 200
    for raw in (await _qcc(client, SELLER.uscc), await _tyc(client, SELLER.uscc)):
        profile = recognise(raw).read(raw, NOW)
        assert isinstance(profile, EnterpriseProfile)
        assert profile.status is EnterpriseStatus.CANCELLED
        assert profile.cancelled_on == date(2026, 8, 1)


async def test_an_unknown_company_is_refused_by_both_readers(client):
    unknown = uscc.generate(random.Random(7), "310115")  # valid, but nobody's
    with pytest.raises(MappingError):
        qcc_to_canonical(await _qcc(client, unknown), received_at=NOW)
    with pytest.raises(MappingError):
        tianyancha_to_canonical(await _tyc(client, unknown), received_at=NOW)


async def test_the_pboc_report_maps_with_balances_that_add_up_to_its_totals(client):
    answer = await client.get(
        f"/pboc/enterprise-reports/{SELLER.uscc}", params={"queryReason": "03"}
    )
    raw = answer.content
    assert recognise(raw).name == "pboc-credit-report"
    report = pboc_report_to_canonical(raw, received_at=NOW)
    assert recognise(raw).read(raw, NOW) == report
    summary = answer.json()["summary"]
    assert (report.subject_uscc, report.subject_name) == (SELLER.uscc, SELLER.name)
    assert report.query_reason == "保理业务审查"  # queryReason 03
    assert report.loan_balance.amount == Decimal(summary["loans"]["totalBalance"])
    assert sum((loan.balance.amount for loan in report.loans), Decimal(0)) == (
        report.loan_balance.amount
    )
    assert report.guarantee_balance.amount == Decimal(summary["guarantees"]["totalBalance"])
    tiers = report.five_tier
    assert (
        tiers.normal.amount
        + tiers.special_mention.amount
        + tiers.substandard.amount
        + tiers.doubtful.amount
        + tiers.loss.amount
        == report.loan_balance.amount
    )
