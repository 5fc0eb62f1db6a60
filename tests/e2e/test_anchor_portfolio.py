"""An anchor programme (§3.5) and the commercial factor's 205号 portfolio (§2.11) in the running
flow: pushed in four waves, one debtor at a time, each wave ends with the limit it meets used
up to less than a minimum ticket, every application cut or refused by that limit's reason, and
every figure (programme, seller shares, book, debtor exposures) equal to what was paid."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import httpx

from canonical import Money, Party, PartyRole
from hub.operations import (
    anchor_programmes,
    open_anchor_programmes,
    portfolio,
    set_portfolio,
    set_portfolio_debtor,
)
from hub.persistence.programmes_admin import AnchorTerms, PortfolioTerms
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.stack import SEED, Stack, running_stack

FLOOR = Decimal("10000.00")  # the minimum ticket
PROGRAMME, SHARE = Decimal("8000000.00"), Decimal("0.30")  # 2,400,000.00 a supplier
NET_ASSETS, OTHER = Decimal("5000000.00"), Decimal("10000000.00")  # 10x: 50,000,000.00
CONCENTRATED_OTHER = Decimal("5000000.00")  # half of OTHER, held outside the hub


async def _wave(stack: Stack, cases: list[Any], done: int) -> list[dict[str, Any]]:
    results = await push_cases(stack.ingress_url, cases, concurrency=1)
    await stack.settle(done + len(results))
    async with httpx.AsyncClient(base_url=stack.ingress_url) as client:
        return [
            (await client.get(f"/v1/requests/{r.body['request_id']}")).json()  # type: ignore[index]
            for r in results
        ]


def _paid(states: list[dict[str, Any]]) -> Decimal:
    return sum(
        (Decimal(s["disbursement"]["principal"]) for s in states if s["state"] == "DISBURSED"),
        Decimal("0.00"),
    )


def _reasons(states: list[dict[str, Any]]) -> set[str]:
    """Every reason a limit gave: refusals, and the cuts noted on reduced approvals."""
    found = {s["reason"] for s in states if s["state"] == "REJECTED"}
    for state in states:
        for step in state["history"]:
            note = step["note"] or ""
            if note.startswith("approved reduced"):
                found.add(note.rsplit("(", 1)[1].rstrip(")"))
    return found


async def test_an_anchor_programme_and_the_205_caps_cut_and_refuse_with_exact_figures(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    async with running_stack(url) as stack:
        buyers = stack.companies.buyers
        anchor, concentrated, related, last = buyers[5], buyers[6], buyers[2], buyers[3]
        units = stack.hub.units
        party = Party(name=anchor.name, uscc=anchor.uscc, role=PartyRole.BUYER)
        await open_anchor_programmes(units, [AnchorTerms(party, Money(amount=PROGRAMME), SHARE)])
        await set_portfolio(units, PortfolioTerms(Money(amount=NET_ASSETS), Money(amount=OTHER)))
        await set_portfolio_debtor(units, concentrated.uscc, other=Money(amount=CONCENTRATED_OTHER))
        await set_portfolio_debtor(units, related.uscc, related=True)
        cases = generate_invoices(SEED, 120, stack.companies, {})
        waves, sellers, done = {}, [], 0
        for buyer in (anchor, concentrated, related, last):
            mine = [c for c in cases if c.buyer == buyer]
            waves[buyer.uscc] = await _wave(stack, mine, done)
            sellers += [c.seller.uscc for c in mine] if buyer == anchor else []
            done += len(mine)
        (programme,) = await anchor_programmes(units)
        book = await portfolio(units)
    assert book is not None
    paid = {uscc: _paid(states) for uscc, states in waves.items()}

    # 1. the anchor: 8,000,000.00 over all suppliers, 2,400,000.00 each
    on_anchor = waves[anchor.uscc]
    assert _reasons(on_anchor) <= {"LIMIT_ANCHOR", "ANCHOR_SELLER_SHARE"}
    assert "LIMIT_ANCHOR" in _reasons(on_anchor)
    assert programme.used.amount == paid[anchor.uscc] <= PROGRAMME
    assert programme.reserved.amount == 0
    by_seller: dict[str, Decimal] = defaultdict(Decimal)
    for seller, s in zip(sellers, on_anchor, strict=True):
        if s["state"] == "DISBURSED":
            by_seller[seller] += Decimal(s["disbursement"]["principal"])
    assert {k: used.amount for k, (used, _) in programme.sellers.items()} == by_seller
    assert all(v <= PROGRAMME * SHARE for v in by_seller.values())

    # 2. a debtor the factor already holds 5,000,000.00 against (half of the other risk
    # assets): (5,000,000 + b6) <= 50 % x (10,000,000 + b5 + b6)  <=>  b6 <= b5
    b5, b6 = paid[anchor.uscc], paid[concentrated.uscc]
    assert _reasons(waves[concentrated.uscc]) == {"CONCENTRATION_50PCT"}
    assert 0 <= b5 - b6 < FLOOR

    # 3. a related debtor: b2 <= 40 % x (10,000,000 + b5 + b6 + b2)
    #    <=>  b2 <= 0.40 x (10,000,000 + b5 + b6) / 0.60
    b2 = paid[related.uscc]
    related_cap = (Decimal("0.40") * (OTHER + b5 + b6) / Decimal("0.60")).quantize(
        Decimal("0.01"), ROUND_FLOOR
    )
    assert _reasons(waves[related.uscc]) == {"RELATED_40PCT"}
    assert 0 <= related_cap - b2 < FLOOR

    # 4. anyone else: risk assets <= 10 x 5,000,000.00 net assets
    total = b5 + b6 + b2 + paid[last.uscc]
    assert _reasons(waves[last.uscc]) == {"LEVERAGE_10X"}
    assert 0 <= 10 * NET_ASSETS - (OTHER + total) < FLOOR

    # the book is exactly what was paid, and every debtor's exposure too
    assert (book.used.amount, book.reserved.amount) == (total, 0)
    assert book.risk_assets.amount == OTHER + total
    exposures = {d.debtor_uscc: d.exposure.amount for d in book.debtors}
    assert exposures == {
        anchor.uscc: b5,
        concentrated.uscc: CONCENTRATED_OTHER + b6,
        related.uscc: b2,
        last.uscc: paid[last.uscc],
    }
    assert book.related_exposure.amount == b2 <= Decimal("0.40") * book.risk_assets.amount
