"""Other factors at 中登网 (民法典 768, §1.7, §3.1): an earlier registration naming our invoice
stops the financing, one found only by the re-search cancels ours, and a blanket registration
waits for an operator."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from hub.review import ReviewError, approve, pending_reviews, reject
from routes.policy import FlowPolicy
from simulators.erp.dataset import Company, GeneratedCase, generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, running_stack

TODAY = date.today()


def _cases(stack: Stack, seller: Company, count: int) -> list[GeneratedCase]:
    cases = generate_invoices(SEED, 60, stack.companies, {}, issued_from=TODAY - timedelta(days=10))
    return [c for c in cases if c.seller == seller][:count]


async def _seed(stack: Stack, seller: Company, invoices: list[str]) -> str:
    """Another factor registers over the seller's receivables (all of them without invoices)."""
    body = {
        "conflicts": [
            {
                "seller": {"name": seller.name, "uscc": seller.uscc},
                "invoices": invoices,
                "days_before": 2,
            }
        ]
    }
    async with httpx.AsyncClient(base_url=stack.sims["registry"].admin_url) as client:
        answer = await client.post("/seed", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["registrations"][0]["registration_no"])


async def _push(stack: Stack, cases: list[GeneratedCase]) -> list[str]:
    results = await push_cases(stack.ingress_url, cases, concurrency=1)
    assert all(r.status_code == 202 for r in results)
    return [r.body["request_id"] for r in results]  # type: ignore[index]


async def _request(stack: Stack, request_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        return dict((await client.get(f"/v1/requests/{request_id}")).json())


async def _until(stack: Stack, request_id: str, *states: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body = await _request(stack, request_id)
        if body["state"] in states:
            return body
        where = f"{body['state']} {body['reason']} {body['detail']}"
        assert time.monotonic() < deadline, f"{request_id} stuck: {where}"
        await asyncio.sleep(0.05)


async def _reserved(stack: Stack, seller: Company) -> object:
    async with stack.hub.units() as uow:
        facility = await uow.facilities.get(seller.uscc)
    assert facility is not None
    return facility.reserved.amount


async def test_an_earlier_registration_naming_the_invoice_stops_the_financing(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        seller = stack.companies.sellers[0]
        taken, free = _cases(stack, seller, 2)
        theirs = await _seed(stack, seller, [taken.invoice.number])
        taken_id, free_id = await _push(stack, [taken, free])
        refused = await _until(stack, taken_id, "REJECTED")
        assert refused["reason"] == "REGISTRY_CONFLICT"
        assert theirs in refused["detail"]
        assert (await _until(stack, free_id, "DISBURSED"))["state"] == "DISBURSED"
        paid = {e["end_to_end_id"] for e in await stack.bank_ledger()}
        assert refused["disbursement"] is None
        assert len(paid) == 1
        assert await _reserved(stack, seller) == 0


async def test_a_registration_only_the_re_search_sees_wins_and_ours_is_cancelled(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        seller = stack.companies.sellers[1]
        first, second = _cases(stack, seller, 2)
        (first_id,) = await _push(stack, [first])
        await _until(stack, first_id, "DISBURSED")
        # filed after our last search of this seller, ranked before the registration we are
        # about to file: the pre-search (a recent certificate) cannot know, the re-search does
        await _seed(stack, seller, [second.invoice.number])
        (second_id,) = await _push(stack, [second])
        refused = await _until(stack, second_id, "REJECTED")
        assert refused["reason"] == "REGISTRY_CONFLICT"
        assert "was cancelled" in refused["detail"]
        ours = refused["detail"].rsplit("our registration ", 1)[1].split()[0]
        async with httpx.AsyncClient(base_url=stack.sims["registry"].base_url) as client:
            registration = (await client.get(f"/registrations/{ours}")).json()
        assert registration["status"] == "cancelled"
        assert await _reserved(stack, seller) == 0


async def test_a_blanket_registration_waits_for_an_operator_to_approve_or_reject(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        seller = stack.companies.sellers[2]
        await _seed(stack, seller, [])
        waiting, mismatched = [], []
        for request_id in await _push(stack, _cases(stack, seller, 5)):
            # (the dataset's own mismatches wait in MATCH_REVIEW, before any registry step)
            body = await _until(stack, request_id, "REGISTRY_REVIEW", "MATCH_REVIEW")
            if body["state"] == "REGISTRY_REVIEW":
                assert body["reason"] == "REGISTRY_BLANKET"
                waiting.append(request_id)
            else:
                mismatched.append(request_id)
        go_on, stop = waiting[:2]
        queue = await pending_reviews(stack.hub.units)
        assert {i.request_id for i in queue} == {*waiting, *mismatched}
        assert await _reserved(stack, seller) > 0  # the limit is held while it waits

        resumed = await approve(
            stack.hub.units, go_on, note="release letter on file", policy=FlowPolicy()
        )
        assert resumed.value == "LIMIT_RESERVED"
        await reject(stack.hub.units, stop, note="the other factor holds everything")
        paid = await _until(stack, go_on, "DISBURSED")
        assert any("release letter" in (h["note"] or "") for h in paid["history"])
        refused = await _request(stack, stop)
        assert (refused["state"], refused["reason"]) == ("REJECTED", "REGISTRY_BLANKET")
        for request_id in [*waiting[2:], *mismatched]:
            await reject(stack.hub.units, request_id, note="not this one")
        assert await _reserved(stack, seller) == 0
        assert await pending_reviews(stack.hub.units) == []
        with pytest.raises(ReviewError):
            await approve(stack.hub.units, stop, note="too late", policy=FlowPolicy())
