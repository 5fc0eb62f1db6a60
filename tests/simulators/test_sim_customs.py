"""The customs Single Window simulator answers DecMessage XML that tells the ERP dataset's story."""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from lxml import etree

from mappings.customs_dec import decmessage_to_canonical
from simulators import customs, runner
from simulators.common.clock import CST
from simulators.erp.dataset import STANDARD_CASES, generate_companies, generate_invoices
from simulators.runner import running_simulators
from tests.simulators.conftest import asgi_client

DEC = "{http://www.chinaport.gov.cn/dec}"
DXP = "{http://www.chinaport.gov.cn/dxp}"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=CST)
SERVICES = ("S0001", "S0002", "S0003", "S0004")


async def _declarations(client: httpx.AsyncClient) -> list[dict[str, object]]:
    state = (await client.get("/admin/state")).json()
    return list(state["declarations"])


def _text(root: etree._Element, path: str) -> str:
    found = root.find(path)
    assert found is not None, path
    return found.text or ""


async def test_a_declaration_names_the_seller_the_order_and_the_invoice_amount():
    cases = {c.case_id: c for c in generate_invoices(5, STANDARD_CASES, generate_companies(5))}
    async with asgi_client(customs.create_app(seed=5)) as client:
        listed = await _declarations(client)
        assert listed
        for entry in listed:
            answer = await client.get(f"/dec/declarations/{entry['entry_id']}")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("application/xml")
            root = etree.fromstring(answer.content)
            assert root.tag == f"{DEC}DecMessage"
            case = cases[str(entry["case_id"])]
            head = f"{DEC}DecHead/{DEC}"
            assert _text(root, f"{head}EntryId") == entry["entry_id"]
            assert _text(root, f"{head}IEFlag") == "E"
            assert _text(root, f"{head}TradeCoScc") == case.seller.uscc
            assert _text(root, f"{head}TradeName") == case.seller.name
            assert _text(root, f"{head}ContrNo") == case.order.number
            lines = root.findall(f"{DEC}DecLists/{DEC}DecList")
            assert [int(_text(x, f"{DEC}GQty")) for x in lines] == [
                line.quantity for line in case.invoice.lines
            ]
            assert {_text(x, f"{DEC}TradeCurr") for x in lines} == {"CNY"}
            declared = sum((Decimal(_text(x, f"{DEC}DeclTotal")) for x in lines), Decimal(0))
            assert declared == case.invoice.amount
            assert str(entry["entry_id"])[8] == "0"  # export


async def test_only_goods_cases_are_declared_and_service_invoices_are_not():
    cases = generate_invoices(5, STANDARD_CASES, generate_companies(5))
    async with asgi_client(customs.create_app(seed=5)) as client:
        declared = {str(d["case_id"]) for d in await _declarations(client)}
    for case in cases:
        has_service = any(line.product_code in SERVICES for line in case.invoice.lines)
        assert (case.case_id in declared) is not has_service


async def test_the_hub_mapper_reads_every_declaration_with_the_same_key_and_total():
    async with asgi_client(customs.create_app(seed=2)) as client:
        for entry in await _declarations(client):
            raw = (await client.get(f"/dec/declarations/{entry['entry_id']}")).content
            mapped = decmessage_to_canonical(raw, received_at=NOW)
            assert mapped.entry_id == entry["entry_id"]
            assert mapped.total.amount == Decimal(str(entry["total"]))
            assert mapped.contract_number == entry["contract_no"]


async def test_an_unknown_or_malformed_entry_id_gets_a_dec_import_response_refusal():
    async with asgi_client(customs.create_app(seed=1)) as client:
        unknown = await client.get("/dec/declarations/999920260999999999")
        root = etree.fromstring(unknown.content)
        assert root.tag == f"{DEC}DecImportResponse"
        assert _text(root, f"{DEC}ResponseCode") == customs.app.NOT_FOUND
        assert "999920260999999999" in _text(root, f"{DEC}ErrorMessage")
        malformed = await client.get("/dec/declarations/12AB")
        code = _text(etree.fromstring(malformed.content), f"{DEC}ResponseCode")
        assert code == customs.app.WRONG_FORMAT
        state = (await client.get("/admin/state")).json()
        assert state["not_found"] == {"999920260999999999": 1}
        assert state["queries"] == {"999920260999999999": 1}


