"""e-CNY enterprise payments (the simulator contract of formats-outbound §2.3) <-> canonical.

Out: the payment ORDER body of `POST /ecny/v1/payments`, built from a DisbursementInstruction plus
the wallet details it lacks (`EcnyOrderRequest`). In: the final-state NOTIFY (mirrors dcep.909),
read into a `PaymentResult`, and the operator's ANSWERS (the synchronous answer to an order,
`code` ACCEPTED / DUPLICATE / REJECTED, and the status query's, `code` SUCCESS) read the same way.
An answer without `outTradeNo` is a refusal before the books (bad signature, bad body, an id
reused for another payment): it has no result, since it says nothing of the instruction. The
order and the notify also have their reverse (order reader, notify writer) for the simulator and
the round-trip tests.

Amounts are yuan as a decimal string with two places (`"1285.50"`, §2.3 `amount ("0.00"
string)`), never fen. `msgId` is the 32-digit business idempotency key and `outTradeNo` our
instruction id (at most 32 characters), so a resend reuses both. Timestamps are written as ISO
8601 in China time with the offset; a reader also takes `yyyy-MM-dd HH:mm:ss` and
`yyyyMMddHHmmss` (China time). `payeeWalletId` and `payeeName` are written as given: the
connector, which holds the SM4 keys, passes their ciphertext (§2.3) — a mapper does no crypto.

Status: PR00 settled, PR01 rejected, PR02 pending. PR03 推定成功 counts as settled (S8 books it
like PR00), marked `presumed`: a later correction to PR01 undoes it. PR04 推定失败 stays
PENDING: a presumed failure may still turn out paid at reconciliation, and releasing it would
let the hub pay twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from canonical import (
    Amount,
    DisbursementInstruction,
    Money,
    PaymentResult,
    PaymentStatus,
    Provenance,
)
from canonical.text import hidden_problem
from mappings._fields import Node, read_document
from mappings._invoice import fingerprint
from mappings._payments import CHINA, fen_text, money_amount, to_datetime
from mappings._problems import Problems, guarded, pointer, require_aware
from mappings._values import FOLD
from mappings.catalogue import InboundFormat, OutboundFormat

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "EcnyAnswer",
    "EcnyNotify",
    "EcnyOrderRequest",
    "EcnyPaymentAnswer",
    "EcnyPaymentNotice",
    "EcnyPaymentOrder",
    "ReleaseContract",
    "SubWallet",
    "canonical_to_ecny_order",
    "ecny_answer_to_canonical",
    "ecny_notify_to_canonical",
    "ecny_order",
    "read_ecny_notify",
    "read_ecny_order",
    "recognise_ecny_answer",
    "recognise_ecny_notify",
    "recognise_ecny_order",
    "write_ecny_notify",
    "write_ecny_order",
]

M = TypeVar("M", bound=BaseModel)

SOURCE_ORDER = "ecny-payment-order"
SOURCE_NOTIFY = "ecny-payment-notify"
SOURCE_ANSWER = "ecny-payment-answer"

_WIRE = ConfigDict(
    frozen=True, strict=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
)
_MSG_ID = Field(pattern=r"^[0-9]{32}$")
_IDENTIFIERS = frozenset(
    {
        "msgId",
        "orgnlMsgId",
        "outTradeNo",
        "ecnyTxId",
        "payerWalletId",
        "prcSts",
        "prcCd",
        "rjctCd",
        "ccy",
        "code",
        "bizTp",
        "payerWalletType",
        "payeeWalletType",
    }
)
"""Codes and ids: full-width digits and signs folded to half-width; names and texts kept."""
_STATUSES = {
    "PR00": (PaymentStatus.SETTLED, ""),
    "PR01": (PaymentStatus.REJECTED, ""),
    "PR02": (PaymentStatus.PENDING, ""),
    "PR03": (PaymentStatus.SETTLED, "推定成功 (presumed success)"),
    "PR04": (PaymentStatus.PENDING, "推定失败 (presumed failure): awaiting reconciliation"),
}
_PRESUMED = frozenset({"PR03", "PR04"})
"""Outcomes the operator settled without the participant: reconciliation may correct them."""

WalletType = Literal["WT01", "WT02", "WT03", "WT09", "WT10"]
"""个人, 子个人钱包, 硬件钱包, 对公钱包, 子对公钱包 (S8 wallet types)."""


class SubWallet(BaseModel):
    """Pay into a sub-wallet pushed to the payee, with a spending limit."""

    model_config = _WIRE

    push_id: str = Field(min_length=1, max_length=64)
    limit_amt: Amount
    valid_until: datetime


class ReleaseContract(BaseModel):
    """A conditional (smart-contract style) release of the payment."""

    model_config = _WIRE

    template_id: str = Field(min_length=1, max_length=64)
    release_condition: str = Field(min_length=1, max_length=256)
    lock_until: datetime


class EcnyPaymentOrder(BaseModel):
    """The body of `POST /ecny/v1/payments` (JSON keys are the camelCase aliases)."""

    model_config = _WIRE

    msg_id: str = _MSG_ID
    out_trade_no: str = Field(min_length=1, max_length=32)
    payer_wallet_id: str = Field(min_length=1, max_length=68)
    payer_wallet_type: Literal["WT09", "WT10"]
    payee_wallet_id: str = Field(min_length=1, max_length=256)
    payee_name: str = Field(min_length=1, max_length=256)
    payee_wallet_type: WalletType
    amount: Amount = Field(gt=0, decimal_places=2)
    ccy: Literal["CNY"] = "CNY"
    biz_tp: str = Field(default="C201", pattern=r"^[A-Z][0-9]{3}$")
    purpose: str = Field(default="", max_length=140)
    expire_time: datetime
    notify_url: str = Field(min_length=1, max_length=256, pattern=r"^https?://\S+$")
    sub_wallet: SubWallet | None = None
    contract: ReleaseContract | None = None


class EcnyOrderRequest(BaseModel):
    """What `factorhub render ecny-payment-order` takes: the instruction and its wallets."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    instruction: DisbursementInstruction
    msg_id: str = _MSG_ID
    payer_wallet_id: str = Field(min_length=1, max_length=68)
    payer_wallet_type: Literal["WT09", "WT10"] = "WT09"
    payee_wallet_id: str = Field(min_length=1, max_length=256)
    payee_wallet_type: WalletType = "WT09"
    payee_name: str = Field(default="", max_length=256)
    """Defaults to the creditor's name (or its ciphertext, when the connector encrypts)."""
    biz_tp: str = Field(default="C201", pattern=r"^[A-Z][0-9]{3}$")
    expire_time: datetime
    notify_url: str = Field(min_length=1, max_length=256, pattern=r"^https?://\S+$")
    sub_wallet: SubWallet | None = None
    contract: ReleaseContract | None = None


