"""A seller whose facility runs short (§2.2 partial approval): an application the headroom
cannot cover in full is approved reduced to what is left, paid exactly that, and the limit is
used up to less than a minimum ticket, never beyond it."""

from __future__ import annotations

from decimal import Decimal

import httpx

from canonical import Money, Party, PartyRole
from hub.demo import facility_terms
from hub.operations import open_buyer_limits, open_facilities
from hub.persistence.facilities import BuyerLimitTerms
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack

LIMIT = Decimal("1500000.00")
MIN_TICKET = Decimal("10000.00")


async def test_a_short_facility_is_used_up_by_reduced_approvals_and_never_exceeded(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        seller = stack.companies.sellers[0]
        (terms,) = facility_terms((seller,), one_small=False, limit=LIMIT)
        await open_facilities(stack.hub.units, [terms])
        cases = [c for c in generate_invoices(SEED, 60, stack.companies, {}) if c.seller == seller]
        results = await push_cases(stack.ingress_url, cases, concurrency=1)
        await stack.settle(len(results))
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            states = [
                (await client.get(f"/v1/requests/{r.body['request_id']}")).json()  # type: ignore[index]
                for r in results
            ]
        async with stack.hub.units() as uow:
            facility = await uow.facilities.get(seller.uscc)
        ledger = await stack.bank_ledger()
    paid = sum((Decimal(e["amount"]) for e in ledger), Decimal("0.00"))
    ours = [s["disbursement"] for s in states if s["state"] == "DISBURSED"]
    assert paid == sum((Decimal(d["amount"]) for d in ours), Decimal("0.00"))
    financed = sum((Decimal(d["principal"]) for d in ours), Decimal("0.00"))
    assert facility is not None
    assert facility.used.amount == financed  # the principals financed, fees deducted or not
    assert facility.reserved.amount == 0
    assert financed <= LIMIT
    wanted = sum((c.invoice.total * Decimal("0.80") for c in cases), Decimal(0))
    assert wanted > LIMIT  # the cases ask for more than the facility holds...
    assert LIMIT - financed < MIN_TICKET  # ...so it is used up, to less than a minimum ticket
    reduced = [
        s for s in states if any("approved reduced" in (h["note"] or "") for h in s["history"])
    ]
    assert reduced
    assert all(s["state"] == "DISBURSED" for s in reduced)
    rejected = {s["reason"] for s in states if s["state"] == "REJECTED"}
    assert rejected <= {"LIMIT_SELLER"}


async def test_a_buyer_limit_caps_what_all_sellers_together_finance_against_that_buyer(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        buyer = stack.companies.buyers[0]
        limit = Decimal("800000.00")
        terms = BuyerLimitTerms(
            Party(name=buyer.name, uscc=buyer.uscc, role=PartyRole.BUYER), Money(amount=limit)
        )
        await open_buyer_limits(stack.hub.units, [terms])
        cases = [c for c in generate_invoices(SEED, 80, stack.companies, {}) if c.buyer == buyer]
        results = await push_cases(stack.ingress_url, cases, concurrency=1)
        await stack.settle(len(results))
        async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
            states = [
                (await client.get(f"/v1/requests/{r.body['request_id']}")).json()  # type: ignore[index]
                for r in results
            ]
        async with stack.hub.units() as uow:
            figures = await uow.facilities.buyer_limit(buyer.uscc)
    assert figures is not None
    _, used, reserved = figures
    paid = sum(
        (Decimal(s["disbursement"]["principal"]) for s in states if s["state"] == "DISBURSED"),
        Decimal("0.00"),
    )
    assert used.amount == paid  # every seller's payout against this buyer, and nothing else
    assert reserved.amount == 0
    assert 0 < paid <= limit
    assert {s["reason"] for s in states if s["state"] == "REJECTED"} <= {"LIMIT_BUYER"}
    assert any(s["reason"] == "LIMIT_BUYER" for s in states) or any(
        "LIMIT_BUYER" in (h["note"] or "") for s in states for h in s["history"]
    )
