"""The factoring flow: match -> reserve -> register -> instruct -> pay -> apply -> repay."""

from __future__ import annotations

from canonical import (
    DisbursementRequested,
    DocumentsMatched,
    DocumentWaitExpired,
    FinancingSubmitted,
    LimitReserved,
    PaymentReported,
    ReceivableRegistered,
    RepaymentReceived,
)
from routes.awaiting import expire_document_wait
from routes.compensation import abandon
from routes.credit import check_parties, credit_wanted
from routes.disbursement import (
    apply_payment_result,
    instruct_disbursement,
    record_submission,
    submit_to_bank,
)
from routes.limits import reserve_limit
from routes.matching import match_documents
from routes.registration import file_registrations, record_registration
from routes.registry import Route
from routes.repayment import apply_repayment
from routes.verification import verify_invoices

__all__ = ["ROUTES"]

ROUTES: tuple[Route, ...] = (
    Route(
        group="match-documents",
        consumes=FinancingSubmitted,
        call_many=verify_invoices,
        apply=match_documents,
        compensate=abandon("matching", "MATCHING_FAILED"),
    ),
    Route(
        group="expire-document-wait",
        consumes=DocumentWaitExpired,
        apply=expire_document_wait,
        compensate=abandon("matching", "MATCHING_FAILED"),
    ),
    Route(
        group="reserve-limit",
        consumes=DocumentsMatched,
        call_many=check_parties,  # at the credit bureau, one question per distinct USCC
        calls_when=credit_wanted,  # no bureau set: no call step at all
        apply=reserve_limit,
        compensate=abandon("limit", "LIMIT_CHECK_FAILED"),
    ),
    Route(
        group="register-receivable",
        consumes=LimitReserved,
        call_many=file_registrations,
        apply=record_registration,
        compensate=abandon("registration", "REGISTRATION_FAILED"),
        max_batch=1000,  # the registry is searched once per seller per batch, however large
    ),
    Route(
        group="instruct-disbursement",
        consumes=ReceivableRegistered,
        apply=instruct_disbursement,
        compensate=abandon("disbursement", "DISBURSEMENT_FAILED"),
    ),
    Route(
        group="send-disbursement",
        consumes=DisbursementRequested,
        call_many=submit_to_bank,
        apply=record_submission,
        compensate=abandon("disbursement", "DISBURSEMENT_REFUSED"),
    ),
    Route(group="apply-payment-result", consumes=PaymentReported, apply=apply_payment_result),
    Route(group="apply-repayment", consumes=RepaymentReceived, apply=apply_repayment),
)
"""Every route of the hub; the runtime binds each to its topic on the chosen transport."""