class EcnyNotify(BaseModel):
    """The body of the final-state notify the operator POSTs to our notifyUrl."""

    model_config = _WIRE

    msg_id: str = _MSG_ID
    orgnl_msg_id: str = _MSG_ID
    out_trade_no: str = Field(min_length=1, max_length=32)
    ecny_tx_id: str = Field(min_length=1, max_length=64)
    prc_sts: Literal["PR00", "PR01", "PR02", "PR03", "PR04"]
    prc_cd: str = Field(default="", max_length=16)
    rjct_cd: str = Field(default="", max_length=8)
    rjct_inf: str = Field(default="", max_length=256)
    amount: Amount = Field(ge=0, decimal_places=2)
    ccy: Literal["CNY"] = "CNY"
    finish_time: datetime


class EcnyAnswer(BaseModel):
    """The operator's answer to an order (`ACCEPTED`, `DUPLICATE`, `REJECTED`) or a query
    (`SUCCESS`); a refusal before the books has no `outTradeNo` and a null `ecnyTxId`."""

    model_config = _WIRE

    code: str = Field(pattern=r"^[A-Z_]{1,32}$")
    prc_sts: Literal["PR00", "PR01", "PR02", "PR03", "PR04"]
    prc_cd: str = Field(default="", max_length=16)
    rjct_cd: str = Field(default="", max_length=8)
    rjct_inf: str = Field(default="", max_length=1024)
    msg_id: str = Field(default="", pattern=r"^([0-9]{32})?$")
    out_trade_no: str = Field(default="", max_length=32)
    ecny_tx_id: str = Field(default="", max_length=64)
    amount: Amount | None = Field(default=None, ge=0, decimal_places=2)
    ccy: Literal["CNY"] = "CNY"
    finish_time: datetime | None = None


