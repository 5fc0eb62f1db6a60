"""The hub's 中登网 mapper (mappings.zhongdeng) and the registry simulator, written separately
from the same reference (formats-outbound §3): the request the hub writes is filed as it is, and
the records and search certificates the registry answers read back as what was filed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from canonical import Money, Party, PartyRole
from canonical.registry import (
    BusinessType,
    MainContract,
    RegistrationKind,
    RegistrationState,
    RegistryIdType,
)
from mappings.formats import recognise
from mappings.zhongdeng import (
    ZhongdengRegistrationRequest,
    canonical_to_zhongdeng_request,
    zhongdeng_record_to_canonical,
    zhongdeng_search_to_canonical,
)
from simulators import registry
from simulators.erp.dataset import generate_companies
from tests.simulators.conftest import asgi_client

CST = timezone(timedelta(hours=8))
SEED = 7
SELLER = generate_companies(SEED).sellers[0]
INVOICE = "26331663148848278689"
JSON = {"content-type": "application/json"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 10, 0, tzinfo=CST)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(registry.create_app(seed=SEED, clock=clock)) as c:
        yield c


def _request(reference: str = "FIN-2026-0001") -> ZhongdengRegistrationRequest:
    return ZhongdengRegistrationRequest(
        filer_reference=reference,
        assignor=Party(name=SELLER.name, uscc=SELLER.uscc, role=PartyRole.SELLER),
        assignee=Party(
            name="杭州示例商业保理有限公司", uscc="91330106569821743D", role=PartyRole.FACTOR
        ),
        property_description=f"应收账款：发票 {INVOICE}，金额 113000.00 元",
        period_months=12,
        main_contract=MainContract(
            number="BL-2026-001", amount=Money(amount=Decimal("113000.00"), currency="CNY")
        ),
        invoices=(INVOICE,),
    )


async def _file(client: httpx.AsyncClient, request: ZhongdengRegistrationRequest) -> httpx.Response:
    return await client.post(
        "/registrations", content=canonical_to_zhongdeng_request(request), headers=JSON
    )


async def test_the_hubs_registration_request_is_filed_and_its_record_reads_back(client, clock):
    filed = await _file(client, _request())
    assert filed.status_code == 201, filed.text
    number = filed.json()["registration_no"]

    raw = (await client.get(f"/registrations/{number}")).content
    assert recognise(raw).name == "zhongdeng-registration-record"
    record = zhongdeng_record_to_canonical(raw, received_at=clock.now)
    assert recognise(raw).read(raw, clock.now) == record
    assert record.registration_no == number
    assert record.kind is RegistrationKind.INITIAL
    assert record.business_type is BusinessType.FACTORING
    assert record.state is RegistrationState.ACTIVE
    assert record.registered_at == clock.now
    assert record.period_months == 12
    assert record.expires_on == date(2027, 11, 28)  # 2026-11-28 + 12 months
    assert record.filer_reference == "FIN-2026-0001"
    assert (record.assignor.name, record.assignor.id_number) == (SELLER.name, SELLER.uscc)
    assert record.assignor.id_type is RegistryIdType.USCC
    assert record.assignee.id_number == "91330106569821743D"
    assert record.main_contract == _request().main_contract
    assert record.invoice_numbers == (INVOICE,)
    assert record.property_description == _request().property_description
    assert record.modification_code == ""  # the public record never shows it


async def test_filing_the_same_request_again_answers_the_same_registration(client):
    first = await _file(client, _request())
    again = await _file(client, _request())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["registration_no"] == first.json()["registration_no"]


async def test_a_search_certificate_lists_an_earlier_conflict_before_our_filing(client, clock):
    conflict = {"conflicts": [{"seller_index": 0, "invoices": [INVOICE], "days_before": 30}]}
    assert (await client.post("/admin/scenario", json=conflict)).status_code == 200
    ours = (await _file(client, _request())).json()["registration_no"]

    answer = await client.get("/registrations/search", params={"assignor_uscc": SELLER.uscc})
    raw = answer.content
    assert recognise(raw).name == "zhongdeng-search-certificate"
    certificate = zhongdeng_search_to_canonical(raw, received_at=clock.now)
    assert certificate.criteria.assignor_uscc == SELLER.uscc
    assert certificate.searched_at == clock.now
    first, second = certificate.hits
    assert second.registration_no == ours
    assert first.registered_at < second.registered_at  # ranks first (民法典 768)
    assert first.assignor.id_number == SELLER.uscc
    assert first.assignee.id_number != "91330106569821743D"  # another factor
    assert INVOICE in first.invoice_numbers

    again = await client.get(f"/search-certificates/{certificate.certificate_no}")
    assert zhongdeng_search_to_canonical(again.content, received_at=clock.now) == certificate


async def test_a_cancelled_registration_reads_cancelled_and_leaves_the_search(client, clock):
    receipt = (await _file(client, _request())).json()
    number, code = receipt["registration_no"], receipt["modification_code"]
    clock.now += timedelta(days=3)
    cancelled = await client.post(
        f"/registrations/{number}/cancel", json={"modification_code": code}
    )
    assert cancelled.status_code == 200

    record = zhongdeng_record_to_canonical(cancelled.content, received_at=clock.now)
    assert record.state is RegistrationState.CANCELLED
    assert record.cancelled_at == clock.now
    answer = await client.get("/registrations/search", params={"registration_no": number})
    certificate = zhongdeng_search_to_canonical(answer.content, received_at=clock.now)
    assert certificate.criteria.registration_no == number
    assert certificate.hits == ()


async def test_a_registration_past_its_term_reads_expired(client, clock):
    number = (await _file(client, _request())).json()["registration_no"]
    clock.now = datetime(2027, 11, 29, 9, 0, tzinfo=CST)  # the day after 登记到期日
    raw = (await client.get(f"/registrations/{number}")).content
    record = zhongdeng_record_to_canonical(raw, received_at=clock.now)
    assert record.state is RegistrationState.EXPIRED
    assert record.expires_on == date(2027, 11, 28)
