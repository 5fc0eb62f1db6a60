"""The e-CNY (数字人民币) channel: one SM2-signed payment order per call — never paying twice.

The operator (formats-outbound §2.3, simulated by `simulators/ecny`) takes one order per
`POST /ecny/v1/payments`, answers ACCEPTED (PR02: money moved, final state to follow by notify),
DUPLICATE (a repeat: the first order's state, nothing paid again) or REJECTED (a business
refusal, PR01), and tells the state of an order at `GET /ecny/v1/payments/{outTradeNo}`.

The instruction id (our `outTradeNo`) was persisted before this is called, and the `msgId` is
derived from it, so every send of an instruction is the same order. On a timeout, a dropped
connection, a 5xx or an answer we cannot read or trust, we do not know whether the operator
executed it, so we ASK by our id and send again only when the operator says it never received
the order (404). The final-state notify goes to `notify_url` and is read elsewhere (with
`mappings.ecny.ecny_notify_to_canonical`); this gateway answers what the order call said.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import quote

import httpx

# tongsuopy ships no type information: its objects are `Any` to mypy.
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec

from canonical import (
    ConfigurationError,
    DisbursementInstruction,
    MappingError,
    Money,
    PaymentResult,
    PermanentError,
    TransientError,
)
from connectors.http import check_status, mapped_errors
from mappings.ecny import (
    EcnyOrderRequest,
    WalletType,
    canonical_to_ecny_order,
    ecny_answer_to_canonical,
)

__all__ = ["EcnyGateway"]

_SYSTEM = "ecny"
_PAYMENTS = "/ecny/v1/payments"
_JSON = {"Content-Type": "application/json; charset=utf-8"}
_CHINA = timezone(timedelta(hours=8))
_SM2_WITH_SM3 = ec.ECDSA(hashes.SM3())
"""SM2 with SM3 and the default signer id `1234567812345678` (what the operator verifies)."""


class EcnyGateway:
    """Pays each instruction with one signed order, at most `max_concurrency` at a time.

    - `client`: an httpx.AsyncClient whose base_url is the operator.
    - `private_key_pem`, `sign_sn`, `app_id`: our SM2 private key (PKCS#8 PEM), the serial of
      its certificate (`X-Ecny-SignSN`) and our AppId; every request is signed with them. The
      simulator accepts the key pair it derives from its seed for AppId `factorhub`
      (`GET /admin/keys` → `callers[0].private_key_pem` and `.sign_sn`), or a public key and
      serial loaded with a scenario's `callers`.
    - `operator_public_key_pem`: the operator's SM2 public key (simulator: `GET /admin/keys` →
      `operator.public_key_pem`). Answers that do not verify are not believed (the outcome is
      then asked for like a lost answer). None skips the check: it must be chosen explicitly.
    - `payer_wallet_id` / `payer_wallet_type`: the factor's 对公钱包 the money leaves from.
    - `payee_wallets`: the creditor's wallet id by its USCC (an instruction names a bank
      account, not a wallet); `payee_wallet_type` its type. A creditor without one fails alone.
    - `notify_url`: where the operator sends the final-state notify.
    - `expire_after`: how long an order stays valid after it is sent.
    - `resend_attempts`: sends of one order at most (the first one included).
    - `max_concurrency`: orders in flight at once, across every batch of this gateway.
    - `clock`: stamps signatures (the operator allows ±300 s) and results; must be aware.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        private_key_pem: str,
        sign_sn: str,
        operator_public_key_pem: str | None,
        payer_wallet_id: str,
        payee_wallets: Mapping[str, str],
        notify_url: str,
        app_id: str = "factorhub",
        payer_wallet_type: Literal["WT09", "WT10"] = "WT09",
        payee_wallet_type: WalletType = "WT09",
        expire_after: timedelta = timedelta(hours=1),
        resend_attempts: int = 3,
        max_concurrency: int = 16,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._key = _private_key(private_key_pem)
        self._operator = (
            None if operator_public_key_pem is None else _public_key(operator_public_key_pem)
        )
        self._sign_sn, self._app_id = sign_sn, app_id
        self._payer_wallet_id, self._payer_wallet_type = payer_wallet_id, payer_wallet_type
        self._payee_wallets, self._payee_wallet_type = payee_wallets, payee_wallet_type
        self._notify_url = notify_url
        self._expire_after = expire_after
        self._resend_attempts = max(1, resend_attempts)
        # One limit for the gateway, so concurrent batches together stay within it.
        self._limit = asyncio.Semaphore(max_concurrency)
        self._clock = clock

    async def submit_many(
        self, instructions: Sequence[DisbursementInstruction]
    ) -> list[PaymentResult | Exception]:
        # The same instruction twice (a redelivery) is ordered once; both get the one answer.
        unique = {i.id: i for i in instructions}
        outcomes = await asyncio.gather(
            *(self._pay(i) for i in unique.values()), return_exceptions=True
        )
        answers: dict[str, PaymentResult | Exception] = {}
        for instruction_id, outcome in zip(unique, outcomes, strict=True):
            if not isinstance(outcome, PaymentResult | Exception):
                raise outcome  # cancellation: not an answer
            answers[instruction_id] = outcome
        return [answers[i.id] for i in instructions]

    async def status(self, instruction_id: str) -> PaymentResult | None:
        """The operator's state of an instruction, or None if it never received the order."""
        return await self._query(instruction_id, None)

    async def _pay(self, instruction: DisbursementInstruction) -> PaymentResult | Exception:
        try:
            body = self._order(instruction)
        except PermanentError as error:
            return error
        async with self._limit:
            for _ in range(self._resend_attempts):
                try:
                    return await self._send(instruction, body)
                except PermanentError as refused:
                    return refused
                except TransientError as lost:
                    try:
                        known = await self._query(instruction.id, instruction.amount)
                    except TransientError:
                        return lost  # cannot tell: retry later, never guess
                    except PermanentError as refused:
                        return refused
                if known is not None:
                    return known
                # never received: the same order again (same msgId, fresh signature)
        return TransientError(
            _SYSTEM, f"{instruction.id}: no answer after {self._resend_attempts} sends"
        )

    def _order(self, instruction: DisbursementInstruction) -> bytes:
        """The order body; built once per batch, so every send of it is byte-identical."""
        wallet = self._payee_wallets.get(instruction.creditor.uscc)
        if wallet is None:
            raise PermanentError(
                _SYSTEM, f"{instruction.id}: no e-CNY wallet for {instruction.creditor.uscc}"
            )
        try:
            return canonical_to_ecny_order(
                EcnyOrderRequest(
                    instruction=instruction,
                    msg_id=_msg_id(instruction),
                    payer_wallet_id=self._payer_wallet_id,
                    payer_wallet_type=self._payer_wallet_type,
                    payee_wallet_id=wallet,
                    payee_wallet_type=self._payee_wallet_type,
                    expire_time=max(self._clock(), instruction.created_at) + self._expire_after,
                    notify_url=self._notify_url,
                )
            )
        except (MappingError, ValueError) as error:  # ValueError: pydantic's, on the request
            raise PermanentError(_SYSTEM, f"{instruction.id}: unmappable: {error}") from error

    async def _send(self, instruction: DisbursementInstruction, body: bytes) -> PaymentResult:
        request = self._client.build_request("POST", _PAYMENTS, content=body, headers=_JSON)
        response = await self._call(request)
        check_status(_SYSTEM, response)  # 4xx: refused before the books (R004-R008, 409)
        return self._result(response, instruction.id, instruction.amount)

    async def _query(self, instruction_id: str, amount: Money | None) -> PaymentResult | None:
        request = self._client.build_request("GET", f"{_PAYMENTS}/{quote(instruction_id, safe='')}")
        response = await self._call(request)
        if response.status_code == 404:
            self._verify(response)  # "never received" decides a resend: only the operator's
            return None
        check_status(_SYSTEM, response)
        return self._result(response, instruction_id, amount)

    async def _call(self, request: httpx.Request) -> httpx.Response:
        self._sign(request)
        with mapped_errors(_SYSTEM):
            return await self._client.send(request)

    def _result(
        self, response: httpx.Response, instruction_id: str, amount: Money | None
    ) -> PaymentResult:
        """The instruction's result from a 2xx answer. An answer that cannot be read, is not
        the operator's or names another order leaves the outcome unknown: TransientError."""
        self._verify(response)
        try:
            answer = ecny_answer_to_canonical(response.content, received_at=self._clock())
        except MappingError as error:
            raise TransientError(_SYSTEM, f"unreadable answer: {error}") from error
        result = answer.result
        if result is None or result.instruction_id != instruction_id:
            named = result.instruction_id if result else "no order"
            raise TransientError(_SYSTEM, f"answer names {named}, not {instruction_id}")
        if amount is not None and answer.amount is not None and answer.amount != amount:
            raise PermanentError(
                _SYSTEM,
                f"{instruction_id}: the operator holds {answer.amount.amount} "
                f"{answer.amount.currency}, the instruction is {amount.amount} {amount.currency}",
            )
        return result

    def _sign(self, request: httpx.Request) -> None:
        """The five X-Ecny headers over METHOD, the path as sent, timestamp, nonce and body."""
        stamp, nonce = str(int(self._clock().timestamp())), secrets.token_hex(16)
        message = _signing_string(request, stamp, nonce, request.content)
        signature = base64.b64encode(bytes(self._key.sign(message, _SM2_WITH_SM3))).decode()
        request.headers.update(
            {
                "X-Ecny-AppId": self._app_id,
                "X-Ecny-Timestamp": stamp,
                "X-Ecny-Nonce": nonce,
                "X-Ecny-SignSN": self._sign_sn,
                "X-Ecny-Signature": signature,
            }
        )

    def _verify(self, response: httpx.Response) -> None:
        """An answer is signed over the method and path of the request it answers."""
        if self._operator is None:
            return
        headers = response.headers
        try:
            message = _signing_string(
                response.request,
                headers["X-Ecny-Timestamp"],
                headers["X-Ecny-Nonce"],
                response.content,
            )
            signature = base64.b64decode(headers["X-Ecny-Signature"], validate=True)
            self._operator.verify(signature, message, _SM2_WITH_SM3)
        except Exception as error:  # a missing header, bad base64 or DER, InvalidSignature
            raise TransientError(
                _SYSTEM,
                f"HTTP {response.status_code} answer not signed by the operator: {error!r}",
            ) from error