@dataclass(frozen=True)
class EcnyPaymentAnswer:
    """What an answer tells the hub: the code, and the instruction's result when it names one."""

    code: str
    """ACCEPTED, DUPLICATE (the first order's state: nothing paid again), REJECTED, SUCCESS."""
    result: PaymentResult | None
    """None for a refusal before the books (no outTradeNo): nothing was recorded."""
    amount: Money | None
    provenance: Provenance


@dataclass(frozen=True)
class EcnyPaymentNotice:
    """What a notify tells the hub: the canonical result, and the figures to check it by."""

    result: PaymentResult
    """instruction_id = outTradeNo, bank_code = prcSts, bank_reference = ecnyTxId."""
    amount: Money
    """The amount the platform moved: the hub checks it against the instruction."""
    message_id: str
    """The notify's msgId: a retried notify repeats it (de-duplicate on it)."""
    original_message_id: str
    """The order's msgId."""
    finished_at: datetime
    provenance: Provenance


# --- order ------------------------------------------------------------------------------------


def ecny_order(request: EcnyOrderRequest) -> EcnyPaymentOrder:
    """The order for one instruction; MappingError lists everything the platform would refuse."""
    return guarded(SOURCE_ORDER, lambda: _order(request))


def canonical_to_ecny_order(request: EcnyOrderRequest) -> bytes:
    """The JSON body (UTF-8) of `POST /ecny/v1/payments` for one instruction."""
    return guarded(SOURCE_ORDER, lambda: _dump(_order(request)))


def write_ecny_order(order: EcnyPaymentOrder) -> bytes:
    return guarded(SOURCE_ORDER, lambda: _dump(order))


def read_ecny_order(raw: bytes) -> EcnyPaymentOrder:
    """An order body (the simulator's side); MappingError lists every problem."""
    return guarded(SOURCE_ORDER, lambda: _load(raw, EcnyPaymentOrder, SOURCE_ORDER))


def recognise_ecny_order(raw: bytes) -> bool:
    head = raw[:4096] if isinstance(raw, bytes | bytearray) else b""
    return b'"payerWalletId"' in head and b'"outTradeNo"' in head


def _order(request: EcnyOrderRequest) -> EcnyPaymentOrder:
    problems = Problems()
    instruction = request.instruction
    amount = instruction.amount
    if amount.currency != "CNY":
        problems.add("instruction.amount.currency", "e-CNY pays CNY only", amount.currency)
    if amount.amount <= 0:
        problems.add("instruction.amount", "must be positive", str(amount.amount))
    elif amount.amount != amount.amount.quantize(Decimal("0.01")):
        problems.add(
            "instruction.amount",
            "has more than 2 decimals: a payment is never rounded here",
            str(amount.amount),
        )
    if len(instruction.id) > 32:
        problems.add(
            "instruction.id", "is longer than the 32 characters outTradeNo allows", instruction.id
        )
    require_aware(problems, "expire_time", request.expire_time)
    if request.expire_time <= instruction.created_at:
        problems.add(
            "expire_time",
            "must be after the instruction was created",
            request.expire_time.isoformat(),
        )
    problems.raise_if_any(SOURCE_ORDER)
    try:
        return EcnyPaymentOrder(
            msg_id=request.msg_id,
            out_trade_no=instruction.id,
            payer_wallet_id=request.payer_wallet_id,
            payer_wallet_type=request.payer_wallet_type,
            payee_wallet_id=request.payee_wallet_id,
            payee_name=request.payee_name or instruction.creditor.name,
            payee_wallet_type=request.payee_wallet_type,
            amount=amount.amount,
            biz_tp=request.biz_tp,
            purpose=instruction.remittance or instruction.request_id[:140],
            expire_time=request.expire_time,
            notify_url=request.notify_url,
            sub_wallet=request.sub_wallet,
            contract=request.contract,
        )
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(SOURCE_ORDER)
        raise


