"""The matching step when the tax platform cannot answer today (§3.2, §4.1 verification_retry):
the application waits and is verified again the next morning, up to `max_retry_days` days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from canonical import (
    DocumentsMatched,
    FinancingRejected,
    FinancingState,
    FinancingSubmitted,
    Invoice,
    TransientError,
)
from canonical.documents import Provenance
from canonical.verification import InvoiceVerification, VerificationResult
from routes.later import CHINA, Later, next_business_morning
from routes.matching import match_documents
from routes.policy import FlowPolicy, Policy, PolicyError, flow_policy, load_policy
from routes.registry import Services
from routes.verification import RETRY_REASON, verify_invoices
from tests.builders import financing_request
from tests.routes.fakes import FakeUow

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai


def _services(max_retry_days: int = 3, verification: Any = None) -> Services:
    return Services(
        policy=FlowPolicy(max_retry_days=max_retry_days),
        clock=lambda: NOW,
        registry=None,  # type: ignore[arg-type]
        bank=None,  # type: ignore[arg-type]
        verification=verification,
    )


def _answer(result: VerificationResult, code: str = "009") -> InvoiceVerification:
    return InvoiceVerification(
        invoice_key=financing_request("FR1").invoice.key,
        result=result,
        result_code=code,
        message="查无此票",
        checked_at=NOW,
        provenance=Provenance(source_system="vat", source_document_id="Q1"),
    )


async def _match(
    uow: FakeUow, answer: InvoiceVerification, attempt: int = 1, max_retry_days: int = 3
) -> Sequence[Any]:
    message = FinancingSubmitted(
        request_id="FR1", request=financing_request("FR1"), verification_attempt=attempt
    )
    return await match_documents(message, answer, uow, _services(max_retry_days))  # type: ignore[arg-type]


class TestNextBusinessMorning:
    def test_is_nine_oclock_in_shanghai_on_the_next_china_calendar_day(self):
        assert next_business_morning(NOW) == datetime(2026, 11, 29, 9, 0, tzinfo=CHINA)

    def test_counts_the_day_in_china_time_not_utc(self):
        late = datetime(2026, 11, 28, 17, 30, tzinfo=UTC)  # already 01:30 on the 29th there
        assert next_business_morning(late) == datetime(2026, 11, 30, 9, 0, tzinfo=CHINA)

    def test_later_refuses_a_naive_time(self):
        message = FinancingSubmitted(request_id="FR1", request=financing_request("FR1"))
        with pytest.raises(ValueError, match="timezone-aware"):
            Later(message, datetime(2026, 11, 29, 9, 0))


class TestMatchingWhenThePlatformCannotAnswerToday:
    async def test_a_not_found_invoice_waits_with_a_note_and_is_asked_again_next_morning(self):
        uow = FakeUow()

        (later,) = await _match(uow, _answer(VerificationResult.NOT_FOUND))

        assert isinstance(later, Later)
        assert later.due_at == datetime(2026, 11, 29, 9, 0, tzinfo=CHINA)
        assert isinstance(later.message, FinancingSubmitted)
        assert later.message.verification_attempt == 2
        assert later.message.request == financing_request("FR1")
        ((state, reason, note),) = uow.requests.moves
        assert (state, reason) == (FinancingState.SUBMITTED, RETRY_REASON)
        assert note is not None
        assert "查验 not_found" in note
        assert "asking again on 2026-11-29 09:00" in note
        assert "attempt 2 of 4" in note

    async def test_a_retry_does_not_fail_on_its_own_invoice_lock(self):
        uow = FakeUow()
        await _match(uow, _answer(VerificationResult.NOT_YET_CHECKABLE, "rqerr"))

        emitted = await _match(uow, _answer(VerificationResult.CONSISTENT, "001"), attempt=2)

        (matched,) = emitted
        assert isinstance(matched, DocumentsMatched)
        assert uow.requests.state is FinancingState.MATCHED

    async def test_after_max_retry_days_a_not_found_invoice_is_rejected_invoice_not_found(self):
        uow = FakeUow()

        (rejected,) = await _match(
            uow, _answer(VerificationResult.NOT_FOUND), attempt=3, max_retry_days=2
        )

        assert isinstance(rejected, FinancingRejected)
        assert (rejected.reason, rejected.step) == ("INVOICE_NOT_FOUND", "matching")
        assert uow.requests.state is FinancingState.REJECTED
        assert "attempt 3 of 3" in rejected.detail

    async def test_after_max_retry_days_a_rate_limited_check_is_rejected_unavailable(self):
        uow = FakeUow()
        answer = _answer(VerificationResult.LIMIT_EXCEEDED, "002")

        (rejected,) = await _match(uow, answer, attempt=2, max_retry_days=1)

        assert isinstance(rejected, FinancingRejected)
        assert rejected.reason == "VERIFICATION_UNAVAILABLE"

    async def test_max_retry_days_zero_rejects_at_once(self):
        (rejected,) = await _match(
            FakeUow(), _answer(VerificationResult.NOT_FOUND), max_retry_days=0
        )
        assert isinstance(rejected, FinancingRejected)
        assert rejected.reason == "INVOICE_NOT_FOUND"

    async def test_a_retry_for_an_application_no_longer_waiting_does_nothing(self):
        uow = FakeUow()
        uow.requests.state = FinancingState.REJECTED

        emitted = await _match(uow, _answer(VerificationResult.CONSISTENT, "001"), attempt=2)

        assert emitted == []
        assert uow.requests.moves == []

    async def test_a_failing_service_stays_an_ordinary_transient_error(self):
        class Platform:
            async def verify_many(self, invoices: Sequence[Invoice]) -> list[Any]:
                return [_answer(VerificationResult.SERVICE_ERROR, "0001")] + [
                    _answer(VerificationResult.NOT_FOUND) for _ in invoices[1:]
                ]

        message = FinancingSubmitted(request_id="FR1", request=financing_request("FR1"))
        failed, later = await verify_invoices(
            [message, message], _services(verification=Platform())
        )

        assert isinstance(failed, TransientError)
        assert isinstance(later, InvoiceVerification)
        assert later.result is VerificationResult.NOT_FOUND


class TestMaxRetryDaysPolicy:
    def test_the_default_policy_retries_on_three_days(self, tmp_path):
        from routes.policy import POLICY_DIR

        assert load_policy(POLICY_DIR / "default.yaml").max_retry_days == 3
        assert flow_policy(Policy(max_retry_days=5)).max_retry_days == 5

    def test_a_policy_file_with_a_bad_max_retry_days_is_refused_naming_the_key(self, tmp_path):
        path = tmp_path / "policy.yaml"
        path.write_text('max_retry_days: "two"\n', encoding="utf-8")
        with pytest.raises(PolicyError) as error:
            load_policy(path)
        assert [p.path for p in error.value.problems] == ["/max_retry_days"]

    def test_more_than_thirty_retry_days_is_refused(self, tmp_path):
        path = tmp_path / "policy.yaml"
        path.write_text("max_retry_days: 31\n", encoding="utf-8")
        with pytest.raises(PolicyError, match="max_retry_days"):
            load_policy(path)
