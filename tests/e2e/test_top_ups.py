"""A top-up end to end (§2.2, §3.1): an invoice financed reduced by a short facility is pushed
again by its seller's ERP, as a new document, once the facility was raised; the second
application tops the financing up to exactly advance rate x face, and a third is refused."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx

from hub.demo import facility_terms
from hub.operations import open_facilities
from simulators.erp.dataset import DISBURSABLE, generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, running_stack

FEN = Decimal("0.01")


async def _push(stack: Stack, case: Any, total: int) -> dict[str, Any]:
    """Push the case, wait until `total` applications are at rest, and read this one."""
    (result,) = await push_cases(stack.ingress_url, [case], concurrency=1)
    assert result.status_code == 202
    await stack.settle(total)
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        request_id = result.body["request_id"]  # type: ignore[index]
        return dict((await client.get(f"/v1/requests/{request_id}")).json())


async def test_a_reduced_financing_is_topped_up_to_the_advance_rate_and_no_further(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        seller = stack.companies.sellers[0]
        case = next(
            c
            for c in generate_invoices(SEED, 60, stack.companies, {})
            if c.seller == seller
            and c.expected_outcome == DISBURSABLE
            and c.invoice.total >= Decimal("30000.00")
        )
        face = case.invoice.total
        gross = (face * Decimal("0.80")).quantize(FEN, ROUND_DOWN)  # what the invoice finances
        short = (gross / 2).quantize(FEN, ROUND_DOWN)  # the facility: half of it, >= 10,000.00
        await open_facilities(
            stack.hub.units, facility_terms((seller,), limit=short, one_small=False)
        )

        first = await _push(stack, case, 1)
        assert first["state"] == "DISBURSED"
        assert Decimal(first["disbursement"]["principal"]) == short  # cut by the facility

        await open_facilities(stack.hub.units, facility_terms((seller,), one_small=False))
        again = replace(case, document_no=f"{case.document_no}-2")  # a new ERP document
        second = await _push(stack, again, 2)
        assert second["state"] == "DISBURSED"
        topped = Decimal(second["disbursement"]["principal"])
        assert topped == gross - short  # by hand: 0.80 x face - what the first one financed
        assert short + topped == gross
        matched = next(h for h in second["history"] if h["state"] == "MATCHED")
        assert "(TOPUP_CAP)" in matched["note"]
        assert f"approved reduced to {gross - short}" in matched["note"]

        third = await _push(stack, replace(case, document_no=f"{case.document_no}-3"), 3)
        assert (third["state"], third["reason"]) == ("REJECTED", "TOPUP_CAP")
        assert "nothing left" in third["history"][-1]["note"]
        assert len(await stack.bank_ledger()) == 2  # two payouts on the invoice, no third
