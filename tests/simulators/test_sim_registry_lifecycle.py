"""The 中登网 simulator beyond filing: search certificates, 变更 / 展期 / 注销 by 修改码, term and
expiry, other factors' conflicting registrations, the shared admin API and its faults."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from simulators import registry
from simulators.common.clock import CST
from simulators.erp.dataset import generate_companies
from tests.simulators.conftest import asgi_client
from tests.simulators.test_sim_registry import ASSIGNOR, FACTOR, OTHER_FACTOR, _filing

START = datetime(2026, 11, 2, 9, 30, tzinfo=CST)


class Clock:
    """A clock QA moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(registry.create_app(seed=3, clock=clock)) as client:
        yield client


async def _register(client: httpx.AsyncClient, reference: str = "FIN-1", **overrides):
    response = await client.post("/registrations", json=_filing(reference, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def _search(client: httpx.AsyncClient, **params: str) -> Any:
    response = await client.get("/registrations/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _state(client: httpx.AsyncClient) -> Any:
    return (await client.get("/admin/state")).json()


# -- search certificate -------------------------------------------------------------------------


async def test_a_search_certificate_has_its_number_time_and_each_hits_registration_time(
    client, clock
):
    mine = await _register(client)
    clock.advance(minutes=5)
    certificate = await _search(client, assignor_uscc=ASSIGNOR["uscc"])
    assert re.fullmatch(r"Q20261102093500\d{6}", certificate["certificate_no"])
    assert certificate["query_time"] == "2026-11-02T09:35:00+08:00"
    assert certificate["total"] == 1
    assert certificate["query"]["assignor_uscc"] == ASSIGNOR["uscc"]
    (hit,) = certificate["registrations"]
    assert hit["registration_no"] == mine["registration_no"]
    assert hit["registered_at"] == "2026-11-02T09:30:00+08:00"
    assert hit["registration_type"] == "初始登记"


async def test_a_search_certificate_can_be_fetched_again_as_issued(client):
    await _register(client, "FIN-1")
    certificate = await _search(client, assignor_name=ASSIGNOR["name"])
    await _register(client, "FIN-2")
    again = await client.get(f"/search-certificates/{certificate['certificate_no']}")
    assert again.json() == certificate
    assert len((await _search(client, assignor_name=ASSIGNOR["name"]))["registrations"]) == 2
    unknown = await client.get("/search-certificates/Q0")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")


async def test_a_search_by_registration_number_finds_the_registration(client):
    mine = await _register(client)
    await _register(client, "FIN-OTHER", assignor=OTHER_FACTOR)
    found = await _search(client, registration_no=mine["registration_no"])
    assert [r["registration_no"] for r in found["registrations"]] == [mine["registration_no"]]


# -- 变更 / 展期 / 注销 ---------------------------------------------------------------------------


async def test_an_amendment_is_its_own_entry_and_changes_the_content_but_not_the_rank(
    client, clock
):
    mine = await _register(client)
    clock.advance(days=3)
    renamed = {"name": "苏州华盛精密机械股份有限公司", "uscc": ASSIGNOR["uscc"]}
    response = await client.post(
        f"/registrations/{mine['registration_no']}/amendments",
        json={
            "modification_code": mine["modification_code"],
            "changes": {"assignor": renamed, "invoices": ["26331663148848278689", "2633"]},
        },
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    assert re.fullmatch(r"\d{20}", entry["registration_no"])
    assert entry["registration_no"] != mine["registration_no"]
    assert entry["registration_type"] == "变更登记"
    assert entry["original_registration_no"] == mine["registration_no"]
    assert entry["registered_at"] == "2026-11-05T09:30:00+08:00"
    assert entry["changes"]["assignor"] == renamed
    current = entry["registration"]
    assert current["registered_at"] == mine["registered_at"]
    assert current["invoices"] == ["26331663148848278689", "2633"]
    assert [h["registration_no"] for h in current["history"]] == [entry["registration_no"]]
    by_new_name = await _search(client, assignor_name=renamed["name"])
    assert [r["registration_no"] for r in by_new_name["registrations"]] == [mine["registration_no"]]
    assert (await _search(client, assignor_name=ASSIGNOR["name"]))["registrations"] == []
    by_entry = await client.get(f"/registrations/{entry['registration_no']}")
    assert by_entry.json()["registration_no"] == mine["registration_no"]


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("amendments", {"changes": {"property_description": "改"}}),
        ("extensions", {"period_months": 12}),
        ("cancel", {}),
    ],
)
async def test_a_wrong_modification_code_is_refused_and_changes_nothing(client, path, extra):
    mine = await _register(client)
    number = mine["registration_no"]
    response = await client.post(
        f"/registrations/{number}/{path}", json={"modification_code": "WRONG234", **extra}
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "modification_code does not match",
        "code": "WRONG_MODIFICATION_CODE",
        "message": "修改码错误",
    }
    after = (await client.get(f"/registrations/{number}")).json()
    assert (after["status"], after["history"], after["period_months"]) == ("active", [], 12)


async def test_an_operation_on_an_unknown_number_is_404(client):
    response = await client.post(
        "/registrations/00000000000000000000/extensions",
        json={"modification_code": "X", "period_months": 1},
    )
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({}, "at least one field"), ({"invoices": None}, "invoices cannot be removed")],
)
async def test_an_amendment_must_change_something_and_keep_what_a_filing_needs(
    client, changes, reason
):
    mine = await _register(client)
    response = await client.post(
        f"/registrations/{mine['registration_no']}/amendments",
        json={"modification_code": mine["modification_code"], "changes": changes},
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "changes"
    assert reason in error["reason"]


async def test_an_amendment_may_drop_the_main_contract(client):
    mine = await _register(client)
    response = await client.post(
        f"/registrations/{mine['registration_no']}/amendments",
        json={"modification_code": mine["modification_code"], "changes": {"main_contract": None}},
    )
    assert response.status_code == 201
    assert response.json()["changes"] == {"main_contract": None}
    assert response.json()["registration"]["main_contract"] is None


async def test_cancelling_files_one_cancellation_entry_and_the_registration_leaves_search(
    client, clock
):
    mine = await _register(client)
    number, code = mine["registration_no"], mine["modification_code"]
    clock.advance(hours=1)
    first = await client.post(f"/registrations/{number}/cancel", json={"modification_code": code})
    again = await client.post(f"/registrations/{number}/cancel", json={"modification_code": code})
    assert first.json() == again.json()
    cancelled = again.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] == "2026-11-02T10:30:00+08:00"
    assert [h["registration_type"] for h in cancelled["history"]] == ["注销登记"]
    assert (await _search(client, assignor_uscc=ASSIGNOR["uscc"]))["registrations"] == []
    refused = await client.post(
        f"/registrations/{number}/amendments",
        json={"modification_code": code, "changes": {"invoices": []}},
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "REGISTRATION_CANCELLED")


