"""The bank core's SOAP service (WSDL 1.1, document/literal): one payment per call, never twice.

`SubmitPayment` carries a single instruction, so a batch goes out as concurrent calls (bounded,
not to flood the core behind its ESB). The core executes each InstructionId at most once, and
the id was persisted before this is called. On a timeout, a dropped connection, a 5xx, a
soap:Server fault or an unreadable answer we do not know whether the core paid, so we ASK
(`QueryPaymentStatus` by InstructionId) and resend only when it answers PAYMENT_NOT_FOUND.
A business refusal (RJCT AM04, AG01, ...) is an answer, a REJECTED PaymentResult; a soap:Client
fault is a PermanentError. Envelopes are written and read by `mappings.bank_soap` only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from canonical import (
    ConnectorError,
    DisbursementInstruction,
    MappingError,
    PaymentResult,
    PermanentError,
    TransientError,
)
from connectors.http import check_status, mapped_errors
from mappings.bank_soap import (
    BANK_CORE_NAMESPACE,
    BankCoreFault,
    BankSoapDisbursement,
    BankSoapStatusQuery,
    bank_soap_response_to_canonical,
    canonical_to_bank_soap,
    canonical_to_bank_soap_status_query,
)

__all__ = ["SoapBankGateway"]

_SYSTEM = "bankcore"


class SoapBankGateway:
    """Pays each instruction with its own `SubmitPayment`, at most `concurrency` at a time;
    see the module doc. `consumer_id` is our ESB id in the SysHead; ConsumerSeqNo is the
    instruction id, so a resend carries the same serial."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        consumer_id: str = "FHUB",
        path: str = "/bankcore",
        resend_attempts: int = 3,
        concurrency: int = 16,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if resend_attempts < 1 or concurrency < 1:
            raise ValueError("resend_attempts and concurrency must be at least 1")
        self._client = client
        self._consumer_id = consumer_id
        self._path = path
        self._resend_attempts = resend_attempts
        self._concurrency = concurrency
        self._clock = clock

    async def submit_many(
        self, instructions: Sequence[DisbursementInstruction]
    ) -> list[PaymentResult | Exception]:
        # The same instruction twice (a redelivery) is sent once and both get the one answer.
        unique = list({i.id: i for i in instructions}.values())
        gate = asyncio.Semaphore(self._concurrency)

        async def pay(instruction: DisbursementInstruction) -> PaymentResult | Exception:
            async with gate:
                try:
                    return await self._pay(instruction)
                except Exception as error:  # this instruction only; the others stand
                    return error

        answers = await asyncio.gather(*(pay(i) for i in unique))
        by_id = {i.id: answer for i, answer in zip(unique, answers, strict=True)}
        return [by_id[i.id] for i in instructions]

    async def status(self, instruction_id: str) -> PaymentResult | None:
        """The core's verdict on an instruction, or None if it never received it."""
        query = BankSoapStatusQuery(
            instruction_id=instruction_id, consumer_id=self._consumer_id, sent_at=self._clock()
        )
        try:
            envelope = canonical_to_bank_soap_status_query(query)
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unmappable status query: {error}") from error
        answer = await self._call("QueryPaymentStatus", envelope, instruction_id)
        if isinstance(answer, BankCoreFault):
            if answer.never_received:
                return None
            raise _fault_error(answer)
        return answer

    async def _pay(self, instruction: DisbursementInstruction) -> PaymentResult | Exception:
        request = BankSoapDisbursement(
            instruction=instruction, consumer_id=self._consumer_id, sent_at=self._clock()
        )
        try:
            envelope = canonical_to_bank_soap(request)  # a resend is byte-identical
        except MappingError as error:
            return PermanentError(_SYSTEM, f"unmappable: {error}")
        lost: ConnectorError = TransientError(_SYSTEM, "not sent")
        for _ in range(self._resend_attempts):
            try:
                answer = await self._call("SubmitPayment", envelope, instruction.id)
            except TransientError as error:
                lost = error
            else:
                if isinstance(answer, PaymentResult):
                    return answer
                if not answer.transient:
                    return _fault_error(answer)
                lost = _fault_error(answer)  # a Server fault: nothing to conclude, ask
            try:
                known = await self.status(instruction.id)
            except TransientError:
                return lost  # cannot tell: retry later, never guess
            except PermanentError as refused:
                return refused
            if known is not None:
                return known
        return TransientError(_SYSTEM, f"no answer after {self._resend_attempts} sends: {lost}")

    async def _call(
        self, operation: str, envelope: bytes, instruction_id: str
    ) -> PaymentResult | BankCoreFault:
        """The core's answer about `instruction_id`, or its fault; TransientError when there is
        no readable answer (the outcome is unknown), PermanentError for a 4xx without one."""
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{BANK_CORE_NAMESPACE}/{operation}"',
        }
        with mapped_errors(_SYSTEM):
            response = await self._client.post(self._path, content=envelope, headers=headers)
        try:
            reply = bank_soap_response_to_canonical(response.content, received_at=self._clock())
        except MappingError as error:
            check_status(_SYSTEM, response)  # a bare 5xx or 4xx raises by its status
            raise TransientError(_SYSTEM, f"unreadable {operation} answer: {error}") from error
        if isinstance(reply.answer, BankCoreFault):
            return reply.answer
        if reply.result is None or reply.result.instruction_id != instruction_id:
            raise TransientError(
                _SYSTEM, f"{operation} answered for {reply.answer.instruction_id}, not us"
            )
        return reply.result


def _fault_error(fault: BankCoreFault) -> TransientError | PermanentError:
    kind = TransientError if fault.transient else PermanentError
    code = fault.detail_code or fault.code
    return kind(_SYSTEM, f"soap:{fault.code} {code}: {fault.detail_message or fault.message}")
