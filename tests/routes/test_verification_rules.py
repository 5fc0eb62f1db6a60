"""What the tax platform's answer decides at matching (§3.2): the parties it names must be the
application's, a partly red-flushed invoice is financed on what the red letters leave, and an
out-of-control invoice is refused with an early warning on the seller."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from canonical import (
    DocumentsMatched,
    EarlyWarning,
    EarlyWarningLevel,
    FinancingRejected,
    FinancingState,
    FinancingSubmitted,
    Money,
)
from canonical.documents import Provenance
from canonical.verification import InvoiceVerification, TaxStatus, VerificationResult
from routes.matching import match_documents
from routes.policy import FlowPolicy
from routes.registry import Services
from tests.builders import BUYER, SELLER, financing_request
from tests.routes.fakes import FakeUow

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # 01:00 on the 29th in Shanghai
REQUEST = financing_request("FR1")  # total 113,000.00; 80 % advance


SERVICES = Services(
    policy=FlowPolicy(),
    clock=lambda: NOW,
    registry=None,  # type: ignore[arg-type]
    bank=None,  # type: ignore[arg-type]
)


def _answer(
    status: TaxStatus = TaxStatus.NORMAL,
    *,
    seller: str = SELLER.uscc,
    buyer: str = BUYER.uscc,
    red: str | None = None,
) -> InvoiceVerification:
    return InvoiceVerification(
        invoice_key=REQUEST.invoice.key,
        result=VerificationResult.CONSISTENT,
        result_code="0000",
        status=status,
        checked_at=NOW,
        seller_tax_no=seller,
        buyer_tax_no=buyer,
        red_total=None if red is None else Money.of(Decimal(red)),
        provenance=Provenance(source_system="vat", source_document_id="Q1"),
    )


async def _match(answer: InvoiceVerification) -> tuple[list[Any], FakeUow]:
    uow = FakeUow()
    msg = FinancingSubmitted(request_id="FR1", request=REQUEST)
    out = await match_documents(msg, answer, uow, SERVICES)  # type: ignore[arg-type]
    return list(out), uow


async def test_an_invoice_the_platform_knows_under_another_buyer_is_refused():
    other = "91310115MA1H7GQ02L"
    out, uow = await _match(_answer(buyer=other))
    (rejected,) = out
    assert isinstance(rejected, FinancingRejected)
    assert rejected.reason == "INVOICE_PARTY_MISMATCH"
    assert other in (rejected.detail or "")
    assert uow.requests.state is FinancingState.REJECTED


async def test_an_invoice_the_platform_knows_under_another_seller_is_refused():
    out, _ = await _match(_answer(seller="91110108MA01KPGX5T"))
    assert [m.reason for m in out] == ["INVOICE_PARTY_MISMATCH"]


async def test_a_partly_red_flushed_invoice_is_financed_on_what_the_red_letters_leave():
    # 113,000.00 - 13,000.00 red = 100,000.00 eligible; x 0.80 = 80,000.00
    out, uow = await _match(_answer(TaxStatus.PARTLY_RED_FLUSHED, red="13000.00"))
    (matched,) = out
    assert isinstance(matched, DocumentsMatched)
    assert matched.eligible_base is not None
    assert matched.eligible_base.amount == Decimal("100000.00")
    assert matched.principal.amount == Decimal("80000.00")
    assert "partly red-flushed: eligible face 100000.00" in (uow.requests.moves[-1][2] or "")


async def test_a_partly_red_flushed_invoice_without_the_red_amount_is_refused():
    out, _ = await _match(_answer(TaxStatus.PARTLY_RED_FLUSHED))
    assert [m.reason for m in out] == ["INVOICE_PARTLY_RED_FLUSHED"]


async def test_red_letters_that_take_off_the_whole_total_refuse_it_as_red_flushed():
    out, _ = await _match(_answer(TaxStatus.PARTLY_RED_FLUSHED, red="113000.00"))
    assert [m.reason for m in out] == ["INVOICE_RED_FLUSHED"]


async def test_an_out_of_control_invoice_is_refused_with_an_early_warning_on_the_seller():
    out, _ = await _match(_answer(TaxStatus.OUT_OF_CONTROL))
    rejected, warning = out
    assert isinstance(rejected, FinancingRejected)
    assert rejected.reason == "INVOICE_OUT_OF_CONTROL"
    assert isinstance(warning, EarlyWarning)
    assert (warning.trigger, warning.level) == ("INVOICE_OUT_OF_CONTROL", EarlyWarningLevel.ALERT)
    assert (warning.seller_uscc, warning.buyer_uscc) == (SELLER.uscc, BUYER.uscc)
    assert warning.as_of == date(2026, 11, 29)  # the day in China
    assert warning.outstanding is None  # nothing was paid out


async def test_a_void_invoice_is_refused_without_a_warning():
    out, _ = await _match(_answer(TaxStatus.VOID))
    assert [type(m) for m in out] == [FinancingRejected]


async def test_a_principal_is_never_more_than_the_amount_the_seller_requested():
    # 113,000.00 x 0.80 = 90,400.00, but 50,000.00 was asked for (§2.2: the least of the two)
    request = REQUEST.model_copy(update={"requested_amount": Money.of(Decimal("50000.00"))})
    uow = FakeUow()
    msg = FinancingSubmitted(request_id="FR1", request=request)
    (matched,) = await match_documents(msg, _answer(), uow, SERVICES)  # type: ignore[arg-type]
    assert isinstance(matched, DocumentsMatched)
    assert matched.principal.amount == Decimal("50000.00")
    assert "the amount requested" in (uow.requests.moves[-1][2] or "")