# -- term and expiry ----------------------------------------------------------------------------


async def test_expiry_is_the_registration_date_plus_the_term_and_then_it_leaves_search(
    client, clock
):
    clock.now = datetime(2026, 1, 31, 23, 59, tzinfo=CST)
    mine = await _register(client, period_months=1)
    assert mine["expires_at"] == "2026-02-28"
    clock.now = datetime(2026, 2, 28, 23, 0, tzinfo=CST)
    assert len((await _search(client, assignor_uscc=ASSIGNOR["uscc"]))["registrations"]) == 1
    clock.advance(hours=2)
    assert (await _search(client, assignor_uscc=ASSIGNOR["uscc"]))["registrations"] == []
    number = mine["registration_no"]
    assert (await client.get(f"/registrations/{number}")).json()["status"] == "expired"
    late = await client.post(
        f"/registrations/{number}/extensions",
        json={"modification_code": mine["modification_code"], "period_months": 1},
    )
    assert (late.status_code, late.json()["code"]) == (409, "REGISTRATION_EXPIRED")


async def test_an_extension_is_refused_before_the_90_days_before_expiry_and_extends_inside(
    client, clock
):
    mine = await _register(client, period_months=12)  # expires 2027-11-02
    number, code = mine["registration_no"], mine["modification_code"]
    body = {"modification_code": code, "period_months": 6}
    clock.now = datetime(2027, 8, 3, 12, 0, tzinfo=CST)  # 91 days before
    early = await client.post(f"/registrations/{number}/extensions", json=body)
    assert (early.status_code, early.json()["code"]) == (409, "EXTENSION_NOT_DUE")
    assert early.json()["message"] == "登记到期日前90日内方可办理展期登记"
    clock.advance(days=1)
    response = await client.post(f"/registrations/{number}/extensions", json=body)
    assert response.status_code == 201, response.text
    extended = response.json()
    assert extended["registration_type"] == "展期登记"
    assert extended["period_months"] == 6
    assert extended["registration"]["period_months"] == 18
    assert extended["registration"]["expires_at"] == "2028-05-02"
    assert extended["registration"]["registered_at"] == mine["registered_at"]


