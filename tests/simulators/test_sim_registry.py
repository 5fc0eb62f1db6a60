import re

import pytest

ASSIGNOR = {"name": "苏州华盛精密机械（苏州）有限公司", "uscc": "9132050571358240X0"}
FACTOR = {"name": "上海示例商业保理有限公司", "uscc": "913101156607431925"}
OTHER_FACTOR = {"name": "杭州另一商业保理有限公司", "uscc": "91330106569821743D"}


def _filing(reference="FIN-2026-000001", assignee=FACTOR, **overrides):
    body = {
        "filer_reference": reference,
        "business_type": "保理",
        "assignor": ASSIGNOR,
        "assignee": assignee,
        "property_description": "应收账款：债务人南京永达纺织有限公司，发票 26331663148848278689",
        "period_months": 12,
        "main_contract": {"number": "FC-2026-0001", "currency": "CNY", "amount": "5852766.29"},
        "invoices": ["26331663148848278689"],
    }
    body.update(overrides)
    return body


async def test_registration_returns_number_code_and_expiry(registry_client):
    response = await registry_client.post("/registrations", json=_filing())
    assert response.status_code == 201
    receipt = response.json()
    assert re.fullmatch(r"\d{20}", receipt["registration_no"])
    assert len(receipt["modification_code"]) == 8
    assert receipt["registered_at"].endswith("+08:00")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", receipt["expires_at"])
    assert receipt["filer_reference"] == "FIN-2026-000001"


async def test_same_filer_reference_from_same_assignee_returns_the_same_registration(
    registry_client,
):
    first = await registry_client.post("/registrations", json=_filing())
    again = await registry_client.post("/registrations", json=_filing())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    stats = (await registry_client.get("/admin/stats")).json()
    assert stats == {"registrations": 1, "requests": 2}


async def test_same_filer_reference_from_another_assignee_is_another_registration(
    registry_client,
):
    mine = await registry_client.post("/registrations", json=_filing())
    theirs = await registry_client.post("/registrations", json=_filing(assignee=OTHER_FACTOR))
    assert theirs.status_code == 201
    assert theirs.json()["registration_no"] != mine.json()["registration_no"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"assignor": {"name": "某公司", "uscc": "9132050571358240X1"}}, "assignor.uscc"),
        ({"period_months": 0}, "period_months"),
        ({"period_months": 361}, "period_months"),
        ({"period_months": "12"}, "period_months"),
        ({"business_type": "应收账款质押"}, "business_type"),
        ({"filer_reference": ""}, "filer_reference"),
        ({"filer_reference": "x" * 65}, "filer_reference"),
        (
            {"main_contract": {"number": "C1", "currency": "CNY", "amount": 100.5}},
            "main_contract.amount",
        ),
        (
            {"main_contract": {"number": "C1", "currency": "USD", "amount": "1.00"}},
            "main_contract.currency",
        ),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_input_is_answered_422_with_field_errors(registry_client, overrides, field):
    response = await registry_client.post("/registrations", json=_filing(**overrides))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert field in {e["field"] for e in errors}
    assert all(e["reason"] for e in errors)


async def test_malformed_json_is_bad_input(registry_client):
    response = await registry_client.post(
        "/registrations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"]


async def test_search_finds_seeded_conflicting_registrations_by_normalised_name(registry_client):
    seeded = await registry_client.post(
        "/admin/seed",
        json={
            "registrations": [
                _filing("OTHER-77", OTHER_FACTOR, registered_at="2026-10-01T09:00:00+08:00"),
            ]
        },
    )
    assert seeded.status_code == 201
    await registry_client.post("/registrations", json=_filing())
    half_width_name = "苏州华盛精密机械(苏州)有限公司"
    result = await registry_client.get(
        "/registrations/search", params={"assignor_name": half_width_name}
    )
    assert result.status_code == 200
    body = result.json()
    assert body["certificate_no"]
    assert body["query_time"].endswith("+08:00")
    hits = body["registrations"]
    assert [h["assignee"]["uscc"] for h in hits] == [OTHER_FACTOR["uscc"], FACTOR["uscc"]]
    assert hits[0]["filer_reference"] == "OTHER-77"
    assert hits[0]["registered_at"] == "2026-10-01T09:00:00+08:00"
    assert hits[0]["invoices"] == ["26331663148848278689"]
    assert hits[0]["status"] == "active"
    assert "modification_code" not in hits[0]


