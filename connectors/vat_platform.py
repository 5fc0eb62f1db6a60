"""The VAT invoice platform's 查验 service (through a licensed provider), in 批量查验 batches.

Verifying is a read: it changes nothing at the platform but its per-invoice daily count, so
after a timeout the batch is simply asked again. Each answer is mapped on its own; an answer
that cannot be read fails only its own invoice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from canonical import Invoice, MappingError, PermanentError
from canonical.verification import InvoiceVerification
from connectors.http import check_status, mapped_errors
from mappings.vat_verification import (
    request_for,
    verification_answer_to_canonical,
    verification_request_to_json,
)

__all__ = ["HttpVerificationGateway"]

_SYSTEM = "vat-platform"


class HttpVerificationGateway:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        batch_size: int = 200,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._batch_size = batch_size
        self._clock = clock

    async def verify_many(
        self, invoices: Sequence[Invoice]
    ) -> list[InvoiceVerification | Exception]:
        answers: list[InvoiceVerification | Exception] = []
        for start in range(0, len(invoices), self._batch_size):
            chunk = invoices[start : start + self._batch_size]
            try:
                answers.extend(await self._batch(chunk))
            except Exception as error:  # this batch's invoices only
                answers.extend([error] * len(chunk))
        return answers

    async def _batch(self, chunk: Sequence[Invoice]) -> list[InvoiceVerification | Exception]:
        queries = b",".join(verification_request_to_json(request_for(i)) for i in chunk)
        with mapped_errors(_SYSTEM):
            response = await self._client.post(
                "/api/v1/invoice/verify/batch",
                content=b'{"invoices":[' + queries + b"]}",
                headers={"content-type": "application/json"},
            )
        check_status(_SYSTEM, response)
        try:
            results = response.json()["results"]
        except (KeyError, ValueError, TypeError) as error:
            raise PermanentError(_SYSTEM, f"unreadable answer: {error!r}") from error
        if not isinstance(results, list) or len(results) != len(chunk):
            raise PermanentError(_SYSTEM, f"{len(results)} answers to {len(chunk)} queries")
        now = self._clock()
        return [self._read(result, now) for result in results]

    @staticmethod
    def _read(result: object, now: datetime) -> InvoiceVerification | Exception:
        raw = json.dumps(result, ensure_ascii=False).encode()
        try:
            return verification_answer_to_canonical(raw, received_at=now, face=False)
        except MappingError as error:
            return PermanentError(_SYSTEM, f"unreadable answer: {error}")
