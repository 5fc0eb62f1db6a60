"""The order body of `POST /ecny/v1/payments` (formats-outbound §2.3), read with this simulator's
own rules, and the reject codes (S8 code list) its problems map to.

A problem in the body never reaches the engine: it is answered at once with the most basic
reject code found — R005 格式有误 (not a JSON object) before R006 必填缺失 before R008 长度超限
before R007 参数有误 — and `rjctInf` lists every field at fault. Unknown keys are ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from simulators.common.clock import CST

__all__ = [
    "AMOUNT",
    "BadOrder",
    "ContractIn",
    "OrderIn",
    "SubWalletIn",
    "WalletType",
    "parse_order",
    "parse_time",
]

AMOUNT = re.compile(r"(0|[1-9][0-9]{0,15})\.[0-9]{2}")
"""Yuan with exactly two decimals, as a string ("1285.50")."""

WalletType = Literal["WT01", "WT02", "WT03", "WT09", "WT10"]
"""个人, 子个人钱包, 硬件钱包, 对公钱包, 子对公钱包."""

_CODE_OF_ERROR = {"missing": "R006", "string_too_long": "R008"}
_PRECEDENCE = ("R005", "R006", "R008", "R007")
_PLAIN_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S")


@dataclass(frozen=True)
class BadOrder(Exception):
    """An order refused before anything happens: `code` from the S8 list, `info` for people."""

    code: str
    info: str


def parse_time(value: str) -> datetime:
    """ISO 8601 with an offset, or `yyyy-MM-dd HH:mm:ss` / `yyyyMMddHHmmss` in China time."""
    text = value.strip()
    for layout in _PLAIN_FORMATS:
        try:
            return datetime.strptime(text, layout).replace(tzinfo=CST)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError("not a time (ISO 8601 with offset, or yyyy-MM-dd HH:mm:ss)") from error
    if parsed.tzinfo is None:
        raise ValueError("an ISO 8601 time needs its offset (+08:00)")
    return parsed


class _Wire(BaseModel):
    model_config = ConfigDict(
        strict=True, frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )


def _amount(value: str) -> str:
    if not AMOUNT.fullmatch(value):
        raise ValueError('yuan with exactly two decimals as a string, e.g. "1285.50"')
    return value


def _time(value: str) -> str:
    parse_time(value)
    return value


class SubWalletIn(_Wire):
    push_id: Annotated[str, Field(min_length=1, max_length=64)]
    limit_amt: str
    valid_until: str

    @field_validator("limit_amt")
    @classmethod
    def _limit_amount(cls, value: str) -> str:
        return _amount(value)

    @field_validator("valid_until")
    @classmethod
    def _until_time(cls, value: str) -> str:
        return _time(value)


class ContractIn(_Wire):
    template_id: Annotated[str, Field(min_length=1, max_length=64)]
    release_condition: Annotated[str, Field(min_length=1, max_length=256)]
    lock_until: str

    @field_validator("lock_until")
    @classmethod
    def _until_time(cls, value: str) -> str:
        return _time(value)


class OrderIn(_Wire):
    msg_id: Annotated[str, Field(pattern=r"^[0-9]{32}$")]
    out_trade_no: Annotated[str, Field(min_length=1, max_length=32)]
    payer_wallet_id: Annotated[str, Field(min_length=1, max_length=68)]
    payer_wallet_type: Literal["WT09", "WT10"]
    payee_wallet_id: Annotated[str, Field(min_length=1, max_length=256)]
    payee_name: Annotated[str, Field(min_length=1, max_length=256)]
    payee_wallet_type: WalletType
    amount: str
    ccy: Literal["CNY"]
    biz_tp: Annotated[str, Field(pattern=r"^[A-Z][0-9]{3}$")] = "C201"
    purpose: Annotated[str, Field(max_length=140)] = ""
    expire_time: str
    notify_url: Annotated[str, Field(min_length=1, max_length=256, pattern=r"^https?://\S+$")]
    sub_wallet: SubWalletIn | None = None
    contract: ContractIn | None = None

    @field_validator("amount")
    @classmethod
    def _positive_amount(cls, value: str) -> str:
        if Decimal(_amount(value)) <= 0:
            raise ValueError("must be more than 0.00")
        return value

    @field_validator("expire_time")
    @classmethod
    def _expire_time(cls, value: str) -> str:
        return _time(value)

    @property
    def amount_value(self) -> Decimal:
        return Decimal(self.amount)

    @property
    def expires_at(self) -> datetime:
        return parse_time(self.expire_time)

    def extras(self) -> dict[str, Any]:
        """Sub-wallet and contract, as received (for the admin state)."""
        return self.model_dump(by_alias=True, include={"sub_wallet", "contract"}, exclude_none=True)


def parse_order(raw: bytes) -> OrderIn:
    """The order, or BadOrder with the reject code and every field at fault."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadOrder("R005", "报文格式有误: body is not UTF-8 JSON") from error
    if not isinstance(body, dict):
        raise BadOrder("R005", "报文格式有误: body is not a JSON object")
    try:
        return OrderIn.model_validate(body)
    except ValidationError as error:
        raise _bad_order(error) from error


def _bad_order(error: ValidationError) -> BadOrder:
    codes: list[str] = []
    reasons: list[str] = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        codes.append(_CODE_OF_ERROR.get(item["type"], "R007"))
        reasons.append(f"{field}: {item['msg']}")
    code = min(codes, key=_PRECEDENCE.index)
    label = {"R006": "必填缺失", "R008": "长度超限", "R007": "参数有误"}[code]
    return BadOrder(code, f"{label}: " + "; ".join(reasons))