async def test_search_by_uscc_and_search_needs_a_key(registry_client):
    await registry_client.post("/registrations", json=_filing())
    by_code = await registry_client.get(
        "/registrations/search", params={"assignor_uscc": ASSIGNOR["uscc"]}
    )
    assert len(by_code.json()["registrations"]) == 1
    other_name = await registry_client.get(
        "/registrations/search", params={"assignor_name": "苏州华盛精密机械有限公司"}
    )
    assert other_name.json()["registrations"] == []  # exact full names only, no fuzzy match
    assert (await registry_client.get("/registrations/search")).status_code == 422


async def test_cancel_with_wrong_code_is_refused_and_right_code_cancels(registry_client):
    receipt = (await registry_client.post("/registrations", json=_filing())).json()
    number = receipt["registration_no"]
    wrong = await registry_client.post(
        f"/registrations/{number}/cancel", json={"modification_code": "WRONG123"}
    )
    assert wrong.status_code == 403
    assert (await registry_client.get(f"/registrations/{number}")).json()["status"] == "active"
    right = await registry_client.post(
        f"/registrations/{number}/cancel", json={"modification_code": receipt["modification_code"]}
    )
    assert right.status_code == 200
    assert right.json()["status"] == "cancelled"
    assert (await registry_client.get(f"/registrations/{number}")).json()["status"] == "cancelled"


async def test_unknown_registration_is_404(registry_client):
    assert (await registry_client.get("/registrations/00000000000000000000")).status_code == 404
    cancel = await registry_client.post(
        "/registrations/00000000000000000000/cancel", json={"modification_code": "X"}
    )
    assert cancel.status_code == 404


async def test_admin_received_lists_business_requests_in_order_and_reset_clears(registry_client):
    await registry_client.post("/registrations", json=_filing())
    await registry_client.get("/registrations/search", params={"assignor_name": "x"})
    received = (await registry_client.get("/admin/received")).json()
    assert [(r["method"], r["path"]) for r in received] == [
        ("POST", "/registrations"),
        ("GET", "/registrations/search"),
    ]
    assert received[0]["body"]["filer_reference"] == "FIN-2026-000001"
    assert received[1]["query"] == "assignor_name=x"
    await registry_client.post("/admin/reset")
    assert (await registry_client.get("/admin/stats")).json() == {"registrations": 0, "requests": 0}


async def test_a_batch_upload_answers_each_filing_on_its_own(registry_client):
    first = _filing("FIN-B-1")
    await registry_client.post("/registrations", json=first)
    response = await registry_client.post(
        "/registrations/batch",
        json={"registrations": [first, _filing("FIN-B-2"), _filing("FIN-B-3", period_months=0)]},
    )
    assert response.status_code == 200
    again, new, bad = response.json()["results"]
    assert again["status"] == 200
    assert again["filer_reference"] == "FIN-B-1"
    assert new["status"] == 201
    assert re.fullmatch(r"\d{20}", new["registration_no"])
    assert bad["status"] == 422
    assert bad["errors"][0]["field"] == "registrations.2.period_months"
    single = await registry_client.post("/registrations", json=_filing("FIN-B-2"))
    assert single.json()["registration_no"] == new["registration_no"]


async def test_an_empty_batch_is_bad_input(registry_client):
    response = await registry_client.post("/registrations/batch", json={"registrations": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "registrations"
