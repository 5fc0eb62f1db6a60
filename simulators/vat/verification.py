"""查验 request and answer, in the shape licensed providers mirror from the national platform.

Inputs (formats-inbound §3.5) under their camelCase or pinyin names: `invoiceCode`/`fpdm`,
`invoiceNo`/`fphm`, `invoiceDate`/`kprq`, `invoiceAmount`/`je`/`kjje`/`jshj`, `checkCode`/`jym`,
`invoiceType`/`fplx`. Every answer is HTTP 200 with `{code, message, cyjgdm, requestId, data}`:
`code` is the provider's result code and `cyjgdm` the platform's own 查验结果代码.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["Outcome", "VerifyRequest", "answer"]

ELECTRONIC_TYPES = frozenset({"31", "32"})  # 数电专票 / 数电普票 (QR and verification codes)
KNOWN_TYPES = frozenset(
    {"01", "02", "03", "04", "08", "10", "11", "14", "15", "31", "32", "008", "010", "83"}
)
CHECK_CODE_TYPES = frozenset({"04", "10", "11", "14"})  # 普票 family: last 6 of 校验码
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_AMOUNT = re.compile(r"-?\d{1,14}(\.\d{1,2})?")


class Outcome(Enum):
    """Result of one 查验: (provider code, platform 查验结果代码, message)."""

    CONSISTENT = ("0000", "001", "查验成功，发票一致")
    DAILY_LIMIT = ("0002", "002", "超过该张发票当日查验次数(请于次日再次查验)!")
    BAD_REQUEST = ("0005", "005", "请求不合法!")
    INCONSISTENT = ("0006", "006", "发票信息不一致")
    NOT_FOUND = ("0009", "009", "查无此票")
    NOT_YET_VISIBLE = ("0009", "rqerr", "查无此票：当日开具发票可于次日进行查验")

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def platform_code(self) -> str:
        return self.value[1]

    @property
    def message(self) -> str:
        return self.value[2]


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class VerifyRequest(BaseModel):
    """One 查验 request; field rules per invoice family (§3.5)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    invoice_code: str = Field("", validation_alias=_alias("invoiceCode", "fpdm"))
    invoice_no: str = Field(validation_alias=_alias("invoiceNo", "fphm"))
    invoice_date: date = Field(validation_alias=_alias("invoiceDate", "kprq"))
    invoice_amount: Decimal | None = Field(
        None, validation_alias=_alias("invoiceAmount", "je", "kjje", "jshj", "bhsje")
    )
    check_code: str = Field("", validation_alias=_alias("checkCode", "jym"))
    invoice_type: str = Field("", validation_alias=_alias("invoiceType", "fplx"))

    @property
    def electronic(self) -> bool:
        """A 数电 invoice: 20-digit number, no code."""
        return len(self.invoice_no) == 20

    @field_validator("invoice_no")
    @classmethod
    def _number(cls, value: str) -> str:
        if not value.isdigit() or len(value) not in (8, 20):
            raise ValueError("发票号码应为8位（税控发票）或20位（数电票）数字")
        return value

    @field_validator("invoice_date", mode="before")
    @classmethod
    def _date(cls, value: object) -> date:
        match = _DATE.fullmatch(str(value).strip())
        if match is None:
            raise ValueError("开票日期格式应为YYYYMMDD")
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError as error:
            raise ValueError("开票日期不是有效日期") from error

    @field_validator("invoice_amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal | None:
        if value is None or value == "":
            return None
        text = str(value).strip()
        if isinstance(value, bool) or not _AMOUNT.fullmatch(text):
            raise ValueError("金额应为最多两位小数的数字")
        try:
            return Decimal(text)
        except InvalidOperation as error:
            raise ValueError("金额应为最多两位小数的数字") from error

    @field_validator("invoice_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value and value not in KNOWN_TYPES:
            raise ValueError(f"不支持的发票种类：{value}")
        return value

    @model_validator(mode="after")
    def _family_rules(self) -> VerifyRequest:
        if self.electronic:
            if self.invoice_code:
                raise ValueError("数电票的发票代码应为空")
            if self.invoice_type and self.invoice_type not in ELECTRONIC_TYPES:
                raise ValueError("20位发票号码的发票种类应为31或32")
            if self.invoice_amount is None:
                raise ValueError("数电票须填写价税合计金额")
            return self
        if not self.invoice_code.isdigit() or len(self.invoice_code) not in (10, 12):
            raise ValueError("发票代码应为10位或12位数字")
        if self.invoice_type in CHECK_CODE_TYPES:
            if not (self.check_code.isdigit() and len(self.check_code) == 6):
                raise ValueError("校验码应为后6位数字")
        elif self.invoice_amount is None:
            raise ValueError("须填写不含税金额")
        return self


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    data: dict[str, Any] | None = None
    errors: tuple[dict[str, str], ...] = ()
    message: str | None = None


def answer(result: Answer, request_id: str, query: VerifyRequest | None = None) -> dict[str, Any]:
    """The JSON body of a 查验 answer; it echoes the invoice asked about, as providers do, so an
    answer without `data` (查无此票, limits) still says which invoice it is about."""
    body: dict[str, Any] = {
        "code": result.outcome.code,
        "message": result.message or result.outcome.message,
        "cyjgdm": result.outcome.platform_code,
        "success": result.outcome is Outcome.CONSISTENT,
        "requestId": request_id,
        "data": result.data,
    }
    if query is not None:
        body["invoiceCode"] = query.invoice_code
        body["invoiceNo"] = query.invoice_no
    if result.errors:
        body["errors"] = list(result.errors)
    return body
