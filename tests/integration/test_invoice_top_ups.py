"""Top-ups on the invoice lock (§2.2, §3.1), on SQLite and PostgreSQL: the same seller and tenant
may finance an invoice again while its financing is live, within what the earlier applications
hold or owe; anyone else is still a duplicate, and racing top-ups never exceed the cap.

Worked by hand on the builders' invoice: ¥113,000.00 incl. VAT, at 0.80 at most ¥90,400.00 in all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from canonical import FinancingState, Money, Party, PartyRole
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.uow import SqlUnitOfWork
from hub.review import ReviewError, approve
from routes.policy import FlowPolicy
from routes.ports import InvoiceFinancing, Repayment
from routes.top_ups import TopUpCap, top_up_cap
from tests.builders import NOW, SELLER, facility, financing_request

SHARED = "26322000000087654321"
FACE = Decimal("113000.00")
OTHER_SELLER = Party(name="无锡恒通电子有限公司", uscc="91310000MA1FL8TQ10", role=PartyRole.SELLER)
F = FinancingState
_PATH = (F.MATCHED, F.LIMIT_RESERVED, F.REGISTERED, F.DISBURSING, F.DISBURSED)


@pytest.fixture
async def units(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    database = Database(database_url)
    await database.upgrade()
    async with UnitOfWorkFactory(database, lambda: NOW)() as uow:
        await uow.facilities.put(facility("100000000.00"))
        await uow.facilities.put(facility("100000000.00", party=OTHER_SELLER))
        await uow.commit()
    yield UnitOfWorkFactory(database, lambda: NOW)
    await database.aclose()


async def _store(
    units: UnitOfWorkFactory, request_id: str, *, tenant: str = "t1", seller: Party = SELLER
) -> None:
    request = financing_request(request_id, invoice_number=SHARED)
    request = request.model_copy(update={"tenant": tenant, "seller": seller})
    async with units() as uow:
        await uow.requests.add(request, source_system="test")
        await uow.commit()


async def _advance(uow: SqlUnitOfWork, request_id: str, to: FinancingState) -> None:
    state = F.SUBMITTED
    for target in _PATH[: _PATH.index(to) + 1]:
        await uow.requests.transition(request_id, target, allowed_from=frozenset({state}))
        state = target


async def _financed(
    units: UnitOfWorkFactory, request_id: str, amount: str, to: FinancingState = F.LIMIT_RESERVED
) -> None:
    """`request_id` holds the invoice (its first application) with `amount` on the limits."""
    await _store(units, request_id)
    async with units() as uow:
        assert await uow.invoice_locks.claim(SHARED, request_id) == request_id
        await uow.facilities.reserve(request_id, SELLER.uscc, Money.of(amount))
        await _advance(uow, request_id, to)
        await uow.commit()


async def _top_up(
    units: UnitOfWorkFactory, request_id: str, *, tenant: str = "t1", seller: Party = SELLER
) -> tuple[str, InvoiceFinancing | None]:
    async with units() as uow:
        owner = await uow.invoice_locks.claim(SHARED, request_id)
        financing = await uow.invoice_locks.top_up(
            SHARED, request_id, seller_uscc=seller.uscc, tenant=tenant
        )
        await uow.commit()
    return owner, financing


async def _hold(units: UnitOfWorkFactory, request_id: str, principal: str) -> None:
    """The top-up matched for `principal` (what the matching route records)."""
    async with units() as uow:
        await uow.invoice_locks.hold(request_id, Money.of(principal))
        await uow.requests.transition(request_id, F.MATCHED, allowed_from=frozenset({F.SUBMITTED}))
        await uow.commit()


async def test_the_same_sellers_second_application_on_reserved_financing_is_a_top_up(units):
    await _financed(units, "FR1", "50000.00")
    await _store(units, "FR2")
    owner, financing = await _top_up(units, "FR2")
    assert owner == "FR1"
    assert financing == InvoiceFinancing(
        holders=("FR1",), financed=Money.of("50000.00"), paid=Money.of("0.00")
    )


async def test_another_tenant_or_another_seller_is_still_a_duplicate(units):
    await _financed(units, "FR1", "50000.00")
    await _store(units, "FR3", tenant="t2")
    await _store(units, "FR4", seller=OTHER_SELLER)
    assert await _top_up(units, "FR3", tenant="t2") == ("FR1", None)
    assert await _top_up(units, "FR4", seller=OTHER_SELLER) == ("FR1", None)


async def test_an_invoice_whose_application_is_only_matched_has_no_live_financing_to_top_up(units):
    await _financed(units, "FR1", "50000.00", to=F.MATCHED)
    await _store(units, "FR2")
    assert await _top_up(units, "FR2") == ("FR1", None)


async def test_paid_out_financing_counts_its_principal_outstanding_and_the_debtors_repayment(units):
    await _financed(units, "FR1", "50000.00", to=F.DISBURSED)
    async with units() as uow:
        await uow.facilities.consume("FR1", Money.of("50000.00"))
        await uow.loans.open("FR1", Money.of("50000.00"), NOW.date(), FlowPolicy().terms)
        await uow.loans.flush()  # opened (the payment-result route), then repaid
        # the debtor paid 13,000.00: 1,000.00 of interest, 12,000.00 of principal
        payment = Repayment("BANK-1", NOW.date(), Money.of("13000.00"), "debtor")
        assert await uow.loans.add_repayment("FR1", payment)
        await uow.loans.update(
            "FR1",
            state=F.PARTIALLY_REPAID,
            outstanding=Money.of("38000.00"),
            released=Money.of("12000.00"),
            days_past_due=0,
            warned=None,
        )
        await uow.requests.transition(
            "FR1", F.PARTIALLY_REPAID, allowed_from=frozenset({F.DISBURSED})
        )
        await uow.commit()
    await _store(units, "FR2")
    _, financing = await _top_up(units, "FR2")
    assert financing is not None
    assert (financing.financed, financing.paid) == (Money.of("38000.00"), Money.of("13000.00"))
    # (113,000.00 - 13,000.00) x 0.80 = 80,000.00 - 38,000.00 = 42,000.00
    assert top_up_cap(financing, FACE, Decimal("90400.00"), FlowPolicy()).principal == Decimal(
        "42000.00"
    )


async def test_a_matched_top_up_counts_for_the_next_and_its_rejection_frees_only_its_share(units):
    await _financed(units, "FR1", "50000.00")
    await _store(units, "FR2")
    await _store(units, "FR3")
    _, first = await _top_up(units, "FR2")
    assert first is not None
    assert top_up_cap(first, FACE, Decimal("90400.00"), FlowPolicy()).principal == Decimal(
        "40400.00"
    )  # 90,400.00 - 50,000.00
    await _hold(units, "FR2", "40400.00")
    _, second = await _top_up(units, "FR3")
    assert second == InvoiceFinancing(
        holders=("FR1", "FR2"), financed=Money.of("90400.00"), paid=Money.of("0.00")
    )  # 50,000.00 reserved + 40,400.00 matched: nothing left
    async with units() as uow:
        await uow.requests.transition(
            "FR2", F.REJECTED, allowed_from=frozenset({F.MATCHED}), reason="LIMIT_SELLER"
        )
        await uow.commit()
    _, again = await _top_up(units, "FR3")  # FR3 holds its share already: asked again
    assert again == InvoiceFinancing(
        holders=("FR1",), financed=Money.of("50000.00"), paid=Money.of("0.00")
    )


async def test_the_first_application_rejected_its_live_top_up_still_holds_the_invoice(units):
    await _financed(units, "FR1", "50000.00")
    await _store(units, "FR2")
    await _top_up(units, "FR2")
    await _hold(units, "FR2", "40400.00")
    async with units() as uow:
        await uow.facilities.reserve("FR2", SELLER.uscc, Money.of("40400.00"))
        await uow.requests.transition("FR2", F.LIMIT_RESERVED, allowed_from=frozenset({F.MATCHED}))
        await uow.facilities.release("FR1")
        await uow.requests.transition(
            "FR1", F.REJECTED, allowed_from=frozenset({F.LIMIT_RESERVED}), reason="REGISTRY"
        )
        await uow.commit()
    await _store(units, "FR5", seller=OTHER_SELLER)
    await _store(units, "FR6")
    assert await _top_up(units, "FR5", seller=OTHER_SELLER) == ("FR2", None)  # not taken over
    owner, financing = await _top_up(units, "FR6")
    assert owner == "FR2"
    assert financing == InvoiceFinancing(
        holders=("FR2",), financed=Money.of("40400.00"), paid=Money.of("0.00")
    )


async def test_every_holder_rejected_the_invoice_is_taken_over_as_before(units):
    await _financed(units, "FR1", "50000.00")
    await _store(units, "FR2")
    await _top_up(units, "FR2")
    async with units() as uow:
        await uow.facilities.release("FR1")
        await uow.requests.transition(
            "FR1", F.REJECTED, allowed_from=frozenset({F.LIMIT_RESERVED}), reason="REGISTRY"
        )
        await uow.requests.transition(
            "FR2", F.REJECTED, allowed_from=frozenset({F.SUBMITTED}), reason="MATCH_AMOUNT"
        )
        await uow.commit()
    await _store(units, "FR7", seller=OTHER_SELLER)
    async with units() as uow:
        assert await uow.invoice_locks.claim(SHARED, "FR7") == "FR7"
        await uow.commit()


async def _in_review(units: UnitOfWorkFactory, request_id: str) -> None:
    """The top-up's documents did not match: it waits for an operator (MATCH_REVIEW)."""
    await _store(units, request_id)
    await _top_up(units, request_id)
    async with units() as uow:
        await uow.requests.transition(
            request_id, F.MATCH_REVIEW, allowed_from=frozenset({F.SUBMITTED}), reason="NO_ORDER"
        )
        await uow.commit()


