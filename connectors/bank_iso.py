"""The bank's ISO 20022 channel: pain.001 in, pain.002 out — never paying twice.

Instructions go out as payment files (one pain.001 with many transactions); the bank executes
each EndToEndId at most once. Their ids were persisted before this is called. On a timeout, a
dropped connection or a 5xx we do not know whether the bank executed a payment, so we ASK
(status query by EndToEndId) and resend only what the bank says it never received.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
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
    """Sends payment files of at most `batch_size` instructions; see the module doc."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        resend_attempts: int = 3,
        batch_size: int = 200,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._resend_attempts = resend_attempts
        self._batch_size = batch_size
        self._clock = clock

    async def submit_many(
        self, instructions: Sequence[DisbursementInstruction]
    ) -> list[PaymentResult | Exception]:
        # The same instruction twice (a redelivery) goes into the file once: a file must not
        # carry an EndToEndId twice, and both get the one answer.
        unique = list({i.id: i for i in instructions}.values())
        answers: dict[str, PaymentResult | Exception] = {}
        for start in range(0, len(unique), self._batch_size):
            chunk = unique[start : start + self._batch_size]
            try:
                answers.update(await self._submit_file(chunk))
            except Exception as error:  # this file's instructions only; earlier answers stand
                answers.update({i.id: error for i in chunk if i.id not in answers})
        return [answers[i.id] for i in instructions]

    async def status(self, instruction_id: str) -> PaymentResult | None:
        """The bank's verdict on an instruction, or None if the bank never received it."""
        with mapped_errors(_SYSTEM):
            response = await self._client.get(f"/iso20022/payments/{instruction_id}")
        if response.status_code == 404:
            return None
        check_status(_SYSTEM, response)
        answer = self._results([instruction_id], response.content)[instruction_id]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def _submit_file(
        self, instructions: Sequence[DisbursementInstruction]
    ) -> dict[str, PaymentResult | Exception]:
        answers: dict[str, PaymentResult | Exception] = {}
        pending, document = self._document(instructions, answers)
        for _ in range(self._resend_attempts):
            if not pending:
                break
            try:
                answers.update(await self._send(pending, document))
                return answers
            except TransientError as error:
                unknown = await self._ask(pending, error, answers)
            except PermanentError as error:  # the file refused, or its answer unreadable
                answers.update({i.id: error for i in pending})
                return answers
            if unknown != pending:  # resend only what the bank never received, as a new file
                pending, document = self._document(unknown, answers)
        for instruction in pending:
            answers.setdefault(instruction.id, TransientError(_SYSTEM, "no answer after resends"))
        return answers

    async def _ask(
        self,
        pending: list[DisbursementInstruction],
        error: TransientError,
        answers: dict[str, PaymentResult | Exception],
    ) -> list[DisbursementInstruction]:
        """After a lost answer: record what the bank knows; return what it never received."""
        unknown: list[DisbursementInstruction] = []
        for instruction in pending:
            try:
                known = await self.status(instruction.id)
            except TransientError:
                answers[instruction.id] = error  # cannot tell: retry later, never guess
                continue
            except PermanentError as refused:
                answers[instruction.id] = refused
                continue
            if known is None:
                unknown.append(instruction)
            else:
                answers[instruction.id] = known
        return unknown

    def _document(
        self,
        instructions: Sequence[DisbursementInstruction],
        answers: dict[str, PaymentResult | Exception],
    ) -> tuple[list[DisbursementInstruction], bytes]:
        """The payment file for the instructions that map; the others answer MappingError.

        A file of one reuses the instruction's own MsgId (a resend is byte-identical); a larger
        file's MsgId is a digest of its EndToEndIds, so the same set gets the same MsgId.
        """
        good = list(instructions)
        while good:
            try:
                return good, canonical_to_pain001(
                    good,
                    message_id=_file_id(good),
                    created_at=min(i.created_at for i in good),
                    initiating_party=good[0].debtor,
                )
            except MappingError as error:
                if len(good) == 1:
                    answers[good[0].id] = PermanentError(_SYSTEM, f"unmappable: {error}")
                    return [], b""
                bad = [i for i in good if not _maps(i)]
                for instruction in bad:
                    answers[instruction.id] = PermanentError(_SYSTEM, f"unmappable: {error}")
                if not bad:
                    raise PermanentError(_SYSTEM, f"payment file refused: {error}") from error
                good = [i for i in good if i not in bad]
        return [], b""

    async def _send(
        self, pending: list[DisbursementInstruction], document: bytes
    ) -> dict[str, PaymentResult | Exception]:
        with mapped_errors(_SYSTEM):
            response = await self._client.post("/iso20022/pain.001", content=document, headers=_XML)
        check_status(_SYSTEM, response)
        return self._results([i.id for i in pending], response.content)

    def _results(
        self, instruction_ids: Sequence[str], xml: bytes
    ) -> dict[str, PaymentResult | Exception]:
        try:
            report = pain002_to_canonical(xml, reported_at=self._clock())
        except MappingError as error:
            raise PermanentError(_SYSTEM, f"unreadable pain.002: {error}") from error
        by_id = {r.instruction_id: r for r in report.results}
        answers: dict[str, PaymentResult | Exception] = {}
        for instruction_id in instruction_ids:
            result = by_id.get(instruction_id)
            if result is not None:
                answers[instruction_id] = result
            elif report.group_status == "RJCT":
                answers[instruction_id] = PaymentResult(
                    instruction_id=instruction_id,
                    status=PaymentStatus.REJECTED,
                    bank_code="RJCT",
                    reason=",".join(report.group_reasons) or "RJCT",
                    reported_at=self._clock(),
                )
            else:
                answers[instruction_id] = PermanentError(
                    _SYSTEM, f"pain.002 does not mention {instruction_id}"
                )
        return answers


def _file_id(instructions: Sequence[DisbursementInstruction]) -> str:
    if len(instructions) == 1:
        return instructions[0].message_id
    ids = "\x1f".join(sorted(i.id for i in instructions))
    return "B" + hashlib.new("sm3", ids.encode()).hexdigest()[:34].upper()


def _maps(instruction: DisbursementInstruction) -> bool:
    try:
        canonical_to_pain001(
            [instruction],
            message_id=instruction.message_id,
            created_at=instruction.created_at,
            initiating_party=instruction.debtor,
        )
    except MappingError:
        return False
    return True
