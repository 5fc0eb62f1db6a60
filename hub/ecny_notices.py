"""The e-CNY operator's final-state notify (mirrors dcep.909), sent on its own to `notifyUrl`.

`POST /v1/ecny/notify` takes it as the operator sends it (simulators/ecny/notify.py): a JSON
body (`msgId`, `orgnlMsgId`, `outTradeNo` = our instruction id, `ecnyTxId`, `prcSts`, `rjctCd`,
`rjctInf`, `amount`, `ccy`, `finishTime`) with the five `X-Ecny-*` headers, SM2-with-SM3 signed
by the operator over `POST\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY` (PATH as we received it).

1. The signature must verify with the operator's public key and the timestamp lie within
   ±`window` of our clock: otherwise `NoticeRefused` (401), and nothing is read.
2. The body is mapped by `mappings.ecny.ecny_notify_to_canonical` (MappingError: 422).
3. As `hub.bank_reports` does for pain.002: a result about one of our instructions becomes a
   `PaymentReported` in the outbox, committed before the operator is answered, and the
   `apply-payment-result` route applies it as it applies the answer to our own order. A
   duplicate (same msgId), late or out-of-order notify changes nothing there (a disbursement's
   state only moves forward). An instruction id that is not ours is listed, not an error; a
   notify whose amount or currency is not the instruction's is listed and NOT applied.
4. The operator counts a notify as received only on 2xx with `{"code": "SUCCESS"}`; anything
   else it sends again (same msgId, fresh signature).

Status: PR00 settles, PR01 rejects, PR02 and PR04 (presumed failure) stay pending. PR03
(presumed success) is booked as settled but marked presumed: a later correction to PR01 (after
the operator's 对账) undoes it (limit given back, loan closed, the application REJECTED), and a
later PR00 only confirms it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

# tongsuopy ships no type information: its objects are `Any` to mypy.
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

from canonical import ConfigurationError, Envelope, PaymentReported, PaymentStatus
from hub.persistence.money import to_fen
from hub.persistence.tables import DisbursementRow, RequestRow, table_of
from hub.persistence.uow import UnitOfWorkFactory
from mappings.ecny import ecny_notify_to_canonical

__all__ = ["EcnyNotices", "NoticeOutcome", "NoticeRefused", "received_path"]

log = logging.getLogger("factorhub.ecny")

_SM2_WITH_SM3 = ec.ECDSA(hashes.SM3())
"""SM2 with SM3 and the default signer id `1234567812345678` (what the operator signs with)."""
_HEADERS = ("X-Ecny-Timestamp", "X-Ecny-Nonce", "X-Ecny-Signature")

_disbursements = table_of(DisbursementRow)
_requests = table_of(RequestRow)
_JOINED = select(
    _disbursements.c.id,
    _disbursements.c.request_id,
    _disbursements.c.amount_fen,
    _disbursements.c.currency,
    _requests.c.tenant,
    _requests.c.seller_uscc,
).join(_requests, _requests.c.id == _disbursements.c.request_id)


class NoticeRefused(Exception):
    """A notify that is not the operator's (signature missing, stale or wrong): 401."""


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    instruction_id: str
    status: PaymentStatus
    reported: int
    """1 when the result was handed to the flow (applied once, whatever repeats later)."""
    unknown: tuple[str, ...]
    """The instruction id, when it is not one of ours."""
    mismatched: tuple[str, ...]
    """The instruction id, when the notify's amount or currency is not the instruction's."""


class EcnyNotices:
    """Verifies and queues the operator's notifies; see the module doc."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        operator_public_key_pem: str,
        *,
        window: timedelta = timedelta(seconds=300),
    ) -> None:
        self._units = units
        self._key = _public_key(operator_public_key_pem)
        self._window = window

    def verify(self, path: str, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        """Raise NoticeRefused unless the operator signed this POST to `path` lately."""
        missing = [h for h in _HEADERS if not headers.get(h)]
        if missing:
            raise NoticeRefused(f"not signed: {', '.join(missing)} missing")
        stamp, nonce, signature = (headers[h] for h in _HEADERS)
        if not stamp.isdigit() or abs(now.timestamp() - int(stamp)) > self._window.total_seconds():
            raise NoticeRefused(f"timestamp {stamp} outside ±{self._window.total_seconds():.0f}s")
        message = f"POST\n{path}\n{stamp}\n{nonce}\n".encode() + body
        try:
            self._key.verify(base64.b64decode(signature, validate=True), message, _SM2_WITH_SM3)
        except Exception as error:  # bad base64 or DER, InvalidSignature
            raise NoticeRefused(f"signature does not verify ({type(error).__name__})") from error

    async def accept(
        self, raw: bytes, *, path: str, headers: Mapping[str, str], now: datetime
    ) -> NoticeOutcome:
        """Verify (NoticeRefused), map (MappingError: nothing stored), then queue the result."""
        self.verify(path, headers, raw, now=now)
        notice = ecny_notify_to_canonical(raw, received_at=now)
        result = notice.result
        if notice.finished_at is not None:  # the day the money moved is the loan's value date
            result = result.model_copy(update={"reported_at": notice.finished_at})
        instruction_id = result.instruction_id
        async with self._units() as uow:
            row = (
                await uow.session.execute(_JOINED.where(_disbursements.c.id == instruction_id))
            ).first()
            if row is None:
                log.warning("e-CNY notify %s names %s: not ours", notice.message_id, instruction_id)
                return NoticeOutcome(instruction_id, result.status, 0, (instruction_id,), ())
            if (to_fen(notice.amount), notice.amount.currency) != (row.amount_fen, row.currency):
                log.error(
                    "e-CNY notify %s: %s %s moved for %s, the instruction is %s fen %s: ignored",
                    notice.message_id,
                    notice.amount.amount,
                    notice.amount.currency,
                    instruction_id,
                    row.amount_fen,
                    row.currency,
                )
                return NoticeOutcome(instruction_id, result.status, 0, (), (instruction_id,))
            if result.bank_code == "PR03":
                log.warning(
                    "e-CNY notify %s: %s is only presumed paid (PR03); booked as settled",
                    notice.message_id,
                    instruction_id,
                )
            message = PaymentReported(request_id=row.request_id, result=result)
            envelope = Envelope(
                correlation_id=row.request_id,
                tenant=row.tenant,
                source_system="ecny",
                type=type(message).__name__,
                key=row.seller_uscc,
                body=message.model_dump(mode="json"),
            ).carrying(message)
            await uow.outbox.add_many([(message.topic, envelope)])
            await uow.commit()
        return NoticeOutcome(instruction_id, result.status, 1, (), ())


def received_path(scope: Mapping[str, Any]) -> str:
    """The path of a request as the client sent it (still percent-encoded), with its query:
    what the operator signed."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else str(scope.get("path", ""))
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def _public_key(pem: str) -> Any:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except Exception as error:  # the backend raises several types for bad PEM
        raise ConfigurationError(
            f"FACTORHUB_ECNY_OPERATOR_KEY_FILE: not an SM2 public key in PEM: {error}"
        ) from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "SM2":
        raise ConfigurationError("FACTORHUB_ECNY_OPERATOR_KEY_FILE: not an SM2 public key")
    return key
