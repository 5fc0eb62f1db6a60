"""The 中登网 gateway's search (查询) against the registry simulator, mounted in-process: other
factors' registrations are seeded through the simulator's admin API, as QA does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from canonical import Money, PermanentError, Registration, TransientError
from canonical.registry import SearchCertificate
from connectors.registry import HttpRegistryGateway
from routes.policy import DEFAULT_FACTOR
from routes.ports import RegistrationRequest
from routes.registry_search import BLANKET, CONFLICT, priority_problem
from simulators import registry
from tests.builders import BUYER, SELLER

CST = timezone(timedelta(hours=8))
INVOICE = "26322000000012345678"
OTHER_INVOICE = "26322000000087654321"
OTHER_SELLER = "无锡东方精工有限公司"
OTHER_FACTOR = {"name": "杭州另一商业保理有限公司", "uscc": "91330106569821743D"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 10, 0, tzinfo=CST)

    def __call__(self) -> datetime:
        return self.now


class Counting(httpx.AsyncBaseTransport):
    """The simulator's ASGI transport, counting the requests in flight at once."""

    def __init__(self, app: object) -> None:
        self._inner = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        self.in_flight = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transport(clock: Clock) -> Counting:
    return Counting(registry.create_app(seed=3, clock=clock))


@pytest.fixture
async def client(transport: Counting) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield client


@pytest.fixture
def gateway(client: httpx.AsyncClient, clock: Clock) -> HttpRegistryGateway:
    return HttpRegistryGateway(client, clock=clock)


async def _seed(client: httpx.AsyncClient, *conflicts: dict[str, object]) -> list[str]:
    """Other factors' registrations over SELLER's receivables; their numbers, in order."""
    seller = {"name": SELLER.name, "uscc": SELLER.uscc}
    body = {"conflicts": [{"seller": seller, **conflict} for conflict in conflicts]}
    answer = await client.post("/admin/seed", json=body)
    assert answer.status_code == 201, answer.text
    return [receipt["registration_no"] for receipt in answer.json()["registrations"]]


async def _searches(client: httpx.AsyncClient) -> list[dict[str, object]]:
    state = (await client.get("/admin/state")).json()
    searches: list[dict[str, object]] = state["searches"]
    return searches


async def _file_ours(gateway: HttpRegistryGateway) -> Registration:
    request = RegistrationRequest(
        filer_reference="FIN-2026-0001",
        assignor=SELLER,
        assignee=DEFAULT_FACTOR,
        description=f"应收账款转让：发票 {INVOICE}",
        amount=Money.of("90000.00"),
        invoices=(INVOICE,),
    )
    (ours,) = await gateway.register_many([request])
    assert isinstance(ours, Registration), ours
    return ours


async def test_a_search_answers_the_certificate_listing_other_factors_live_registrations(
    client, gateway, clock
):
    older, newer, cancelled = await _seed(
        client,
        {"invoices": [INVOICE], "days_before": 40, "factor": OTHER_FACTOR},
        {"invoices": [], "days_before": 10},
        {"invoices": [OTHER_INVOICE], "days_before": 20, "cancelled": True},
    )

    (certificate,) = await gateway.search_many([SELLER.name])

    assert isinstance(certificate, SearchCertificate)
    assert certificate.criteria.assignor_name == SELLER.name
    assert certificate.searched_at == clock.now
    assert [hit.registration_no for hit in certificate.hits] == [older, newer]
    assert cancelled not in [hit.registration_no for hit in certificate.hits]
    first = certificate.hits[0]
    assert first.assignor.id_number == SELLER.uscc
    assert (first.assignee.name, first.assignee.id_number) == (
        OTHER_FACTOR["name"],
        OTHER_FACTOR["uscc"],
    )
    assert first.invoice_numbers == (INVOICE,)
    assert first.registered_at == clock.now - timedelta(days=40)


async def test_a_seller_nobody_registered_against_gets_an_empty_certificate(client, gateway):
    await _seed(client, {"invoices": [INVOICE]})

    (certificate,) = await gateway.search_many([OTHER_SELLER])

    assert isinstance(certificate, SearchCertificate)
    assert certificate.hits == ()
    assert certificate.criteria.assignor_name == OTHER_SELLER