async def test_an_extension_cannot_take_the_term_past_30_years(client, clock):
    mine = await _register(client, period_months=355)
    clock.now = datetime(2056, 5, 1, tzinfo=CST)
    response = await client.post(
        f"/registrations/{mine['registration_no']}/extensions",
        json={"modification_code": mine["modification_code"], "period_months": 6},
    )
    assert (response.status_code, response.json()["code"]) == (422, "TERM_TOO_LONG")


# -- another factor's conflicting registrations -------------------------------------------------


async def test_a_scenario_conflict_over_a_dataset_seller_is_found_by_the_sellers_name(
    client, clock
):
    seller = generate_companies(3).sellers[1]
    debtor = generate_companies(3).buyers[4]
    loaded = await client.post(
        "/admin/scenario",
        json={
            "conflicts": [
                {"seller_index": 1, "debtor_index": 4, "invoices": ["26441000000000000011"]},
                {"seller_index": 1, "days_before": 400, "period_months": 6},
            ]
        },
    )
    assert loaded.status_code == 200, loaded.text
    certificate = await _search(client, assignor_name=seller.name)
    (hit,) = certificate["registrations"]  # the 400-day-old one has expired
    assert hit["assignor"] == {"name": seller.name, "uscc": seller.uscc}
    assert hit["assignee"]["uscc"] != FACTOR["uscc"]
    assert hit["assignee"]["name"].endswith("商业保理有限公司")
    assert hit["registered_at"] == "2026-10-03T09:30:00+08:00"
    assert hit["invoices"] == ["26441000000000000011"]
    assert debtor.name in hit["property_description"]
    assert "26441000000000000011" in hit["property_description"]
    state = await _state(client)
    assert state["registrations"]["seeded"] == 2
    assert len(state["registrations"]["by_status"]["expired"]) == 1


async def test_a_conflict_without_invoices_covers_all_receivables_and_may_be_cancelled(client):
    seeded = await client.post(
        "/admin/seed",
        json={
            "conflicts": [
                {"seller": ASSIGNOR, "factor": OTHER_FACTOR, "amount": "800000.00"},
                {"seller": ASSIGNOR, "cancelled": True, "filer_reference": "OLD-1"},
            ]
        },
    )
    assert seeded.status_code == 201, seeded.text
    live, old = seeded.json()["registrations"]
    assert "modification_code" in live
    (hit,) = (await _search(client, assignor_uscc=ASSIGNOR["uscc"]))["registrations"]
    assert hit["registration_no"] == live["registration_no"]
    assert "全部应收账款" in hit["property_description"]
    assert hit["assignee"] == OTHER_FACTOR
    assert hit["main_contract"]["amount"] == "800000.00"
    gone = (await client.get(f"/registrations/{old['registration_no']}")).json()
    assert gone["status"] == "cancelled"


async def test_a_yaml_scenario_section_backdates_other_factors_registrations():
    section = yaml.safe_load(
        """
registry:
  faults: {latency_ms: 0}
  registrations:
    - filer_reference: OTHER-77
      business_type: 保理
      assignor: {name: 苏州华盛精密机械（苏州）有限公司, uscc: 9132050571358240X0}
      assignee: {name: 杭州另一商业保理有限公司, uscc: 91330106569821743D}
      property_description: 应收账款：发票 26331663148848278689
      period_months: 12
      invoices: ["26331663148848278689"]
      registered_at: 2026-10-01T09:00:00+08:00
"""
    )["registry"]
    assert isinstance(section["registrations"][0]["registered_at"], datetime)
    app = registry.create_app(seed=3, clock=Clock())
    app.state.apply_scenario(section)  # what `simulators up --scenario FILE` calls
    async with asgi_client(app) as client:
        (hit,) = (await _search(client, assignor_name=ASSIGNOR["name"]))["registrations"]
    assert hit["registered_at"] == "2026-10-01T09:00:00+08:00"
    assert hit["filer_reference"] == "OTHER-77"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"conflicts": [{"seller": ASSIGNOR, "seller_index": 0}]}, "conflicts.0"),
        ({"conflicts": [{"seller_index": 0, "amount": "1.234"}]}, "conflicts.0.amount"),
        ({"conflicts": [{"seller_index": 0, "colour": "red"}]}, "conflicts.0.colour"),
        ({"conflicts": [{"seller_index": 5}]}, "scenario"),
        ({"registrations": [{"filer_reference": "X"}]}, "registrations.0.business_type"),
        ({"other": 1}, "other"),
    ],
)
async def test_a_bad_scenario_section_is_refused_naming_the_field(client, section, field):
    response = await client.post("/admin/scenario", json=section)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert (await _state(client))["registrations"]["total"] == 0


