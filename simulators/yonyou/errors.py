"""YonBIP answer envelopes and the error codes this simulator answers with.

Business calls answer `{"code": "200", "message": "操作成功", "data": {...}}`; the token endpoint
answers `{"code": "00000", "message": "成功！", "data": {...}}` (formats-inbound §1.5). Documented
business errors: `1002` 数据不存在, `999` 服务端逻辑异常. The token endpoint's and the gateway's
error codes are not in the reference: the ones below are this simulator's choice, kept here in
one place so they can be corrected when a real tenant shows its own.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from simulators.erp.jsontext import JsonValue, dumps

__all__ = [
    "BUSINESS_OK",
    "DATA_NOT_FOUND",
    "SERVER_LOGIC_ERROR",
    "TOKEN_APP_UNKNOWN",
    "TOKEN_BAD_SIGNATURE",
    "TOKEN_MISSING_PARAMETER",
    "TOKEN_OK",
    "TOKEN_STALE_TIMESTAMP",
    "TOKEN_TENANT_UNKNOWN",
    "UNAUTHORIZED",
    "YonyouError",
    "envelope",
]

TOKEN_OK = "00000"
BUSINESS_OK = "200"
DATA_NOT_FOUND = "1002"  # 数据不存在 [H]
SERVER_LOGIC_ERROR = "999"  # 服务端逻辑异常 [H]
# Guessed [L]: the reference names no codes for these.
TOKEN_MISSING_PARAMETER = "10001"
TOKEN_APP_UNKNOWN = "10002"
TOKEN_BAD_SIGNATURE = "10003"
TOKEN_STALE_TIMESTAMP = "10004"
TOKEN_TENANT_UNKNOWN = "10005"
UNAUTHORIZED = "401"  # access_token missing, unknown or expired (HTTP 401 as well)


class YonyouError(Exception):
    """An answer in the YonBIP envelope with a non-success code."""

    def __init__(self, code: str, message: str, *, status: int = 200) -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message, self.status = code, message, status

    def response(self) -> Response:
        return envelope(self.code, self.message, None, status=self.status)


def envelope(code: str | int, message: str, data: Any, *, status: int = 200) -> Response:
    """`{"code", "message", "data"}` with amounts written exactly (Decimal as JSON numbers)."""
    body: dict[str, JsonValue] = {"code": code, "message": message, "data": data}
    return Response(dumps(body).encode(), status, media_type="application/json;charset=UTF-8")
