"""An export invoice against its customs declarations (§3.3 "Export: customs").

The worked case: 苏州华盛 invoices 100 spindles x ¥1,000.00 = ¥100,000.00, zero-rated (出口
零税率), on 2026-11-20 under sales order / contract XSDD2611000001; the export declaration
under that contract declares the same goods, ¥100,000.00 FOB, exported 2026-11-22 by 苏州华盛
itself. The tolerance is 1 % of the declared value: ¥1,000.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from canonical import (
    CustomsDeclaration,
    DocumentLine,
    DocumentsMatched,
    DocumentWaitExpired,
    FinancingRejected,
    FinancingRequest,
    FinancingState,
    FinancingSubmitted,
    Invoice,
    Money,
    Provenance,
    PurchaseOrder,
)
from hub.cli_calc import policy_check_command
from routes import customs_match
from routes.awaiting import documents_arrived, expire_document_wait
from routes.customs_match import (
    CUSTOMS_CODES,
    declarations_for,
    is_export,
    wants_declarations,
)
from routes.later import Later
from routes.matching import match_problem, match_request
from routes.policy import POLICY_DIR, FlowPolicy, flow_policy, load_policy
from routes.ports import DocumentKey
from tests.builders import BUYER, NOW, SELLER, financing_request
from tests.routes.test_matching_late_documents import FakeDocumentIndex, match, services

CONTRACT = "XSDD2611000001"


def export_request(
    invoiced: str = "100000.00",
    *,
    currency: str = "CNY",
    declarations: tuple[CustomsDeclaration, ...] = (),
    request_id: str = "FREXP1",
    with_order: bool = True,
) -> FinancingRequest:
    """A zero-rated invoice of `invoiced` (100 spindles), its order for the same amount."""
    base = financing_request(request_id)
    amount = Money.of(invoiced, currency)
    price = Decimal(invoiced) / 100
    line = DocumentLine(
        line_no=1, item_code="M0001", quantity=Decimal(100), unit_price=price, amount=amount.amount
    )
    invoice = Invoice.model_validate(
        {
            **dict(base.invoice),
            "amount": amount,
            "tax": Money.of("0.00", currency),
            "total": amount,
            "lines": (line,),
        }
    )
    return FinancingRequest.model_validate(
        {
            **dict(base),
            "invoice": invoice,
            "orders": (export_order(invoiced, currency),) if with_order else (),
            "declarations": declarations,
        }
    )


def export_order(ordered: str = "100000.00", currency: str = "CNY") -> PurchaseOrder:
    amount = Money.of(ordered, currency)
    line = DocumentLine(
        line_no=1,
        item_code="M0001",
        quantity=Decimal(100),
        unit_price=Decimal(ordered) / 100,
        amount=amount.amount,
    )
    return PurchaseOrder(
        number=CONTRACT,
        order_date=date(2026, 11, 1),
        buyer=BUYER,
        total=amount,
        lines=(line,),
        provenance=Provenance(source_system="kingdee", source_document_id=CONTRACT),
    )


def declaration(
    declared: str = "100000.00",
    *,
    entry_id: str = "224820260000123456",
    currency: str = "CNY",
    exporter: str = SELLER.uscc,
    ie_flag: str = "E",
    exported: date | None = date(2026, 11, 22),
    cleared: bool = True,
    seq_no: str = "000020261118634512",
    trans_mode: str = "3",
) -> CustomsDeclaration:
    return CustomsDeclaration(
        entry_id=entry_id if cleared else seq_no,
        cleared=cleared,
        seq_no=seq_no,
        declare_date=date(2026, 11, 18),
        ie_flag=ie_flag,
        ie_date=exported,
        trade_uscc=exporter,
        trade_name="苏州华盛精密机械有限公司"
        if exporter == SELLER.uscc
        else "上海申联汽车零部件有限公司",
        contract_number=CONTRACT,
        total=Money.of(declared, currency),
        trans_mode=trans_mode,
        provenance=Provenance(source_system="customs-decmessage", source_document_id=entry_id),
    )


def problem(request: FinancingRequest, **policy: Any) -> tuple[str, str] | None:
    return match_problem(request, FlowPolicy(**policy))


class TestWhichInvoicesAreExports:
    def test_a_zero_rated_invoice_is_an_export_and_a_13_percent_one_is_not(self):
        assert is_export(export_request())
        assert not is_export(financing_request())  # ¥100,000.00 + 13 % = ¥113,000.00

    def test_an_invoice_in_dollars_is_an_export(self):
        assert is_export(export_request("14000.00", currency="USD"))

    def test_a_domestic_invoice_carrying_a_declaration_is_matched_against_it(self):
        request = FinancingRequest.model_validate(
            {**dict(financing_request()), "declarations": (declaration(exporter=BUYER.uscc),)}
        )
        assert is_export(request)
        assert problem(request) is not None

    def test_only_an_export_carrying_no_declaration_under_a_matching_policy_looks_one_up(self):
        policy = FlowPolicy()
        assert wants_declarations(export_request(), policy)
        assert not wants_declarations(financing_request(), policy)
        assert not wants_declarations(export_request(declarations=(declaration(),)), policy)
        assert not wants_declarations(export_request(), FlowPolicy(customs_matching="off"))


class TestTheExportRules:
    def test_a_released_export_by_the_seller_for_the_invoiced_value_matches(self):
        request = export_request(declarations=(declaration(),))

        assert match_request(request, FlowPolicy()).problem is None

    def test_a_declaration_not_released_yet_is_customs_not_cleared(self):
        request = export_request(declarations=(declaration(cleared=False, exported=None),))

        assert problem(request) == (
            "CUSTOMS_NOT_CLEARED",
            "declaration 000020261118634512 (统一编号) has no 海关编号 yet: not released",
        )

    def test_an_import_declaration_is_no_evidence_of_an_export(self):
        request = export_request(
            declarations=(declaration(ie_flag="I", entry_id="224820261000000762"),)
        )

        assert problem(request) == (
            "CUSTOMS_NOT_EXPORT",
            "declaration(s) 224820261000000762 declare an import (IEFlag I)",
        )

    def test_an_import_beside_the_export_under_the_same_contract_is_set_aside(self):
        imported = declaration("3000.00", ie_flag="I", entry_id="224820261000000762")
        request = export_request(declarations=(declaration(), imported))

        assert problem(request) is None

    def test_a_declaration_by_another_exporter_is_customs_exporter(self):
        request = export_request(declarations=(declaration(exporter=BUYER.uscc),))

        assert problem(request) == (
            "CUSTOMS_EXPORTER",
            "declaration 224820260000123456 names exporter (境内发货人) 913101156607431925 "
            "上海申联汽车零部件有限公司, not the seller 9132050571358240X0",
        )

    def test_exported_30_days_after_the_invoice_matches_and_31_days_is_customs_date(self):
        on_time = export_request(declarations=(declaration(exported=date(2026, 12, 20)),))
        late = export_request(declarations=(declaration(exported=date(2026, 12, 21)),))

        assert problem(on_time) is None
        assert problem(late) == (
            "CUSTOMS_DATE",
            "declaration 224820260000123456: exported 2026-12-21, after invoice date "
            "2026-11-20 + 30 d (2026-12-20)",
        )

    def test_without_an_export_date_the_declaration_date_counts(self):
        request = export_request(declarations=(declaration(exported=None),))  # declared 11-18

        assert problem(request) is None

    def test_a_declaration_in_dollars_for_an_invoice_in_yuan_is_customs_currency(self):
        request = export_request(declarations=(declaration("14000.00", currency="USD"),))

        assert problem(request) == (
            "CUSTOMS_CURRENCY",
            "declaration 224820260000123456 is in USD, the invoice in CNY: no FX rate source "
            "to compare them",
        )

    @pytest.mark.parametrize("invoiced", ["101000.00", "99000.00"])
    def test_an_invoice_exactly_1_percent_off_the_declared_value_matches(self, invoiced):
        assert problem(export_request(invoiced, declarations=(declaration(),))) is None

    @pytest.mark.parametrize("invoiced", ["101000.01", "98999.99"])
    def test_one_fen_beyond_1_percent_is_customs_amount(self, invoiced):
        code, detail = problem(export_request(invoiced, declarations=(declaration(),))) or ("", "")

        assert code == "CUSTOMS_AMOUNT"
        assert detail.startswith(f"invoiced {invoiced} CNY (excl. VAT) vs declared 100000.00")

    def test_a_cif_invoice_against_a_fob_declaration_is_an_exception_to_review(self):
        # ¥100,000.00 FOB declared; the invoice adds freight ¥3,000.00 and insurance ¥500.00
        request = export_request("103500.00", declarations=(declaration(trans_mode="3"),))

        assert problem(request) == (
            "CUSTOMS_AMOUNT",
            "invoiced 103500.00 CNY (excl. VAT) vs declared 100000.00 on 224820260000123456 "
            "(FOB), more than 1% apart: compare on the same incoterm basis (freight, "
            "insurance)",
        )
        # a programme allowing 4 % takes it
        assert problem(request, customs_amount_tolerance_pct=Decimal("0.04")) is None

    def test_two_shipments_under_one_contract_are_summed(self):
        first = declaration("60000.00")
        second = declaration("40000.00", entry_id="224820260000123999", seq_no="000020261119000001")

        assert problem(export_request(declarations=(first, second))) is None

    def test_with_customs_matching_off_no_declaration_is_looked_at(self):
        request = export_request(declarations=(declaration(exporter=BUYER.uscc),))

        assert problem(request, customs_matching="off") is None

    def test_an_export_with_no_declaration_matches_unless_one_is_required(self):
        assert problem(export_request()) is None
        assert problem(export_request(), customs_matching="required") == (
            "CUSTOMS_MISSING",
            "no customs declaration (报关单) for the export invoice (contracts named: "
            "XSDD2611000001)",
        )
        assert problem(financing_request(), customs_matching="required") is None  # domestic

    def test_every_code_is_stable_and_documented(self):
        assert sorted(CUSTOMS_CODES) == [
            "CUSTOMS_AMOUNT",
            "CUSTOMS_CURRENCY",
            "CUSTOMS_DATE",
            "CUSTOMS_EXPORTER",
            "CUSTOMS_MISSING",
            "CUSTOMS_NOT_CLEARED",
            "CUSTOMS_NOT_EXPORT",
        ]
        for code in CUSTOMS_CODES:
            assert f"`{code}`" in (customs_match.__doc__ or "")


class TestDeclarationsFound:
    def test_a_declaration_released_later_replaces_the_version_saved_before(self):
        saved = declaration(cleared=False, exported=None)
        released = declaration()  # the same SeqNo, now with its 海关编号

        chosen = declarations_for(export_request(), [released, saved])  # latest first

        assert chosen == (released,)

    def test_declarations_under_other_contracts_are_left_out(self):
        other = declaration().model_copy(update={"contract_number": "HT-OTHER"})

        assert declarations_for(export_request(), [other]) == ()


class TestMatchingRoutesCustomsExceptions:
    async def test_another_exporter_waits_in_match_review_with_customs_exporter(self):
        index = FakeDocumentIndex(declaration(exporter=BUYER.uscc))
        emitted, uow = await match(export_request(), index)

        assert emitted == []
        ((_, state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.MATCH_REVIEW, "CUSTOMS_EXPORTER")
        assert "not the seller 9132050571358240X0" in (note or "")
        assert index.finds == 1  # the export invoice's declarations: one query
        (amended,) = index.amended  # the stored request shows the declaration matched
        assert [d.entry_id for d in amended.declarations] == ["224820260000123456"]

    async def test_under_match_exceptions_reject_it_is_rejected_at_once(self):
        index = FakeDocumentIndex(declaration(exporter=BUYER.uscc))
        emitted, uow = await match(export_request(), index, match_exceptions="reject")

        (rejected,) = emitted
        assert isinstance(rejected, FinancingRejected)
        assert (rejected.reason, rejected.step) == ("CUSTOMS_EXPORTER", "matching")
        assert uow.requests.states["FREXP1"] is FinancingState.REJECTED

    async def test_a_matching_declaration_ingested_earlier_lets_the_export_through(self):
        emitted, _ = await match(export_request(), FakeDocumentIndex(declaration()))

        (matched,) = emitted
        assert isinstance(matched, DocumentsMatched)
        assert matched.principal.amount == Decimal("80000.00")  # ¥100,000.00 x 0.80

    async def test_a_domestic_invoice_or_a_policy_without_customs_looks_nothing_up(self):
        index = FakeDocumentIndex(declaration(exporter=BUYER.uscc))
        domestic, _ = await match(financing_request("FRDOM"), index)
        off, _ = await match(export_request(), index, customs_matching="off")

        assert isinstance(domestic[0], DocumentsMatched)
        assert isinstance(off[0], DocumentsMatched)
        assert index.finds == 0


REQUIRED = {"customs_matching": "required"}
CUSTOMS_KEY = DocumentKey("customs", CONTRACT, SELLER.uscc)


class TestARequiredDeclarationIsWaitedFor:
    async def test_an_export_invoice_without_its_declaration_waits_for_it_72_hours(self):
        index = FakeDocumentIndex()
        emitted, uow = await match(export_request(), index, **REQUIRED)

        (later,) = emitted
        assert isinstance(later, Later)
        assert later.message == DocumentWaitExpired(
            request_id="FREXP1", awaited=(CONTRACT,), waiting_since=NOW, hours=72
        )
        ((_, state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.AWAITING_DOCUMENTS, "DOCUMENTS_AWAITED")
        assert note == (
            "waiting for a customs declaration under contract(s) XSDD2611000001, until "
            "2026-12-01 17:00 Asia/Shanghai (72 h)"
        )
        wait = index.waits["FREXP1"]
        assert (wait.numbers, wait.customs) == ((), (CONTRACT,))

    async def test_the_declaration_ingested_later_hands_it_back_carrying_the_declaration(self):
        index = FakeDocumentIndex()
        _, uow = await match(export_request(), index, **REQUIRED)
        index.documents.append(declaration())  # just stored

        (handed,) = await documents_arrived("t1", [CUSTOMS_KEY], uow)  # type: ignore[arg-type]

        assert isinstance(handed, FinancingSubmitted)
        assert [d.entry_id for d in handed.request.declarations] == ["224820260000123456"]
        assert uow.requests.moves[-1][1:] == (
            FinancingState.SUBMITTED,
            None,
            "customs declaration(s) 224820260000123456 came: matched again",
        )
        assert index.waits == {}
        assert match_problem(handed.request, FlowPolicy(**REQUIRED)) is None

    async def test_the_order_alone_does_not_hand_back_an_invoice_waiting_for_its_declaration(
        self,
    ):
        index = FakeDocumentIndex()
        _, uow = await match(export_request(with_order=False), index, **REQUIRED)
        assert uow.requests.moves[0][3] == (
            "waiting for order(s) XSDD2611000001 named by the invoice and a customs declaration "
            "under contract(s) XSDD2611000001, until 2026-12-01 17:00 Asia/Shanghai (72 h)"
        )

        index.documents.append(export_order())
        order_key = DocumentKey("order", CONTRACT, BUYER.uscc)
        assert await documents_arrived("t1", [order_key], uow) == []  # type: ignore[arg-type]
        index.documents.insert(0, declaration())
        (handed,) = await documents_arrived("t1", [CUSTOMS_KEY], uow)  # type: ignore[arg-type]

        assert [o.number for o in handed.request.orders] == [CONTRACT]
        assert len(handed.request.declarations) == 1
        assert uow.requests.moves[-1][3] == (
            "order(s) XSDD2611000001 and customs declaration(s) 224820260000123456 came: "
            "matched again"
        )

    async def test_a_declaration_that_never_comes_is_customs_missing_when_the_wait_runs_out(
        self,
    ):
        index = FakeDocumentIndex()
        (later,), uow = await match(export_request(), index, **REQUIRED)

        emitted = await expire_document_wait(later.message, None, uow, services(**REQUIRED))  # type: ignore[arg-type]

        assert emitted == []
        assert uow.requests.moves[-1][1:] == (
            FinancingState.MATCH_REVIEW,
            "CUSTOMS_MISSING",
            "a customs declaration under contract(s) XSDD2611000001 never came: waited 72 h "
            "from 2026-11-28 17:00 Asia/Shanghai",
        )
        assert index.waits == {}

    async def test_with_no_wait_configured_a_missing_declaration_is_customs_missing_at_once(
        self,
    ):
        emitted, uow = await match(
            export_request(), FakeDocumentIndex(), document_wait_hours=0, **REQUIRED
        )

        assert emitted == []
        assert [(m[1], m[2]) for m in uow.requests.moves] == [
            (FinancingState.MATCH_REVIEW, "CUSTOMS_MISSING")
        ]


class TestThePolicysCustomsKeys:
    def test_the_default_matches_a_declaration_when_present_within_1_percent(self):
        policy = load_policy(POLICY_DIR / "default.yaml")
        flow = flow_policy(policy)

        assert (policy.customs_matching, policy.customs_amount_tolerance_pct) == (
            "when_present",
            Decimal("0.01"),
        )
        assert (flow.customs_matching, flow.customs_amount_tolerance_pct) == (
            "when_present",
            Decimal("0.01"),
        )

    def test_an_unquoted_off_which_yaml_reads_as_false_switches_it_off(self, tmp_path):
        path = tmp_path / "policy.yaml"
        path.write_text("customs_matching: off\n", encoding="utf-8")

        assert load_policy(path).customs_matching == "off"

    def test_policy_check_names_a_bad_mode_and_a_bad_tolerance(self, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text(
            'customs_matching: sometimes\ncustoms_amount_tolerance_pct: "1.5"\n', encoding="utf-8"
        )
        app = typer.Typer()
        app.command("check")(policy_check_command)
        app.command("unused")(lambda: None)  # a group, so `check` is a subcommand

        result = CliRunner().invoke(app, ["check", str(path)])

        assert result.exit_code == 2
        lines = sorted(result.stderr.splitlines())
        assert lines[0].startswith("/customs_amount_tolerance_pct: ")
        assert "at most 1" in lines[0]
        assert lines[1].startswith("/customs_matching: ")
        assert "'when_present'" in lines[1]
