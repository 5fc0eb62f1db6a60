"""Anchor programmes (§3.5) and the 205号 portfolio (§2.11) are held in the same atomic
reservation as the seller's facility and the buyer's limit, on SQLite and PostgreSQL: the
least headroom decides and names the reason, and every limit held moves on every step."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from decimal import Decimal

import pytest

from canonical import FinancingState, Money, Party, PartyRole
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.programmes_admin import AnchorTerms, PortfolioNotSet, PortfolioTerms
from routes.policy import Policy
from routes.ports import ReserveOutcome
from tests.builders import BUYER, NOW, SELLER, facility, financing_request

Out = ReserveOutcome
FLOOR = Money.of("10000.00")
SELLER_2 = Party(name="无锡恒通电子有限公司", uscc="91310000MA1FL8TQ10", role=PartyRole.SELLER)
DEBTOR_E = "91320500MA1MXQ4Y23"
DEBTOR_R2 = "91110000100000000R"


@pytest.fixture
async def units(database_url):
    database = Database(database_url)
    await database.upgrade()
    try:
        yield UnitOfWorkFactory(database, lambda: NOW)
    finally:
        await database.aclose()


def _m(amount: str) -> Money:
    return Money.of(amount)


async def _sellers(units, *sellers: Party) -> None:
    async with units() as uow:
        for seller in sellers:
            await uow.facilities.put(facility("100000000.00", party=seller))
        await uow.commit()


async def _anchor(units, limit: str, share: str) -> None:
    async with units() as uow:
        await uow.facilities.put_anchor(AnchorTerms(BUYER, _m(limit), Decimal(share)))
        await uow.commit()


async def _reserve(units, request_id, seller, amount, buyer=BUYER.uscc, *, portfolio=False):
    async with units() as uow:
        outcome, held = await uow.facilities.reserve(
            request_id, seller, _m(amount), at_least=FLOOR, buyer_uscc=buyer, portfolio=portfolio
        )
        await uow.commit()
    return outcome, held.amount


async def _programme(units):
    async with units() as uow:
        (figures,) = await uow.facilities.anchors()
    return figures


async def _book(units):
    async with units() as uow:
        figures = await uow.facilities.portfolio()
    assert figures is not None
    return figures


class TestAnchorProgramme:
    async def test_the_seller_share_cuts_then_refuses_one_seller_of_the_programme(self, units):
        await _sellers(units, SELLER)
        await _anchor(units, "1000000.00", "0.25")  # one seller: at most 250,000.00
        assert await _reserve(units, "A", SELLER.uscc, "200000.00") == (Out.RESERVED, 200000)
        # 250,000.00 - 200,000.00 = 50,000.00 left of the share, though the programme has 800k
        assert await _reserve(units, "B", SELLER.uscc, "80000.00") == (
            Out.REDUCED_BY_SELLER_SHARE,
            50000,
        )
        assert await _reserve(units, "C", SELLER.uscc, "20000.00") == (
            Out.INSUFFICIENT_SELLER_SHARE,
            0,
        )
        figures = await _programme(units)
        assert (figures.reserved.amount, figures.headroom.amount) == (250000, 750000)
        assert figures.sellers[SELLER.uscc] == (_m("0.00"), _m("250000.00"))

    async def test_the_programme_cuts_then_refuses_when_it_is_the_tightest(self, units):
        await _sellers(units, SELLER, SELLER_2)
        await _anchor(units, "300000.00", "0.60")  # 180,000.00 a seller, 300,000.00 in all
        assert await _reserve(units, "A", SELLER.uscc, "180000.00") == (Out.RESERVED, 180000)
        # programme: 300,000 - 180,000 = 120,000 left; seller 2's share: 180,000 left
        assert await _reserve(units, "B", SELLER_2.uscc, "180000.00") == (
            Out.REDUCED_BY_ANCHOR,
            120000,
        )
        # programme: 0 left (seller 2's share still has 60,000): the programme refuses
        assert await _reserve(units, "C", SELLER_2.uscc, "10000.00") == (
            Out.INSUFFICIENT_ANCHOR,
            0,
        )
        figures = await _programme(units)
        assert figures.reserved.amount == figures.limit.amount == 300000
        assert figures.sellers[SELLER_2.uscc] == (_m("0.00"), _m("120000.00"))

    async def test_consume_release_and_repayment_move_the_programme_and_the_share(self, units):
        await _sellers(units, SELLER)
        await _anchor(units, "1000000.00", "0.25")
        await _reserve(units, "A", SELLER.uscc, "100000.00")
        await _reserve(units, "B", SELLER.uscc, "50000.00")
        async with units() as uow:
            await uow.facilities.consume("A", _m("99999.99"))  # true-up to what was paid
            await uow.facilities.release("B")
            await uow.commit()
        figures = await _programme(units)
        assert (figures.used, figures.reserved) == (_m("99999.99"), _m("0.00"))
        assert figures.sellers[SELLER.uscc] == (_m("99999.99"), _m("0.00"))
        async with units() as uow:  # 40,000.00 repaid: 99,999.99 - 40,000.00 = 59,999.99
            await uow.facilities.restore(
                SELLER.uscc, _m("40000.00"), buyer_uscc=BUYER.uscc, request_id="A"
            )
            await uow.commit()
        figures = await _programme(units)
        assert figures.used == _m("59999.99")
        assert figures.sellers[SELLER.uscc] == (_m("59999.99"), _m("0.00"))
        async with units() as uow:
            seller = await uow.facilities.get(SELLER.uscc)
        assert seller is not None
        assert seller.used == _m("59999.99")

    async def test_a_programme_opened_later_holds_only_what_is_reserved_after(self, units):
        await _sellers(units, SELLER)
        await _reserve(units, "A", SELLER.uscc, "100000.00")
        await _anchor(units, "1000000.00", "0.25")
        async with units() as uow:
            await uow.facilities.consume("A", _m("100000.00"))
            await uow.commit()
        figures = await _programme(units)
        assert (figures.used, figures.reserved) == (_m("0.00"), _m("0.00"))

    def test_a_seller_share_must_be_a_fraction_to_the_basis_point(self):
        for share in ("0", "1.01", "0.12345"):
            with pytest.raises(ValueError, match="seller share"):
                AnchorTerms(BUYER, _m("1.00"), Decimal(share))


class TestPortfolio:
    async def test_the_single_debtor_and_leverage_caps_cut_then_refuse(self, units):
        await _sellers(units, SELLER)
        async with units() as uow:
            await uow.facilities.put_portfolio(PortfolioTerms(_m("800000.00"), _m("6000000.00")))
            await uow.facilities.set_debtor(BUYER.uscc, other=_m("2500000.00"))
            await uow.commit()
        # RA = 6,000,000; E_d = 2,500,000: x <= RA - 2 E_d = 1,000,000 (50 % cap);
        # x <= 10 NA - RA = 8,000,000 - 6,000,000 = 2,000,000 (leverage)
        assert await _reserve(units, "A", SELLER.uscc, "1200000.00", portfolio=True) == (
            Out.REDUCED_BY_CONCENTRATION,
            1000000,
        )
        # E_d = 3,500,000 = 50 % of RA = 7,000,000: nothing more on this debtor
        assert await _reserve(units, "B", SELLER.uscc, "10000.00", portfolio=True) == (
            Out.INSUFFICIENT_CONCENTRATION,
            0,
        )
        # another debtor: 50 % cap 7,000,000; leverage 8,000,000 - 7,000,000 = 1,000,000
        assert await _reserve(units, "C", SELLER.uscc, "1500000.00", DEBTOR_E, portfolio=True) == (
            Out.REDUCED_BY_LEVERAGE,
            1000000,
        )
        assert await _reserve(units, "D", SELLER.uscc, "10000.00", DEBTOR_E, portfolio=True) == (
            Out.INSUFFICIENT_LEVERAGE,
            0,
        )
        book = await _book(units)
        assert book.risk_assets.amount == 8000000 == 10 * book.net_assets.amount
        assert book.reserved == _m("2000000.00")
        exposures = {d.debtor_uscc: d.exposure for d in book.debtors}
        assert exposures == {BUYER.uscc: _m("3500000.00"), DEBTOR_E: _m("1000000.00")}

    async def test_the_related_party_cap_binds_only_related_debtors(self, units):
        await _sellers(units, SELLER)
        async with units() as uow:
            await uow.facilities.put_portfolio(PortfolioTerms(_m("1000000.00"), _m("4000000.00")))
            await uow.facilities.set_debtor(BUYER.uscc, related=True, other=_m("1000000.00"))
            await uow.facilities.set_debtor(DEBTOR_R2, related=True)
            await uow.commit()
        # RA = 4,000,000; E_rel = 1,000,000: x <= (0.40 x 4,000,000 - 1,000,000) / 0.60
        # = 1,000,000; 50 % cap: 4,000,000 - 2 x 1,000,000 = 2,000,000; leverage: 6,000,000
        assert await _reserve(units, "A", SELLER.uscc, "1500000.00", portfolio=True) == (
            Out.REDUCED_BY_RELATED,
            1000000,
        )
        # E_rel = 2,000,000 = 40 % of RA = 5,000,000: no related debtor gets more...
        assert await _reserve(units, "B", SELLER.uscc, "10000.00", DEBTOR_R2, portfolio=True) == (
            Out.INSUFFICIENT_RELATED,
            0,
        )
        # ...while an unrelated one does (50 % cap 5,000,000; leverage 5,000,000)
        assert await _reserve(units, "C", SELLER.uscc, "10000.00", DEBTOR_E, portfolio=True) == (
            Out.RESERVED,
            10000,
        )
        book = await _book(units)
        assert book.related_exposure == _m("2000000.00")
        assert book.risk_assets == _m("5010000.00")

    async def test_a_related_cap_is_rounded_down_to_the_fen(self, units):
        await _sellers(units, SELLER)
        async with units() as uow:
            await uow.facilities.put_portfolio(PortfolioTerms(_m("1000000.00"), _m("100000.00")))
            await uow.facilities.set_debtor(BUYER.uscc, related=True, other=_m("39990.00"))
            await uow.commit()
        # (0.40 x 100,000.00 - 39,990.00) / 0.60 = 10.00 / 0.60 = 16.666... -> 16.66
        async with units() as uow:
            outcome, held = await uow.facilities.reserve(
                "A",
                SELLER.uscc,
                _m("100.00"),
                at_least=_m("1.00"),
                buyer_uscc=BUYER.uscc,
                portfolio=True,
            )
            await uow.commit()
        assert (outcome, held) == (Out.REDUCED_BY_RELATED, _m("16.66"))

    async def test_consume_release_and_repayment_move_the_book_and_the_debtor(self, units):
        await _sellers(units, SELLER)
        async with units() as uow:
            await uow.facilities.put_portfolio(PortfolioTerms(_m("1000000.00"), _m("4000000.00")))
            await uow.commit()
        await _reserve(units, "A", SELLER.uscc, "100000.00", portfolio=True)
        await _reserve(units, "B", SELLER.uscc, "50000.00", portfolio=True)
        async with units() as uow:
            await uow.facilities.consume("A", _m("99999.99"))
            await uow.facilities.release("B")
            await uow.facilities.restore(
                SELLER.uscc, _m("30000.00"), buyer_uscc=BUYER.uscc, request_id="A"
            )
            await uow.commit()
        book = await _book(units)  # 99,999.99 used, 30,000.00 of it given back
        assert (book.used, book.reserved) == (_m("69999.99"), _m("0.00"))
        assert [(d.used, d.reserved) for d in book.debtors] == [(_m("69999.99"), _m("0.00"))]

    async def test_no_portfolio_or_no_commercial_factor_means_no_205_checks(self, units):
        await _sellers(units, SELLER)
        assert await _reserve(units, "A", SELLER.uscc, "900000.00", portfolio=True) == (
            Out.RESERVED,
            900000,
        )
        async with units() as uow:
            assert await uow.facilities.portfolio() is None
            await uow.facilities.put_portfolio(PortfolioTerms(_m("100000.00"), _m("0.00")))
            await uow.commit()
        # a bank factor (portfolio=False) is not a commercial factor: 205号 does not apply
        assert await _reserve(units, "B", SELLER.uscc, "900000.00") == (Out.RESERVED, 900000)
        book = await _book(units)  # B, held for a bank factor, is not in the book
        assert (book.reserved, book.debtors) == (_m("0.00"), ())

    async def test_the_book_starts_from_what_the_hub_holds_and_uses_when_first_set(self, units):
        await _sellers(units, SELLER)
        async with units() as uow:
            for request_id in ("FR1", "FR2", "FR3"):
                await uow.requests.add(financing_request(request_id), source_system="test")
            await uow.commit()
        for request_id, amount in (("FR1", "50000.00"), ("FR2", "30000.00"), ("FR3", "7000.00")):
            await _reserve(units, request_id, SELLER.uscc, amount)
        async with units() as uow:
            await uow.facilities.consume("FR2", _m("29999.99"))
            await uow.facilities.release("FR3")
            await uow.loans.open("FR2", _m("29999.99"), date(2026, 11, 28), Policy())
            await uow.commit()
        async with units() as uow:  # 10,000.00 repaid and given back
            await uow.loans.update(
                "FR2",
                state=FinancingState.DISBURSED,
                outstanding=_m("19999.99"),
                released=_m("10000.00"),
                days_past_due=0,
                warned=None,
            )
            await uow.commit()
        async with units() as uow:
            await uow.facilities.put_portfolio(PortfolioTerms(_m("1000000.00"), _m("0.00")))
            await uow.commit()
        book = await _book(units)  # FR1 held 50,000.00; FR2 29,999.99 - 10,000.00 used
        assert (book.reserved, book.used) == (_m("50000.00"), _m("19999.99"))
        async with units() as uow:  # the seeded reservations move the book like any other
            await uow.facilities.release("FR1")
            await uow.commit()
        assert (await _book(units)).reserved == _m("0.00")

    async def test_a_debtor_needs_the_portfolio_and_fits_in_its_other_risk_assets(self, units):
        async with units() as uow:
            with pytest.raises(PortfolioNotSet):
                await uow.facilities.set_debtor(BUYER.uscc, related=True)
            await uow.facilities.put_portfolio(PortfolioTerms(_m("1000000.00"), _m("300000.00")))
            await uow.facilities.set_debtor(BUYER.uscc, other=_m("200000.00"))
            with pytest.raises(ValueError, match="other risk assets"):
                await uow.facilities.set_debtor(DEBTOR_E, other=_m("100000.01"))
            with pytest.raises(ValueError, match="other risk assets"):
                await uow.facilities.put_portfolio(
                    PortfolioTerms(_m("1000000.00"), _m("199999.99"))
                )


async def test_the_least_of_seller_buyer_anchor_and_portfolio_decides_in_one_hold(units):
    await _sellers(units, SELLER)
    async with units() as uow:
        await uow.facilities.put_anchor(AnchorTerms(BUYER, _m("500000.00")))  # share 125,000
        await uow.facilities.put_portfolio(PortfolioTerms(_m("25000.00"), _m("150000.00")))
        await uow.commit()
    # leverage: 10 x 25,000 - 150,000 = 100,000 < share 125,000 < 50 % cap 150,000
    # < programme 500,000
    assert await _reserve(units, "A", SELLER.uscc, "110000.00", portfolio=True) == (
        Out.REDUCED_BY_LEVERAGE,
        100000,
    )
    figures = await _programme(units)
    assert figures.reserved == _m("100000.00") == (await _book(units)).reserved
    async with units() as uow:
        seller = await uow.facilities.get(SELLER.uscc)
    assert seller is not None
    assert seller.reserved == _m("100000.00")


async def test_two_hundred_racing_applications_never_over_reserve_an_anchor_or_the_portfolio(
    postgres_url,
):
    databases = [Database(postgres_url) for _ in range(4)]
    await databases[0].upgrade()
    factories = [UnitOfWorkFactory(db, lambda: NOW) for db in databases]
    sellers = [
        Party(name=f"卖方{n}有限公司", uscc=uscc, role=PartyRole.SELLER)
        for n, uscc in enumerate(
            ("9132050571358240X0", "91310000MA1FL8TQ10", "91110000100000000R", "913101156607431925")
        )
    ]
    buyers = ("91440300MA5FUTQ83X", "91320500MA1MXQ4Y23")  # the first is the anchor
    anchor = Party(name="核心企业有限公司", uscc=buyers[0], role=PartyRole.BUYER)
    programme, share = Decimal("1000000.00"), Decimal("300000.00")  # 0.30 of it a seller
    leverage = Decimal("1800000.00")  # 10 x 500,000.00 net assets - 3,200,000.00 other
    try:
        async with factories[0]() as uow:
            for seller in sellers:
                await uow.facilities.put(facility("100000000.00", party=seller))
            await uow.facilities.put_anchor(
                AnchorTerms(anchor, Money(amount=programme), Decimal("0.30"))
            )
            await uow.facilities.put_portfolio(PortfolioTerms(_m("500000.00"), _m("3200000.00")))
            await uow.commit()
        rng = random.Random(11)
        wanted = {
            f"FRP{i:04d}": (
                sellers[i % 4].uscc,
                buyers[(i // 4) % 2],
                Decimal(rng.randint(1_000_000, 3_000_000)) / 100,
            )
            for i in range(200)
        }
        ids = list(wanted)

        async def consume(units: UnitOfWorkFactory, mine: list[str]) -> dict[str, Decimal]:
            granted: dict[str, Decimal] = {}
            for start in range(0, len(mine), 5):
                batch = mine[start : start + 5]
                async with units() as uow:
                    uow.facilities.expect(
                        batch, {wanted[r][0] for r in batch}, {wanted[r][1] for r in batch}
                    )
                    for request_id in batch:
                        seller, buyer, amount = wanted[request_id]
                        outcome, held = await uow.facilities.reserve(
                            request_id,
                            seller,
                            Money(amount=amount),
                            at_least=FLOOR,
                            buyer_uscc=buyer,
                            portfolio=True,
                        )
                        if outcome.held:
                            granted[request_id] = held.amount
                    await uow.commit()
            return granted

        parts = await asyncio.wait_for(
            asyncio.gather(*(consume(f, ids[n::4]) for n, f in enumerate(factories))), 180
        )
        granted = {k: v for part in parts for k, v in part.items()}
        on_anchor = {k: v for k, v in granted.items() if wanted[k][1] == anchor.uscc}
        async with factories[0]() as uow:
            (figures,) = await uow.facilities.anchors()
            book = await uow.facilities.portfolio()
        assert book is not None
        assert figures.reserved.amount == sum(on_anchor.values()) <= programme
        for seller in sellers:
            mine = sum(v for k, v in on_anchor.items() if wanted[k][0] == seller.uscc)
            assert figures.sellers[seller.uscc][1].amount == mine <= share
        total = sum(granted.values(), Decimal(0))
        assert book.reserved.amount == total <= leverage
        assert leverage - total < FLOOR.amount  # used up to less than a minimum ticket
        exposures = {d.debtor_uscc: d.reserved.amount for d in book.debtors}
        assert exposures[anchor.uscc] == sum(on_anchor.values())
        assert book.risk_assets.amount <= 10 * book.net_assets.amount
    finally:
        for database in databases:
            await database.aclose()


async def test_units_holding_the_same_anchors_in_opposite_orders_do_not_deadlock(units):
    other_anchor = Party(name="无锡恒通电子有限公司", uscc=DEBTOR_E, role=PartyRole.BUYER)
    await _sellers(units, SELLER)
    async with units() as uow:
        for anchor in (BUYER, other_anchor):
            await uow.facilities.put_anchor(AnchorTerms(anchor, _m("1000.00"), Decimal("1")))
        await uow.facilities.put_portfolio(PortfolioTerms(_m("1000000.00"), _m("1000000.00")))
        await uow.commit()

    async def reserve(prefix: str, order: list[str]) -> None:
        async with units() as uow:
            uow.facilities.expect([f"{prefix}{i}" for i in range(2)], [SELLER.uscc], order)
            for i, anchor in enumerate(order):
                await uow.facilities.reserve(
                    f"{prefix}{i}", SELLER.uscc, _m("10.00"), buyer_uscc=anchor, portfolio=True
                )
                await asyncio.sleep(0.05)  # let the other unit interleave
            await uow.commit()

    await asyncio.wait_for(
        asyncio.gather(reserve("A", [BUYER.uscc, DEBTOR_E]), reserve("B", [DEBTOR_E, BUYER.uscc])),
        30,
    )
    assert [p.reserved for p in await _anchors(units)] == [_m("20.00"), _m("20.00")]
    assert (await _book(units)).reserved == _m("40.00")


async def _anchors(units):
    async with units() as uow:
        return await uow.facilities.anchors()
