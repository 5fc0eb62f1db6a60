"""An invoice that does not match its order waits for an operator (§3.3, §4.1 MATCH_REVIEW):
approved, it goes on to be paid; rejected, it ends with the mismatch as its reason."""

from __future__ import annotations

from hub.review import approve, pending_reviews, reject
from routes.policy import FlowPolicy
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, running_stack


async def test_a_mismatch_waits_in_review_and_the_operator_decides(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        cases = generate_invoices(
            SEED, 20, stack.companies, {"order_amount_mismatch": 0.1, "quantity_over_delivery": 0.1}
        )
        odd = [c for c in cases if c.expected_outcome != "disbursable"][:2]
        assert len(odd) == 2
        results = await push_cases(stack.ingress_url, odd, concurrency=1)
        first, second = (r.body["request_id"] for r in results)  # type: ignore[index]
        for request_id in (first, second):
            body = await stack.request_in(request_id, "MATCH_REVIEW")
            assert body["reason"] in {"MATCH_AMOUNT", "MATCH_QTY"}
            assert body["awaiting_operator"] is True
        assert {i.request_id for i in await pending_reviews(stack.hub.units)} == {first, second}

        resumed = await approve(stack.hub.units, first, note="buyer confirmed", policy=FlowPolicy())
        assert resumed.value == "MATCHED"
        paid = await stack.request_in(first, "DISBURSED")
        assert [h["state"] for h in paid["history"]][:3] == ["SUBMITTED", "MATCH_REVIEW", "MATCHED"]

        reason = (await stack.request_in(second, "MATCH_REVIEW"))["reason"]
        await reject(stack.hub.units, second, note="short delivery")
        refused = await stack.request_in(second, "REJECTED")
        assert refused["reason"] == reason
        assert await pending_reviews(stack.hub.units) == []
        assert len(await stack.bank_ledger()) == 1
