"""The bank's ISO 20022 channel: pain.001 in, pain.002 out — never paying twice.

The instruction's ids were persisted before this is called. On a timeout, a dropped connection
or a 5xx we do not know whether the bank executed the payment, so we ASK (status query by
EndToEndId) and resend the identical message only when the bank says it never received it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from canonical import (
    DisbursementInstruction,
    MappingError,
    PaymentResult,
    PaymentStatus,
    PermanentError,
    TransientError,
)
from connectors.http import check_status, mapped_errors
from mappings.pain001 import canonical_to_pain001
from mappings.pain002 import pain002_to_canonical

__all__ = ["IsoBankGateway"]

_SYSTEM = "bank"
_XML = {"Content-Type": "application/xml; charset=utf-8"}


class IsoBankGateway:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resend_attempts: int = 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._resend_attempts = resend_attempts
        self._clock = clock

    async def submit(self, instruction: DisbursementInstruction) -> PaymentResult:
        document = canonical_to_pain001(
            [instruction],
            message_id=instruction.message_id,
            created_at=instruction.created_at,
            initiating_party=instruction.debtor,
        )
        last: TransientError | None = None
        for _ in range(self._resend_attempts):
            try:
                return await self._send(instruction, document)
            except TransientError as error:
                last = error
            known = await self.status(instruction.id)
            if known is not None:
                return known
        assert last is not None
        raise last

    async def status(self, instruction_id: str) -> PaymentResult | None:
        """The bank's verdict on an instruction, or None if the bank never received it."""
        with mapped_errors(_SYSTEM):
            response = await self._client.get(f"/iso20022/payments/{instruction_id}")
        if response.status_code == 404:
            return None
        check_status(_SYSTEM, response)
        return self._result(instruction_id, response.content)

    async def _send(self, instruction: DisbursementInstruction, document: bytes) -> PaymentResult:
        with mapped_errors(_SYSTEM):
            response = await self._client.post("/iso20022/pain.001", content=document, headers=_XML)
        check_status(_SYSTEM, response)
        return self._result(instruction.id, response.content)

    def _result(self, instruction_id: str, xml: bytes) -> PaymentResult:
        try:
            report = pain002_to_canonical(xml, reported_at=self._clock())
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unreadable pain.002: {error}") from error
        for result in report.results:
            if result.instruction_id == instruction_id:
                return result
        if report.group_status == "RJCT":
            reasons = ",".join(report.group_reasons) or "RJCT"
            return PaymentResult(
                instruction_id=instruction_id,
                status=PaymentStatus.REJECTED,
                bank_code="RJCT",
                reason=reasons,
                reported_at=self._clock(),
            )
        raise PermanentError(_SYSTEM, f"pain.002 does not mention {instruction_id}")
