"""A seller may ask for less than the advance rate allows: `?requested_amount=` on the ERP push
caps the principal (§2.2: the least of advance x eligible base, the limits and the amount
requested); a bad amount is refused naming the parameter, and nothing is stored."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx

from simulators.erp.dataset import generate_invoices
from simulators.erp.payloads import hub_path, render
from tests.e2e.stack import SEED, running_stack


async def test_a_requested_amount_caps_the_principal_and_a_bad_one_is_refused(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack, httpx.AsyncClient(base_url=stack.ingress_url) as client:
        case = next(
            c
            for c in generate_invoices(SEED, 10, stack.companies, {})
            if c.expected_outcome == "disbursable"
        )
        path, body = hub_path(case), render(case)
        bad = await client.post(path, content=body, params={"requested_amount": "12.345"})
        zero = await client.post(path, content=body, params={"requested_amount": "0"})
        good = await client.post(path, content=body, params={"requested_amount": "20000.00"})
        assert good.status_code == 202, good.text
        request_id = good.json()["request_id"]
        deadline = time.monotonic() + 20
        while (paid := (await client.get(f"/v1/requests/{request_id}")).json())[
            "state"
        ] != "DISBURSED":
            assert time.monotonic() < deadline, paid["state"]
            await asyncio.sleep(0.05)

    assert (bad.status_code, zero.status_code) == (422, 422)
    assert [p["path"] for p in bad.json()["problems"]] == ["?requested_amount"]
    assert case.invoice.total * Decimal("0.80") > Decimal("20000.00")  # the cap really cuts
    assert Decimal(paid["disbursement"]["principal"]) == Decimal("20000.00")
    matched = next(h for h in paid["history"] if h["state"] == "MATCHED")
    assert "the amount requested" in matched["note"]
