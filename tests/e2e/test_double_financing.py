"""The same invoice offered twice — by two tenants, through two ERPs — is financed once."""

from __future__ import annotations

import httpx

from simulators.erp.dataset import generate_invoices
from simulators.erp.payloads import hub_path, render
from tests.e2e.stack import SEED, running_stack


async def test_the_same_invoice_from_two_tenants_is_financed_once_and_paid_once(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        case = next(c for c in generate_invoices(SEED, 10, stack.companies, {}))
        ids = []
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            for tenant in ("factor-a", "factor-b"):
                answer = await client.post(
                    hub_path(case), content=render(case), headers={"x-factorhub-tenant": tenant}
                )
                assert answer.status_code == 202
                ids.append(answer.json()["request_id"])
            assert ids[0] != ids[1]  # two applications...
            await stack.settle(2)
            states = [(await client.get(f"/v1/requests/{i}")).json() for i in ids]
        assert sorted(s["state"] for s in states) == ["DISBURSED", "REJECTED"]  # ...one financing
        rejected = next(s for s in states if s["state"] == "REJECTED")
        assert rejected["reason"] == "DUPLICATE_FINANCING"
        assert case.invoice.number in rejected["detail"]
        assert len(await stack.bank_ledger()) == 1