# --- notify -----------------------------------------------------------------------------------


def ecny_notify_to_canonical(raw: bytes, *, received_at: datetime) -> EcnyPaymentNotice:
    """Map a final-state notify; raise MappingError listing every problem."""
    return guarded(SOURCE_NOTIFY, lambda: _notice(raw, received_at))


def read_ecny_notify(raw: bytes) -> EcnyNotify:
    return guarded(SOURCE_NOTIFY, lambda: _load(raw, EcnyNotify, SOURCE_NOTIFY))


def write_ecny_notify(notify: EcnyNotify) -> bytes:
    """The notify body (the simulator's side)."""
    return guarded(SOURCE_NOTIFY, lambda: _dump(notify))


def recognise_ecny_notify(raw: bytes) -> bool:
    head = raw[:4096] if isinstance(raw, bytes | bytearray) else b""
    return b'"orgnlMsgId"' in head and b'"prcSts"' in head


def _notice(raw: bytes, received_at: datetime) -> EcnyPaymentNotice:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    problems.raise_if_any(SOURCE_NOTIFY)
    notify = _load(raw, EcnyNotify, SOURCE_NOTIFY)
    status, reason = _status(notify.prc_sts, notify.rjct_cd, notify.rjct_inf)
    return EcnyPaymentNotice(
        result=PaymentResult(
            instruction_id=notify.out_trade_no,
            status=status,
            bank_code=notify.prc_sts,
            reason=reason,
            bank_reference=notify.ecny_tx_id,
            reported_at=received_at,
            presumed=notify.prc_sts in _PRESUMED,
        ),
        amount=Money(amount=notify.amount, currency=notify.ccy),
        message_id=notify.msg_id,
        original_message_id=notify.orgnl_msg_id,
        finished_at=notify.finish_time,
        provenance=Provenance(
            source_system=SOURCE_NOTIFY,
            source_document_id=notify.msg_id,
            fingerprint=fingerprint(raw),
            received_at=received_at,
        ),
    )


# --- answers ----------------------------------------------------------------------------------


def ecny_answer_to_canonical(raw: bytes, *, received_at: datetime) -> EcnyPaymentAnswer:
    """Map the answer to an order or to a status query; MappingError lists every problem."""
    return guarded(SOURCE_ANSWER, lambda: _answer(raw, received_at))


def recognise_ecny_answer(raw: bytes) -> bool:
    head = raw[:4096] if isinstance(raw, bytes | bytearray) else b""
    return b'"code"' in head and b'"prcSts"' in head and b'"orgnlMsgId"' not in head


def _answer(raw: bytes, received_at: datetime) -> EcnyPaymentAnswer:
    problems = Problems()
    require_aware(problems, "received_at", received_at)
    problems.raise_if_any(SOURCE_ANSWER)
    answer = _load(raw, EcnyAnswer, SOURCE_ANSWER)
    result = None
    if answer.out_trade_no:
        status, reason = _status(answer.prc_sts, answer.rjct_cd, answer.rjct_inf)
        result = PaymentResult(
            instruction_id=answer.out_trade_no,
            status=status,
            bank_code=answer.prc_sts,
            reason=reason,
            bank_reference=answer.ecny_tx_id,
            reported_at=received_at,
            presumed=answer.prc_sts in _PRESUMED,
        )
    return EcnyPaymentAnswer(
        code=answer.code,
        result=result,
        amount=None if answer.amount is None else Money(amount=answer.amount, currency=answer.ccy),
        provenance=Provenance(
            source_system=SOURCE_ANSWER,
            source_document_id=answer.ecny_tx_id
            or answer.out_trade_no
            or f"refused:{answer.rjct_cd}",
            fingerprint=fingerprint(raw),
            received_at=received_at,
        ),
    )