def _signing_string(request: httpx.Request, stamp: str, nonce: str, body: bytes) -> bytes:
    path = request.url.raw_path.decode("ascii")  # as sent: percent-encoded, with any query
    return f"{request.method.upper()}\n{path}\n{stamp}\n{nonce}\n".encode() + body


def _msg_id(instruction: DisbursementInstruction) -> str:
    """32 digits: the creation day (China time) and 24 digits of SHA-256(instruction id). The
    same instruction always has the same msgId, so a resend, even after a restart, is a repeat."""
    day = instruction.created_at.astimezone(_CHINA).strftime("%Y%m%d")
    digest = int.from_bytes(hashlib.sha256(instruction.id.encode()).digest(), "big")
    return f"{day}{digest % 10**24:024d}"


def _private_key(pem: str) -> Any:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except Exception as error:  # the backend raises several types for bad PEM
        raise ConfigurationError(f"ecny: not an SM2 private key in PEM: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
        raise ConfigurationError("ecny: not an SM2 private key")
    return key


def _public_key(pem: str) -> Any:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except Exception as error:  # the backend raises several types for bad PEM
        raise ConfigurationError(f"ecny: not an SM2 public key in PEM: {error}") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "SM2":
        raise ConfigurationError("ecny: not an SM2 public key")
    return key
