"""Credit-bureau checks in the limit step (§3.6, §3.8): who is asked, what refuses, what waits,
and that a hub without a bureau pays nothing for the step; with a fake bureau."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from canonical import (
    DocumentsMatched,
    FinancingRejected,
    FinancingState,
    LimitReserved,
    Money,
    Party,
    PartyRole,
    PermanentError,
    Provenance,
    TransientError,
)
from canonical.credit import (
    CourtRecord,
    CourtRecordKind,
    CourtRecords,
    CreditStanding,
    EnterpriseProfile,
    EnterpriseStatus,
)
from routes.credit import CreditFindings, check_parties, credit_problem
from routes.flow import ROUTES
from routes.limits import reserve_limit
from routes.policy import CreditChecks, FlowPolicy, PolicyError, load_policy
from routes.ports import ReserveOutcome
from routes.registry import Services
from tests.builders import BUYER, NOW, SELLER

OTHER_BUYER = Party(name="杭州远航贸易有限公司", uscc="91310000MA1FL8TQ10", role=PartyRole.BUYER)
RESERVE = next(r for r in ROUTES if r.group == "reserve-limit")
CASE = "(2026)沪0115执1234号"


def standing(
    uscc: str,
    *,
    status: EnterpriseStatus | None = EnterpriseStatus.ACTIVE,
    text: str = "存续",
    dishonest: int = 0,
    executed: int | None = None,
) -> CreditStanding:
    origin = Provenance(source_system="fake", source_document_id=uscc, received_at=NOW)
    profile = (
        None
        if status is None
        else EnterpriseProfile(
            uscc=uscc,
            name="某某有限公司",
            status=status,
            status_text=text,
            cancelled_on=date(2026, 8, 1) if status is EnterpriseStatus.CANCELLED else None,
            provenance=origin,
        )
    )

    def records(kind: CourtRecordKind, total: int) -> CourtRecords:
        found = tuple(
            CourtRecord(kind=kind, case_no=CASE, court="上海市浦东新区人民法院")
            for _ in range(total)
        )
        return CourtRecords(kind=kind, total=total, records=found, provenance=origin)

    return CreditStanding(
        uscc=uscc,
        profile=profile,
        dishonest=records(CourtRecordKind.DISHONEST, dishonest),
        executed=None if executed is None else records(CourtRecordKind.EXECUTED, executed),
        checked_at=NOW,
    )


class FakeCreditBureau:
    """Answers from a table; unknown USCCs are clean; records every question."""

    def __init__(self, answers: dict[str, CreditStanding | Exception] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[tuple[list[str], bool]] = []

    async def check_many(
        self, usccs: Sequence[str], *, executed: bool = False
    ) -> list[CreditStanding | Exception]:
        self.asked.append((list(usccs), executed))
        return [self.answers.get(u) or standing(u) for u in usccs]


class FakeRequests:
    def __init__(self) -> None:
        self.moves: list[tuple[str, FinancingState, str | None, str | None]] = []

    async def transition(
        self,
        request_id: str,
        target: FinancingState,
        *,
        allowed_from: frozenset[FinancingState],
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        self.moves.append((request_id, target, reason, note))


class FakeFacilities:
    def __init__(self) -> None:
        self.reserved: list[str] = []

    async def reserve(
        self,
        request_id: str,
        seller_uscc: str,
        amount: Money,
        *,
        at_least: Money | None = None,
        buyer_uscc: str | None = None,
        portfolio: bool = False,
    ) -> tuple[ReserveOutcome, Money]:
        self.reserved.append(request_id)
        return ReserveOutcome.RESERVED, amount


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.requests = FakeRequests()
        self.facilities = FakeFacilities()


def matched(request_id: str, buyer: Party = BUYER) -> DocumentsMatched:
    return DocumentsMatched(
        request_id=request_id,
        seller=SELLER,
        buyer=buyer,
        invoice_key=f"KEY-{request_id}",
        principal=Money.of("80000.00"),
    )


def services(bureau: FakeCreditBureau | None, checks: CreditChecks | None = None) -> Services:
    policy = FlowPolicy(credit_checks=checks or CreditChecks())
    unused: Any = None  # the limit step never registers or pays
    return Services(policy=policy, clock=lambda: NOW, registry=unused, bank=unused, credit=bureau)


class TestCheckParties:
    async def test_each_distinct_seller_and_buyer_of_a_batch_is_asked_once(self):
        bureau = FakeCreditBureau()
        batch = [matched("A"), matched("B"), matched("C", OTHER_BUYER)]
        found = await check_parties(batch, services(bureau))
        assert bureau.asked == [([SELLER.uscc, BUYER.uscc, OTHER_BUYER.uscc], False)]
        assert all(isinstance(f, CreditFindings) for f in found)
        assert [f.buyer.uscc for f in found] == [BUYER.uscc, BUYER.uscc, OTHER_BUYER.uscc]  # type: ignore[union-attr]

    async def test_only_the_roles_the_policy_names_are_asked_and_executed_only_when_named(self):
        bureau = FakeCreditBureau()
        checks = CreditChecks(seller=(), buyer=("dishonest", "executed"))
        (found,) = await check_parties([matched("A")], services(bureau, checks))
        assert bureau.asked == [([BUYER.uscc], True)]
        assert isinstance(found, CreditFindings)
        assert found.seller is None

    async def test_a_hub_without_a_bureau_or_without_checks_asks_nothing(self):
        bureau = FakeCreditBureau()
        assert await check_parties([matched("A")], services(None)) == [None]
        nothing = CreditChecks(seller=(), buyer=())
        assert await check_parties([matched("A")], services(bureau, nothing)) == [None]
        assert bureau.asked == []

    async def test_the_limit_route_has_no_call_step_where_there_is_nothing_to_ask(self):
        assert RESERVE.call_many is check_parties
        assert RESERVE.bound_to(services(None)).call_many is None
        nothing = CreditChecks(seller=(), buyer=())
        assert RESERVE.bound_to(services(FakeCreditBureau(), nothing)).call_many is None
        assert RESERVE.bound_to(services(FakeCreditBureau())) is RESERVE

    async def test_a_bureau_that_does_not_answer_fails_only_the_applications_naming_that_party(
        self,
    ):
        busy = TransientError("credit-bureau", "HTTP 503")
        bureau = FakeCreditBureau({OTHER_BUYER.uscc: busy})
        found = await check_parties([matched("A"), matched("B", OTHER_BUYER)], services(bureau))
        assert isinstance(found[0], CreditFindings)
        assert found[1] is busy  # the consumer retries it, then it waits in the dead letters

    async def test_with_on_unavailable_skip_a_silent_bureau_is_noted_not_waited_for(self):
        busy = TransientError("credit-bureau", "HTTP 503")
        broken = PermanentError("credit-bureau", "unreadable answer")
        bureau = FakeCreditBureau({BUYER.uscc: busy, OTHER_BUYER.uscc: broken})
        checks = CreditChecks(on_unavailable="skip")
        skipped, refused = await check_parties(
            [matched("A"), matched("B", OTHER_BUYER)], services(bureau, checks)
        )
        assert isinstance(skipped, CreditFindings)
        assert skipped.seller is not None
        assert skipped.buyer is None
        assert skipped.unchecked.startswith("buyer not checked")
        assert refused is broken  # skip covers an unavailable bureau, not a broken answer


class TestCreditProblem:
    @pytest.mark.parametrize(
        ("status", "text", "code"),
        [
            (EnterpriseStatus.CANCELLED, "注销", "SELLER_DEREGISTERED"),
            (EnterpriseStatus.REVOKED, "吊销，未注销", "SELLER_REVOKED"),
            (None, "", "SELLER_UNKNOWN"),
        ],
    )
    def test_a_seller_the_bureau_shows_closed_or_does_not_know_is_refused(self, status, text, code):
        found = CreditFindings(seller=standing(SELLER.uscc, status=status, text=text))
        refused = credit_problem(found, CreditChecks())
        assert refused is not None
        assert refused[0] == code
        assert SELLER.uscc in refused[1]

    def test_a_dishonest_buyer_is_refused_naming_the_case(self):
        found = CreditFindings(
            seller=standing(SELLER.uscc), buyer=standing(BUYER.uscc, dishonest=2)
        )
        code, detail = credit_problem(found, CreditChecks()) or ("", "")
        assert code == "BUYER_DISHONEST"
        assert detail.startswith(f"buyer {BUYER.uscc}: 失信被执行人, 2 record(s)")
        assert CASE in detail

    def test_the_seller_is_named_before_the_buyer_and_status_before_records(self):
        found = CreditFindings(
            seller=standing(SELLER.uscc, status=EnterpriseStatus.CANCELLED, dishonest=1),
            buyer=standing(BUYER.uscc, dishonest=1),
        )
        assert (credit_problem(found, CreditChecks()) or ("",))[0] == "SELLER_DEREGISTERED"

    def test_only_the_checks_the_policy_names_refuse(self):
        found = CreditFindings(
            seller=standing(SELLER.uscc, status=EnterpriseStatus.OTHER, text="停业"),
            buyer=standing(BUYER.uscc, executed=1),
        )
        assert credit_problem(found, CreditChecks()) is None  # neither inactive nor executed
        strict = CreditChecks(seller=("inactive",), buyer=("executed",))
        assert (credit_problem(found, strict) or ("",))[0] == "SELLER_INACTIVE"
        buyer_only = CreditChecks(seller=(), buyer=("executed",))
        assert (credit_problem(found, buyer_only) or ("",))[0] == "BUYER_EXECUTED"
        unknown = CreditFindings(seller=standing(SELLER.uscc, status=None))
        assert credit_problem(unknown, CreditChecks(seller=("dishonest",))) is None


class TestReserveLimit:
    async def test_a_refused_party_is_rejected_before_any_limit_is_held(self):
        uow = FakeUnitOfWork()
        found = CreditFindings(
            seller=standing(SELLER.uscc, status=EnterpriseStatus.CANCELLED), buyer=None
        )
        (emitted,) = await reserve_limit(matched("A"), found, uow, services(FakeCreditBureau()))  # type: ignore[arg-type]
        assert isinstance(emitted, FinancingRejected)
        assert (emitted.reason, emitted.step) == ("SELLER_DEREGISTERED", "credit")
        assert "注销" in emitted.detail
        assert uow.facilities.reserved == []
        assert uow.requests.moves[0][1:3] == (FinancingState.REJECTED, "SELLER_DEREGISTERED")

    async def test_clean_parties_or_no_findings_hold_the_limit_as_before(self):
        for found in (CreditFindings(seller=standing(SELLER.uscc)), None):
            uow = FakeUnitOfWork()
            (emitted,) = await reserve_limit(matched("A"), found, uow, services(None))  # type: ignore[arg-type]
            assert isinstance(emitted, LimitReserved)
            assert uow.facilities.reserved == ["A"]
            assert uow.requests.moves == [("A", FinancingState.LIMIT_RESERVED, None, None)]

    async def test_checks_skipped_for_an_unavailable_bureau_are_noted_in_the_history(self):
        uow = FakeUnitOfWork()
        found = CreditFindings(unchecked="buyer not checked, the credit bureau did not answer")
        await reserve_limit(matched("A"), found, uow, services(FakeCreditBureau()))  # type: ignore[arg-type]
        assert uow.requests.moves[0][3] == "buyer not checked, the credit bureau did not answer"


class TestCreditPolicy:
    def test_the_default_checks_sellers_and_buyers_for_deregistered_revoked_and_dishonest(self):
        checks = CreditChecks()
        assert checks.seller == checks.buyer == ("deregistered", "revoked", "dishonest")
        assert (checks.on_unavailable, checks.executed) == ("wait", False)

    def test_a_bad_credit_checks_key_is_named_with_its_path(self, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text(
            "credit_checks:\n"
            "  seller: [deregistered, bankrupt]\n"
            "  buyers: [dishonest]\n"
            "  on_unavailable: later\n",
            encoding="utf-8",
        )
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        assert sorted(p.path for p in caught.value.problems) == [
            "/credit_checks/buyers",
            "/credit_checks/on_unavailable",
            "/credit_checks/seller/1",
        ]

    def test_a_check_named_twice_is_refused(self, tmp_path):
        path = tmp_path / "twice.yaml"
        path.write_text("credit_checks: {buyer: [dishonest, dishonest]}\n", encoding="utf-8")
        with pytest.raises(PolicyError) as caught:
            load_policy(path)
        assert [(p.path, p.reason) for p in caught.value.problems] == [
            ("/credit_checks/buyer", "names dishonest twice")
        ]

    def test_factorhub_policy_check_names_the_bad_key_and_exits_2(self, tmp_path):
        from hub.cli import app

        path = tmp_path / "bad.yaml"
        path.write_text("credit_checks:\n  seller: [deregistred]\n", encoding="utf-8")
        result = CliRunner().invoke(app, ["policy", "check", str(path)])
        assert result.exit_code == 2
        assert "/credit_checks/seller/0" in result.output


class TestWiring:
    def test_the_bureau_comes_from_its_variable_or_the_simulators_ports_file(self, tmp_path):
        import json

        from hub.config import Settings

        ports = tmp_path / "ports.json"
        ports.write_text(json.dumps({"credit": {"base_url": "http://127.0.0.1:8106"}}))
        simulated = Settings.from_env({"FACTORHUB_SIMULATORS_FILE": str(ports)})
        assert (simulated.credit_url, simulated.credit_token) == (
            "http://127.0.0.1:8106",
            "tyc-sim-token",  # the simulator's default account, for QA
        )
        env = {
            "FACTORHUB_SIMULATORS_FILE": str(ports),
            "FACTORHUB_CREDIT_URL": "https://open.api.tianyancha.com",
            "FACTORHUB_CREDIT_CACHE_SECONDS": "60",
        }
        real = Settings.from_env(env)
        assert (real.credit_url, real.credit_token, real.credit_cache_seconds) == (
            "https://open.api.tianyancha.com",
            None,  # never the simulator's token for a real bureau
            60.0,
        )
        assert Settings.from_env({}).credit_url is None

    def test_a_hub_checks_credit_only_where_a_bureau_is_set_and_never_without_a_token(
        self, tmp_path
    ):
        from dataclasses import replace

        from canonical import ConfigurationError
        from hub.app import Hub
        from hub.config import Settings

        base = replace(
            Settings.from_env({}), database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        )

        def step(hub: Hub) -> object:
            return next(c for c in hub.consumers if c.route.group == "reserve-limit").route

        without = Hub(base)
        assert without.services.credit is None
        assert step(without).call_many is None  # type: ignore[attr-defined]
        bureau = replace(base, credit_url="http://127.0.0.1:9", credit_token="t")
        checking = Hub(bureau)
        assert checking.services.credit is not None
        assert step(checking).call_many is check_parties  # type: ignore[attr-defined]
        with pytest.raises(ConfigurationError, match="FACTORHUB_CREDIT_TOKEN"):
            Hub(replace(bureau, credit_token=None))