def _status(prc_sts: str, rjct_cd: str, rjct_inf: str) -> tuple[PaymentStatus, str]:
    """The canonical status of a prcSts, and the reason: the rejection, then what PR03/04 mean."""
    status, presumed = _STATUSES[prc_sts]
    rejection = f"{rjct_cd}: {rjct_inf}" if rjct_cd and rjct_inf else rjct_cd or rjct_inf
    return status, "; ".join(filter(None, (rejection, presumed)))


# --- shared: JSON in and out ------------------------------------------------------------------


def _dump(model: BaseModel) -> bytes:
    return json.dumps(_plain(model), ensure_ascii=False, separators=(",", ":")).encode()


def _plain(model: BaseModel) -> dict[str, Any]:
    """Aliased keys; amounts as two-decimal strings; times in China time with the offset."""
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = _plain(value)
        elif isinstance(value, Decimal):
            value = fen_text(value)
        elif isinstance(value, datetime):
            value = value.astimezone(CHINA).isoformat()
        out[info.alias or name] = value
    return out


def _load(raw: bytes, model: type[M], source: str) -> M:
    problems = Problems()
    root = read_document(problems, raw, source)
    values = _values(problems, root, model)
    problems.raise_if_any(source)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems.add_validation_error("", exc)
        problems.raise_if_any(source)
        raise


def _values(problems: Problems, node: Node, model: type[BaseModel]) -> dict[str, object]:
    """The model's fields from a JSON object, messy values converted (unknown keys ignored)."""
    found: dict[str, object] = {}
    if not isinstance(node.value, dict):
        problems.add(node.path, "must be a JSON object", node.value)
        return found
    for name, info in model.model_fields.items():
        key = info.alias or name
        field = node.get(key)
        if field.missing or field.value is None:
            continue
        hint = str(info.annotation)
        convert = _converter(hint)
        if convert is None and isinstance(field.value, dict):
            nested = _nested(model, name)
            found[key] = _values(problems, field, nested) if nested else field.value
            continue
        if convert is None:
            text = _text(field.value, fold=key in _IDENTIFIERS)
            allowed = "" if key in _IDENTIFIERS else "\t\n\r"
            if isinstance(text, str) and (why := hidden_problem(text, allowed)):
                problems.add(pointer(node.path, key), why, field.value)
                continue
            found[key] = text
            continue
        try:
            found[key] = convert(field.value)
        except ValueError as exc:
            problems.add(pointer(node.path, key), str(exc), field.value)
    return found


def _converter(hint: str) -> Callable[[object], object] | None:
    if "datetime" in hint:
        return to_datetime
    if "Decimal" in hint:
        return money_amount
    return None


def _nested(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    nested: dict[tuple[str, str], type[BaseModel]] = {
        ("EcnyPaymentOrder", "sub_wallet"): SubWallet,
        ("EcnyPaymentOrder", "contract"): ReleaseContract,
    }
    return nested.get((model.__name__, name))


def _text(value: object, *, fold: bool) -> object:
    """Strings trimmed (identifiers also folded); other JSON types are left to the model."""
    if isinstance(value, str):
        return (value.translate(FOLD) if fold else value).strip()
    return value


INBOUND: tuple[InboundFormat, ...] = (
    InboundFormat(
        name="ecny-payment-notify",
        family="ecny",
        title="e-CNY final-state payment notify (simulator contract §2.3) -> PaymentResult",
        read=lambda raw, received_at: ecny_notify_to_canonical(raw, received_at=received_at),
        recognise=recognise_ecny_notify,
    ),
    InboundFormat(
        name="ecny-payment-answer",
        family="ecny",
        title="e-CNY answer to a payment order or a status query (§2.3) -> PaymentResult",
        read=lambda raw, received_at: ecny_answer_to_canonical(raw, received_at=received_at),
        recognise=recognise_ecny_answer,
    ),
)
OUTBOUND: tuple[OutboundFormat, ...] = (
    OutboundFormat(
        name="ecny-payment-order",
        title="DisbursementInstruction + wallets -> e-CNY payment order JSON (§2.3)",
        model=EcnyOrderRequest,
        write=canonical_to_ecny_order,
    ),
)
