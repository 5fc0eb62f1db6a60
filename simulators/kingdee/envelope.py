"""K/3 Cloud request envelopes in, `Result.ResponseStatus` envelopes out (§2.2, §2.4).

Requests come in three shapes, all accepted: `{"formid": F, "data": D}` (newer SDKs),
`{"parameters": [F, D]}` (native calls) and the old `{"format": 1, ..., "parameters": [...]}`; `D`
may be an object or a JSON string holding one (double-encoded). JSON numbers are read as Decimal
and written back with their exact text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

from fastapi.responses import Response

from simulators.erp.jsontext import dumps
from simulators.erp.kingdee import number

__all__ = [
    "CONTEXT_LOST",
    "BadRequest",
    "Call",
    "KdError",
    "MsgCode",
    "failure",
    "json_answer",
    "read_call",
    "read_json",
    "success_status",
]

CONTEXT_LOST = "会话信息已丢失，请重新登录"


class MsgCode(IntEnum):
    """`ResponseStatus.MsgCode` values (§2.4)."""

    DEFAULT = 0
    CONTEXT_LOST = 1
    NO_PERMISSION = 2
    EMPTY_OPERATION = 3
    EXCEPTION = 4
    EMPTY_FORM_ID = 5
    DB_FAILURE = 6
    LICENCE = 7
    PARAMETER_ERROR = 8
    NOT_EXIST = 9
    NO_DATA = 10
    VALIDATION_FAILED = 11
    NOT_OPERABLE = 12
    NETWORK_CONFLICT = 13
    CALL_LIMIT = 14
    ADMIN_LOGIN_FORBIDDEN = 15


@dataclass(frozen=True)
class KdError:
    """One entry of `ResponseStatus.Errors`."""

    message: str
    field_name: str | None = None
    d_index: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"FieldName": self.field_name, "Message": self.message, "DIndex": self.d_index}


class BadRequest(Exception):
    """A call K/3 Cloud refuses: answered with the failure envelope, never a traceback."""

    def __init__(self, code: MsgCode, errors: Sequence[KdError], *, http_status: int = 200) -> None:
        super().__init__(errors[0].message if errors else code.name)
        self.code, self.errors, self.http_status = code, tuple(errors), http_status

    @classmethod
    def one(
        cls, code: MsgCode, message: str, field_name: str | None = None, *, http_status: int = 200
    ) -> BadRequest:
        return cls(code, [KdError(message, field_name)], http_status=http_status)


@dataclass(frozen=True)
class Call:
    """A business call: the form id (may be empty) and its data object."""

    form_id: str
    data: dict[str, Any]


def read_json(body: bytes) -> Any:
    """The request body as JSON (numbers as Decimal); a UTF-8 BOM is tolerated."""
    try:
        return json.loads(body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest.one(
            MsgCode.PARAMETER_ERROR, f"请求参数不是有效的JSON格式：{error}"
        ) from error


def read_call(body: bytes, *, form_in_data: bool = False) -> Call:
    """Any of the three request shapes; `form_in_data` for calls whose data carries `FormId`."""
    payload = read_json(body)
    if not isinstance(payload, dict):
        raise BadRequest.one(MsgCode.PARAMETER_ERROR, "请求参数格式不正确")
    keys = {k.lower(): k for k in payload}
    if "parameters" in keys:
        parameters = payload[keys["parameters"]]
        if isinstance(parameters, str):
            parameters = _decode(parameters, "parameters")
        if not isinstance(parameters, list) or not parameters:
            raise BadRequest.one(MsgCode.PARAMETER_ERROR, "parameters 参数不能为空")
        if len(parameters) == 1:
            form_id, raw = "", parameters[0]
        else:
            form_id, raw = parameters[0], parameters[1]
    else:
        form_id, raw = (
            payload.get(keys.get("formid", "formid"), ""),
            payload.get(keys.get("data", "data")),
        )
    if isinstance(raw, str):
        raw = _decode(raw, "data")
    if not isinstance(raw, dict):
        raise BadRequest.one(MsgCode.PARAMETER_ERROR, "data 参数不能为空")
    if not isinstance(form_id, str):
        raise BadRequest.one(MsgCode.PARAMETER_ERROR, "formid 参数必须为字符串")
    if form_in_data and not form_id:
        inner = next((v for k, v in raw.items() if k.lower() == "formid"), "")
        form_id = inner if isinstance(inner, str) else ""
    return Call(form_id=form_id.strip(), data=raw)


def _decode(text: str, name: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise BadRequest.one(MsgCode.PARAMETER_ERROR, f"{name} 不是有效的JSON字符串") from error


def success_status(entities: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {
        "IsSuccess": True,
        "Errors": [],
        "SuccessEntitys": list(entities),
        "SuccessMessages": [],
        "MsgCode": int(MsgCode.DEFAULT),
    }


def failure(error: BadRequest) -> dict[str, Any]:
    """`{"Result": {"ResponseStatus": {...}}}` for a refused call."""
    return {
        "Result": {
            "ResponseStatus": {
                "ErrorCode": 500,
                "IsSuccess": False,
                "Errors": [e.to_json() for e in error.errors],
                "SuccessEntitys": [],
                "SuccessMessages": [],
                "MsgCode": int(error.code),
            }
        }
    }


def json_answer(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """Exact-number JSON, amounts in Kingdee style (`113000.0`, `1285.5`), UTF-8."""
    return Response(
        dumps(_wire(body)).encode(),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=dict(headers or {}),
    )


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, Mapping):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value