async def test_an_operator_approving_a_top_up_approves_it_within_the_cap(units):
    await _financed(units, "FR1", "50000.00")
    await _in_review(units, "FR2")
    assert await approve(units, "FR2", note="order seen", policy=FlowPolicy()) == F.MATCHED
    async with units() as uow:
        note = (await uow.requests.history("FR2"))[-1].note
    assert note is not None
    assert note.startswith("approved by an operator: order seen; approved reduced to 40400.00")
    await _store(units, "FR3")
    _, financing = await _top_up(units, "FR3")
    assert financing is not None
    assert financing.financed == Money.of("90400.00")  # 50,000.00 + the 40,400.00 approved


async def test_an_operator_cannot_approve_a_top_up_the_cap_leaves_nothing_for(units):
    await _financed(units, "FR1", "90400.00")
    await _in_review(units, "FR2")
    with pytest.raises(ReviewError, match="nothing left: reject it instead"):
        await approve(units, "FR2", note="order seen", policy=FlowPolicy())
    async with units() as uow:
        assert await uow.requests.state_of("FR2") == (F.MATCH_REVIEW, "NO_ORDER")


async def test_racing_top_ups_on_postgresql_never_together_exceed_the_cap(postgres_url):
    """FR1 holds 50,000.00 of the invoice's 90,400.00: 40,400.00 are left. Eight top-ups, each
    asking 15,000.00, race in four processes' worth of connections. One at a time they get
    15,000.00, 15,000.00, then 10,400.00 (cut, at least the 10,000.00 minimum ticket), then
    nothing: 40,400.00 in all, never more."""
    databases = [Database(postgres_url) for _ in range(4)]
    await databases[0].upgrade()
    factories = [UnitOfWorkFactory(db, lambda: NOW) for db in databases]
    try:
        async with factories[0]() as uow:
            await uow.facilities.put(facility("100000000.00"))
            await uow.commit()
        await _financed(factories[0], "FR1", "50000.00")
        racers = [f"FRT{i}" for i in range(8)]
        for request_id in racers:
            await _store(factories[0], request_id)

        async def race(units: UnitOfWorkFactory, request_id: str) -> TopUpCap:
            async with units() as uow:
                await uow.expect([request_id])
                assert await uow.invoice_locks.claim(SHARED, request_id) == "FR1"
                financing = await uow.invoice_locks.top_up(
                    SHARED, request_id, seller_uscc=SELLER.uscc, tenant="t1"
                )
                assert financing is not None
                capped = top_up_cap(financing, FACE, Decimal("15000.00"), FlowPolicy())
                if capped.refused is None:
                    await uow.invoice_locks.hold(request_id, Money.of(capped.principal))
                    await uow.requests.transition(
                        request_id, F.MATCHED, allowed_from=frozenset({F.SUBMITTED})
                    )
                await asyncio.sleep(0.02)  # hold the transaction open while the others try
                await uow.commit()
                return capped

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(race(factories[n % 4], r) for n, r in enumerate(racers))), 60
        )
        granted = sorted((c.principal for c in outcomes if c.refused is None), reverse=True)
        assert granted == [Decimal("15000.00"), Decimal("15000.00"), Decimal("10400.00")]
        assert sum(granted) == Decimal("40400.00")
        await _store(factories[0], "FRZ")
        _, after = await _top_up(factories[0], "FRZ")
        assert after is not None
        assert after.financed == Money.of("90400.00")  # 50,000.00 + what the racers recorded
    finally:
        for database in databases:
            await database.aclose()


def test_the_cap_is_exact_to_the_fen_on_an_odd_face():
    # 12,345.67 x 0.80 = 9,876.536 -> 9,876.53 (rounded down) - 0.00 = 9,876.53
    financing = InvoiceFinancing(holders=("FR1",), financed=Money.of("0.00"), paid=Money.of("0"))
    policy = replace(FlowPolicy(), min_ticket=Decimal("1000.00"))
    capped = top_up_cap(financing, Decimal("12345.67"), Decimal("9999.99"), policy)
    assert capped.principal == Decimal("9876.53")