# -- admin state, determinism, faults -----------------------------------------------------------


async def test_admin_state_shows_registrations_by_status_operations_and_searches(client):
    kept = await _register(client, "FIN-1")
    dropped = await _register(client, "FIN-2")
    await client.post(
        f"/registrations/{dropped['registration_no']}/cancel",
        json={"modification_code": dropped["modification_code"]},
    )
    certificate = await _search(client, assignor_name=ASSIGNOR["name"])
    state = await _state(client)
    assert state["registrations"] == {
        "total": 2,
        "seeded": 0,
        "by_status": {
            "active": [kept["registration_no"]],
            "expired": [],
            "cancelled": [dropped["registration_no"]],
        },
    }
    assert state["operations"] == {"初始登记": 2, "变更登记": 0, "展期登记": 0, "注销登记": 1}
    assert state["searches"] == [
        {
            "certificate_no": certificate["certificate_no"],
            "query_time": certificate["query_time"],
            "query": {
                "assignor_name": ASSIGNOR["name"],
                "assignor_uscc": None,
                "registration_no": None,
            },
            "registration_nos": [kept["registration_no"]],
        }
    ]
    await client.post("/admin/reset")
    assert (await _state(client))["registrations"]["total"] == 0
    assert (await _state(client))["searches"] == []


async def test_the_same_seed_gives_the_same_numbers_codes_and_conflicts():
    async def run(seed: int) -> list[Any]:
        app = registry.create_app(seed=seed, clock=Clock())
        async with asgi_client(app) as client:
            seeded = await client.post("/admin/seed", json={"conflicts": [{"seller_index": 0}]})
            mine = await client.post("/registrations", json=_filing())
            found = await _search(client, assignor_uscc=generate_companies(seed).sellers[0].uscc)
            return [*seeded.json()["registrations"], mine.json(), found]

    first, again, other = await run(5), await run(5), await run(6)
    assert first == again
    assert first[0]["registration_no"] != other[0]["registration_no"]
    assert first[2]["registrations"][0]["assignor"] != other[2]["registrations"][0]["assignor"]


async def test_an_injected_error_files_nothing_and_a_lost_answer_files_once(client):
    faults = await client.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
    assert faults.status_code == 200
    assert (await client.post("/registrations", json=_filing())).status_code == 503
    assert (await _state(client))["registrations"]["total"] == 0
    await client.put("/admin/faults", json={"lose_answer_rate": 1})
    lost = await client.post("/registrations", json=_filing())
    assert (lost.status_code, lost.content) == (504, b"")
    await client.put("/admin/faults", json={})
    retried = await client.post("/registrations", json=_filing())
    assert retried.status_code == 200  # the lost filing exists: the retry finds it
    assert (await _state(client))["registrations"]["total"] == 1
    assert (await client.get("/admin/faults")).json()["injected"] == {"error": 1, "lose_answer": 1}


async def test_a_malformed_search_answer_is_a_broken_body_but_the_search_is_recorded(client):
    await client.put(
        "/admin/faults", json={"malformed_rate": 1, "paths": ["/registrations/search"]}
    )
    answer = await client.get("/registrations/search", params={"assignor_name": "x"})
    assert answer.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting|Extra data|Invalid|Unterminated"):
        answer.json()
    assert len((await _state(client))["searches"]) == 1
    assert (await client.post("/registrations", json=_filing())).status_code == 201