async def test_the_dxp_envelope_carries_the_same_declaration_in_base64():
    async with asgi_client(customs.create_app(seed=1)) as client:
        entry_id = (await _declarations(client))[0]["entry_id"]
        bare = (await client.get(f"/dec/declarations/{entry_id}")).content
        wrapped = await client.get(f"/dec/declarations/{entry_id}", params={"envelope": "dxp"})
        root = etree.fromstring(wrapped.content)
        assert root.tag == f"{DXP}DxpMsg"
        assert base64.b64decode(_text(root, f"{DXP}Data")) == bare
        mapped = decmessage_to_canonical(wrapped.content, received_at=NOW)
        assert mapped.entry_id == entry_id


async def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_declarations():
    bodies = []
    for seed in (9, 9, 10):
        async with asgi_client(customs.create_app(seed=seed)) as client:
            listed = await _declarations(client)
            first = await client.get(f"/dec/declarations/{listed[0]['entry_id']}")
            bodies.append((listed, first.content))
    assert bodies[0] == bodies[1]
    assert bodies[0][0] != bodies[2][0]


async def test_a_scenario_withholds_a_declaration_and_shifts_another_value_until_reset():
    async with asgi_client(customs.create_app(seed=4)) as client:
        first, second = (await _declarations(client))[:2]
        loaded = await client.post(
            "/admin/scenario",
            json={"missing": [first["entry_id"]], "value_shift_pct": {second["entry_id"]: 10}},
        )
        assert loaded.status_code == 200, loaded.text
        gone = await client.get(f"/dec/declarations/{first['entry_id']}")
        assert etree.fromstring(gone.content).tag == f"{DEC}DecImportResponse"
        raw = (await client.get(f"/dec/declarations/{second['entry_id']}")).content
        mapped = decmessage_to_canonical(raw, received_at=NOW)  # lines still add up
        expected = (Decimal(str(second["total"])) * Decimal("1.1")).quantize(Decimal("0.01"))
        assert abs(mapped.total.amount - expected) <= Decimal("0.05")
        await client.post("/admin/reset")
        back = await client.get(f"/dec/declarations/{first['entry_id']}")
        assert etree.fromstring(back.content).tag == f"{DEC}DecMessage"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"missing": ["123"]}, "missing.0"),
        ({"cases": -1}, "cases"),
        ({"value_shift_pct": {"111111111111111111": 5}}, "scenario"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_a_bad_scenario_is_refused_naming_the_field(section, field):
    async with asgi_client(customs.create_app(seed=4)) as client:
        answer = await client.post("/admin/scenario", json=section)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == field


async def test_injected_errors_and_lost_answers_reach_the_declaration_query():
    async with asgi_client(customs.create_app(seed=4)) as client:
        entry_id = (await _declarations(client))[0]["entry_id"]
        await client.put("/admin/faults", json={"error_rate": 1, "error_status": 503})
        assert (await client.get(f"/dec/declarations/{entry_id}")).status_code == 503
        await client.put("/admin/faults", json={"lose_answer_rate": 1})
        lost = await client.get(f"/dec/declarations/{entry_id}")
        assert (lost.status_code, lost.content) == (504, b"")
        assert (await client.get("/admin/state")).json()["queries"] == {entry_id: 1}


async def test_it_runs_as_a_real_server_and_a_reset_fault_breaks_the_connection():
    runner.SIMULATORS["customs-under-test"] = customs.create_app
    try:
        async with running_simulators(["customs-under-test"], seed=3) as sims:
            url = sims["customs-under-test"].base_url
            async with httpx.AsyncClient(base_url=url) as client:
                entry_id = (await _declarations(client))[0]["entry_id"]
                ok = await client.get(f"/dec/declarations/{entry_id}")
                assert etree.fromstring(ok.content).tag == f"{DEC}DecMessage"
                await client.put("/admin/faults", json={"reset_rate": 1})
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.get(f"/dec/declarations/{entry_id}")
    finally:
        del runner.SIMULATORS["customs-under-test"]