async def test_each_distinct_name_is_searched_once_and_answers_come_back_in_asking_order(
    client, gateway
):
    await _seed(client, {"invoices": [INVOICE]})

    answers = await gateway.search_many(
        [SELLER.name, OTHER_SELLER, SELLER.name, f" {SELLER.name} "]
    )

    assert all(isinstance(answer, SearchCertificate) for answer in answers)
    first, other, again, padded = answers
    assert again is first
    assert padded is first
    assert isinstance(first, SearchCertificate)
    assert isinstance(other, SearchCertificate)
    assert len(first.hits) == 1
    assert other.hits == ()
    searched = [search["query"] for search in await _searches(client)]
    assert sorted(query["assignor_name"] for query in searched) == sorted(  # type: ignore[index]
        [SELLER.name, OTHER_SELLER]
    )


async def test_searches_run_concurrently_but_never_more_than_the_bound(client, clock, transport):
    faults = {"latency_ms": 30, "paths": ["/registrations/search"]}
    assert (await client.put("/admin/faults", json=faults)).status_code == 200
    gateway = HttpRegistryGateway(client, search_concurrency=2, clock=clock)
    names = [f"{SELLER.name[:-6]}{n}号有限公司" for n in range(5)]
    transport.most = 0

    answers = await gateway.search_many(names)

    assert all(isinstance(answer, SearchCertificate) for answer in answers)
    assert transport.most == 2
    assert len(await _searches(client)) == 5


async def test_a_blank_name_is_refused_without_asking_and_spoils_no_other_search(client, gateway):
    await _seed(client, {"invoices": [INVOICE]})

    blank, found = await gateway.search_many(["  ", SELLER.name])

    assert isinstance(blank, PermanentError)
    assert isinstance(found, SearchCertificate)
    assert len(await _searches(client)) == 1


async def test_a_server_error_is_transient_for_every_name_it_hit(client, gateway):
    faults = {"error_rate": 1.0, "error_status": 503, "paths": ["/registrations/search"]}
    assert (await client.put("/admin/faults", json=faults)).status_code == 200

    answers = await gateway.search_many([SELLER.name, OTHER_SELLER])

    assert [type(answer) for answer in answers] == [TransientError, TransientError]
    assert "503" in str(answers[0])


async def test_a_broken_certificate_is_transient_so_the_search_is_simply_made_again(
    client, clock
):
    gateway = HttpRegistryGateway(client, search_attempts=1, clock=clock)
    numbers = await _seed(client, {"invoices": [INVOICE]})
    faults = {"malformed_rate": 1.0, "paths": ["/registrations/search"]}
    assert (await client.put("/admin/faults", json=faults)).status_code == 200

    (broken,) = await gateway.search_many([SELLER.name])
    assert (await client.post("/admin/faults", json={})).status_code == 200
    (again,) = await gateway.search_many([SELLER.name])

    assert isinstance(broken, TransientError)
    assert isinstance(again, SearchCertificate)
    assert [hit.registration_no for hit in again.hits] == numbers
    assert len(await _searches(client)) == 2  # the broken search was made all the same


async def test_a_search_that_keeps_failing_is_asked_three_times_before_giving_up(
    client, gateway
):
    faults = {"error_rate": 1.0, "error_status": 503, "paths": ["/registrations/search"]}
    assert (await client.put("/admin/faults", json=faults)).status_code == 200

    (answer,) = await gateway.search_many([SELLER.name])

    assert isinstance(answer, TransientError)
    injected = (await client.get("/admin/faults")).json()["injected"]
    assert sum(injected.values()) == 3


def _gateway_answering(handler: object) -> HttpRegistryGateway:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=transport, base_url="http://registry.test")
    return HttpRegistryGateway(client, clock=Clock())


async def test_a_timeout_is_transient():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    (answer,) = await _gateway_answering(handler).search_many([SELLER.name])

    assert isinstance(answer, TransientError)
    assert "timed out" in str(answer)


async def test_a_refused_query_is_permanent():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"errors": [{"field": "query", "reason": "bad"}]})

    (answer,) = await _gateway_answering(handler).search_many([SELLER.name])

    assert isinstance(answer, PermanentError)
    assert "422" in str(answer)


