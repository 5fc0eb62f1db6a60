"""Export invoices matched against their customs declarations through the running stack (§3.3
"Export: customs").

The ERP simulator's Kingdee invoices, zero-rated as exports are (出口零税率: 0 % on every line,
so the total is the amount), are pushed with their sales orders; the declarations are whole
DecMessage documents a customs broker would send, ingested through `/v1/ingest` with the sales
order number as their 合同协议号 (ContrNo) and the invoiced goods at the invoiced prices, in CNY,
exported two days after the invoice.

- Default policy (`customs_matching: when_present`): a declaration by the seller is matched and
  the invoice paid; one naming another exporter (境内发货人) lands in MATCH_REVIEW with
  CUSTOMS_EXPORTER.
- `customs_matching: required`: the invoice waits (AWAITING_DOCUMENTS) until its declaration is
  ingested, then is paid.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

from routes.policy import Policy, flow_policy
from simulators.erp.dataset import GeneratedCase, generate_invoices
from simulators.erp.kingdee import render_kingdee
from tests.e2e.stack import SEED, Stack, running_stack
from tests.support.customs import Goods, decmessage


def _kingdee_cases(stack: Stack) -> list[GeneratedCase]:
    cases = generate_invoices(SEED, 12, stack.companies, {})
    return [c for c in cases if c.vendor == "kingdee" and c.expected_outcome == "disbursable"]


def _zero_rated(case: GeneratedCase) -> dict[str, Any]:
    """The case's Kingdee push (invoice, sales order, receivable) with every line at 0 % VAT."""
    body = json.loads(render_kingdee(case))
    data = body["data"] if isinstance(body["data"], dict) else json.loads(body["data"])
    model = data["Model"]
    for entry in model["FSALESICENTRY"]:
        entry.update(
            FTAXRATE=0,
            FDETAILTAXAMOUNTFOR=0,
            FALLAMOUNTFOR=entry["FAMOUNTFOR"],
            FAUXTAXPRICE=entry["FAUXPRICE"],
        )
    model.update(FTAXAMOUNTFOR=0, FAFTERTOTALTAXFOR=model["FHEADAUXPRICEFOR"])
    for order in data["Related"]["SAL_SaleOrder"]:
        for entry in order["FSaleOrderEntry"]:
            entry.update(
                FEntryTaxRate=0,
                FTaxAmount=0,
                FAllAmount=entry["FAmount"],
                FTaxPrice=entry["FPrice"],
            )
    for receivable in data["Related"].get("AR_receivable", []):
        for plan in receivable.get("FEntityPlan", []):
            plan["FPAYAMOUNTFOR"] = model["FHEADAUXPRICEFOR"]
    return {**body, "data": data}


def _declaration(push: dict[str, Any], n: int, *, exporter_uscc: str, exporter_name: str) -> bytes:
    """The export declaration of the push's goods under its sales order (the contract)."""
    model = push["data"]["Model"]
    invoiced = date.fromisoformat(model["FINVOICEDATE"])
    goods = tuple(
        Goods(
            name=entry["FMATERIALNAME"],
            hs_code="8413503100",
            quantity=str(entry["FPRICEQTY"]),
            price=str(Decimal(str(entry["FAUXPRICE"]))),
        )
        for entry in model["FSALESICENTRY"]
    )
    return decmessage(
        contract=model["FSALESICENTRY"][0]["FSALESORDERNO"],
        exporter_uscc=exporter_uscc,
        exporter_name=exporter_name,
        goods=goods,
        entry_id=f"224820260{n:09d}",
        seq_no=f"0000202611{n:08d}",
        client_seq_no=f"DEC-E2E-{n:04d}",
        ie_date=f"{invoiced + timedelta(days=2):%Y%m%d}",
    )


async def _push(stack: Stack, push: dict[str, Any]) -> str:
    raw = json.dumps(push, ensure_ascii=False).encode()
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        answer = await client.post("/v1/erp/kingdee/invoices", content=raw)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["request_id"])


async def _ingest(stack: Stack, declaration: bytes) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        answer = await client.post("/v1/ingest/customs-decmessage", content=declaration)
    assert answer.status_code < 300, answer.text
    return dict(answer.json())


async def test_an_export_with_the_sellers_declaration_is_paid_and_another_exporters_is_reviewed(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        first, second = _kingdee_cases(stack)[:2]
        paid_push, reviewed_push = _zero_rated(first), _zero_rated(second)
        stranger = next(s for s in stack.companies.sellers if s.uscc != second.seller.uscc)
        own = _declaration(
            paid_push, 1, exporter_uscc=first.seller.uscc, exporter_name=first.seller.name
        )
        other = _declaration(
            reviewed_push, 2, exporter_uscc=stranger.uscc, exporter_name=stranger.name
        )
        stored = [await _ingest(stack, own), await _ingest(stack, other)]

        paid_id = await _push(stack, paid_push)
        reviewed_id = await _push(stack, reviewed_push)
        paid = await stack.request_in(paid_id, "DISBURSED", "REJECTED", "MATCH_REVIEW")
        reviewed = await stack.request_in(reviewed_id, "MATCH_REVIEW", "REJECTED", "DISBURSED")
        ledger = await stack.bank_ledger()

    assert [s["kind"] for s in stored] == ["document", "document"]
    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
    assert [e["end_to_end_id"] for e in ledger] == [paid["disbursement"]["instruction_id"]]
    assert (reviewed["state"], reviewed["reason"]) == ("MATCH_REVIEW", "CUSTOMS_EXPORTER")
    assert reviewed["detail"] == (
        f"declaration 224820260000000002 names exporter (境内发货人) {stranger.uscc} "
        f"{stranger.name}, not the seller {second.seller.uscc}"
    )


async def test_with_a_declaration_required_the_invoice_waits_for_it_and_is_then_paid(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    policy = flow_policy(Policy(customs_matching="required"))
    async with running_stack(url, policy=policy) as stack:
        case = _kingdee_cases(stack)[0]
        push = _zero_rated(case)
        request_id = await _push(stack, push)
        waiting = await stack.request_in(request_id, "AWAITING_DOCUMENTS", "DISBURSED", "REJECTED")

        declaration = _declaration(
            push, 3, exporter_uscc=case.seller.uscc, exporter_name=case.seller.name
        )
        await _ingest(stack, declaration)
        paid = await stack.request_in(request_id, "DISBURSED", "REJECTED", "MATCH_REVIEW")

    assert (waiting["state"], waiting["reason"]) == ("AWAITING_DOCUMENTS", "DOCUMENTS_AWAITED")
    assert f"a customs declaration under contract(s) {case.order.number}" in waiting["detail"]
    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
    assert [h["state"] for h in paid["history"]][:4] == [
        "SUBMITTED",
        "AWAITING_DOCUMENTS",
        "SUBMITTED",
        "MATCHED",
    ]
    assert "customs declaration(s) 224820260000000003 came" in paid["history"][2]["note"]
