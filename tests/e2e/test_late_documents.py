"""An ERP pushes an invoice without the sales order it names (§3.3): the application waits
(AWAITING_DOCUMENTS); the order pushed later through `/v1/ingest` completes it and it is paid.
An order that never comes makes it a NO_ORDER exception once the policy's wait has run out (the
hub's clock is moved, not slept on), which an operator then approves (`factorhub review`)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
from typer.testing import CliRunner

from hub.cli import app
from simulators.erp.dataset import GeneratedCase, generate_invoices
from simulators.erp.kingdee import render_kingdee
from tests.e2e.stack import SEED, Stack, running_stack

runner = CliRunner()


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _kingdee_case(stack: Stack, position: int) -> GeneratedCase:
    cases = generate_invoices(SEED, 12, stack.companies, {})
    return [c for c in cases if c.vendor == "kingdee" and c.expected_outcome == "disbursable"][
        position
    ]


def _split(case: GeneratedCase) -> tuple[bytes, bytes]:
    """The case's invoice push without its sales order, and the order's own Save body."""
    body = json.loads(render_kingdee(case))
    data = body["data"] if isinstance(body["data"], dict) else json.loads(body["data"])
    (order,) = data["Related"]["SAL_SaleOrder"]
    data["Related"]["SAL_SaleOrder"] = []
    invoice = {**body, "data": data}
    customer = {
        "FNumber": case.buyer.kingdee_customer_number,
        "FName": case.buyer.name,
        "FSOCIALCRECODE": case.buyer.uscc,
    }
    sale_order = {"formid": "SAL_SaleOrder", "data": {"Model": order, "Customer": customer}}
    encode = json.dumps
    return (
        encode(invoice, ensure_ascii=False).encode(),
        encode(sale_order, ensure_ascii=False).encode(),
    )


async def _push_invoice(stack: Stack, raw: bytes) -> str:
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        answer = await client.post("/v1/erp/kingdee/invoices", content=raw)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["request_id"])


async def test_an_invoice_pushed_without_its_order_waits_and_the_order_pushed_later_gets_it_paid(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        case = _kingdee_case(stack, 0)
        invoice, order = _split(case)
        request_id = await _push_invoice(stack, invoice)
        waiting = await stack.request_in(request_id, "AWAITING_DOCUMENTS")

        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            stored = await client.post("/v1/ingest/kingdee-sale-order", content=order)
        paid = await stack.request_in(request_id, "DISBURSED", "REJECTED", "MATCH_REVIEW")
        ledger = await stack.bank_ledger()

    assert waiting["reason"] == "DOCUMENTS_AWAITED"
    assert case.order.number in waiting["detail"]
    assert stored.json()["kind"] == "document"
    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
    assert [h["state"] for h in paid["history"]][:4] == [
        "SUBMITTED",
        "AWAITING_DOCUMENTS",
        "SUBMITTED",
        "MATCHED",
    ]
    assert [e["end_to_end_id"] for e in ledger] == [paid["disbursement"]["instruction_id"]]


async def test_an_order_that_never_comes_lands_in_match_review_and_the_operator_approves_it(
    tmp_path,
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    clock = MovableClock()
    async with running_stack(url, clock=clock) as stack:
        case = _kingdee_case(stack, 1)
        invoice, _ = _split(case)
        request_id = await _push_invoice(stack, invoice)
        await stack.request_in(request_id, "AWAITING_DOCUMENTS")
        async with stack.hub.units() as uow:
            (timer,) = await uow.timers.pending()

        clock.now = timer.due_at + timedelta(minutes=1)  # 72 h later (the default policy)
        review = await stack.request_in(request_id, "MATCH_REVIEW")
        listed = await asyncio.to_thread(
            runner.invoke, app, ["review", "list", "--json", "--database-url", url]
        )
        approved = await asyncio.to_thread(
            runner.invoke,
            app,
            ["review", "approve", request_id, "--note", "order on paper", "--database-url", url],
        )
        paid = await stack.request_in(request_id, "DISBURSED", "REJECTED")

    assert timer.message_type == "DocumentWaitExpired"
    assert review["reason"] == "NO_ORDER"
    assert f"order(s) {case.order.number} named by the invoice never came" in review["detail"]
    assert "waited 72 h" in review["detail"]
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.output)
    assert (item["request_id"], item["reason"]) == (request_id, "NO_ORDER")
    assert "never came" in item["detail"]
    assert approved.exit_code == 0, approved.output
    assert paid["state"] == "DISBURSED", (paid["reason"], paid["detail"])