async def test_a_certificate_the_mapper_refuses_is_permanent():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"certificate_no": "Q1", "registrations": []})

    (answer,) = await _gateway_answering(handler).search_many([SELLER.name])

    assert isinstance(answer, PermanentError)
    assert "query_time" in str(answer)


async def test_a_certificate_for_another_name_is_permanent():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "certificate_no": "Q20261128100000000001",
                "query_time": "2026-11-28T10:00:00+08:00",
                "query": {"assignor_name": OTHER_SELLER},
                "total": 0,
                "registrations": [],
            },
        )

    (answer,) = await _gateway_answering(handler).search_many([SELLER.name])

    assert isinstance(answer, PermanentError)
    assert OTHER_SELLER in str(answer)


async def test_the_pre_search_finds_an_earlier_registration_of_our_invoice(client, gateway):
    (theirs,) = await _seed(client, {"invoices": [INVOICE], "days_before": 30})

    (certificate,) = await gateway.search_many([SELLER.name])

    assert isinstance(certificate, SearchCertificate)
    problem = priority_problem(
        certificate.hits, invoice_numbers=[INVOICE], factor_uscc=DEFAULT_FACTOR.uscc
    )
    assert problem is not None
    assert problem[0] == CONFLICT
    assert theirs in problem[1]


async def test_the_re_search_finds_a_registration_that_beat_ours_but_not_one_that_came_after(
    client, gateway, clock
):
    (before,) = await _seed(client, {"invoices": [INVOICE], "days_before": 1})
    ours = await _file_ours(gateway)
    later = (clock.now + timedelta(minutes=5)).isoformat()
    # a reference of its own: the default (CONFLICT-<seed>-<index in this call>) would name
    # the earlier seeded registration again, and the simulator would answer that one
    after_ = {"invoices": [INVOICE], "registered_at": later, "filer_reference": "OTHER-2"}
    (after,) = await _seed(client, after_)

    (certificate,) = await gateway.search_many([SELLER.name])
    assert isinstance(certificate, SearchCertificate)
    numbers = [hit.registration_no for hit in certificate.hits]
    assert numbers == [before, ours.registration_no, after]

    problem = priority_problem(
        certificate.hits,
        invoice_numbers=[INVOICE],
        factor_uscc=DEFAULT_FACTOR.uscc,
        own_registration_no=ours.registration_no,
    )
    assert problem is not None
    assert problem[0] == CONFLICT
    assert before in problem[1]
    assert after not in problem[1]

    without_earlier = [hit for hit in certificate.hits if hit.registration_no != before]
    assert (
        priority_problem(
            without_earlier,
            invoice_numbers=[INVOICE],
            factor_uscc=DEFAULT_FACTOR.uscc,
            own_registration_no=ours.registration_no,
        )
        is None
    )


async def test_a_seeded_blanket_registration_against_a_debtor_goes_to_review(client, gateway):
    debtor = {"name": BUYER.name, "uscc": BUYER.uscc}
    (blanket,) = await _seed(client, {"invoices": [], "debtor": debtor})
    ours = await _file_ours(gateway)

    (certificate,) = await gateway.search_many([SELLER.name])

    assert isinstance(certificate, SearchCertificate)
    problem = priority_problem(
        certificate.hits,
        invoice_numbers=[INVOICE],
        factor_uscc=DEFAULT_FACTOR.uscc,
        own_registration_no=ours.registration_no,
    )
    assert problem is not None
    assert problem[0] == BLANKET
    assert blanket in problem[1]


async def test_our_own_registration_alone_is_no_problem(client, gateway):
    ours = await _file_ours(gateway)

    (certificate,) = await gateway.search_many([SELLER.name])

    assert isinstance(certificate, SearchCertificate)
    assert [hit.registration_no for hit in certificate.hits] == [ours.registration_no]
    problem = priority_problem(
        certificate.hits,
        invoice_numbers=[INVOICE],
        factor_uscc=DEFAULT_FACTOR.uscc,
        own_registration_no=ours.registration_no,
    )
    assert problem is None
