"""The YonBIP tenant's state: apps, access tokens and sales invoices, behind one lock.

Everything random (app credentials, tokens, ids, document numbers) comes from RNGs seeded with
the simulator's seed, so one seed replays the same conversation.
"""

from __future__ import annotations

import math
import random
import secrets
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from simulators.common.clock import CST, Clock, now_cst
from simulators.erp.dataset import STANDARD_CASES, generate_companies, generate_invoices
from simulators.yonyou.crypto import token_signature
from simulators.yonyou.errors import (
    DATA_NOT_FOUND,
    SERVER_LOGIC_ERROR,
    TOKEN_APP_UNKNOWN,
    TOKEN_BAD_SIGNATURE,
    TOKEN_MISSING_PARAMETER,
    TOKEN_STALE_TIMESTAMP,
    UNAUTHORIZED,
    YonyouError,
)
from simulators.yonyou.records import LINES, record_from_save, seeded_record

__all__ = ["App", "IssuedToken", "Settings", "TokenStyle", "YonBip"]

TokenStyle = Literal["classic", "v1"]
MAX_PAGE_SIZE = 500
_STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class App:
    """A self-built app (自建应用): what the hub is configured with."""

    app_key: str
    app_secret: str
    tenant_id: str


@dataclass(slots=True)
class IssuedToken:
    value: str
    app_key: str
    issued_at: datetime
    expires_at: datetime
    style: TokenStyle
    uses: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "access_token": self.value,
            "app_key": self.app_key,
            "style": self.style,
            "issued_at": self.issued_at.strftime(_STAMP),
            "expires_at": self.expires_at.strftime(_STAMP),
            "uses": self.uses,
        }


@dataclass(frozen=True, slots=True)
class Settings:
    invoices: int = STANDARD_CASES
    """Seeded Yonyou invoices (the dataset's Yonyou cases for this seed, in order)."""
    anomalies: Mapping[str, float] | None = None
    token_ttl_s: int = 7200
    timestamp_window_s: int = 600
    """A token request whose timestamp is further from now than this is refused."""
    approve_on_save: bool = False
    detail_code_as_number: bool = True
    """The detail example shows `"code": 200` as a number; the other APIs send a string."""


@dataclass(slots=True)
class _Counters:
    token_errors: dict[str, int] = field(default_factory=dict)
    saves: dict[str, int] = field(default_factory=dict)
    unauthorized: int = 0


def default_app(seed: int) -> App:
    rng = random.Random(f"factorhub-sim:yonyou:app:{seed}")
    return App(
        app_key=f"{rng.getrandbits(128):032x}",
        app_secret=f"{rng.getrandbits(128):032x}",
        tenant_id="".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8)),
    )


class YonBip:
    def __init__(self, seed: int = 0, *, clock: Clock = now_cst) -> None:
        self._seed, self._clock = seed, clock
        self._lock = threading.Lock()
        self.reset()

    # -- lifecycle ------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.settings = Settings()
            self._rng = random.Random(f"factorhub-sim:yonyou:state:{self._seed}")
            self._tokens: dict[str, IssuedToken] = {}
            self._counters = _Counters()
            self._resubmit: dict[str, int] = {}
            self._seq = 0
            app = default_app(self._seed)
            self.apps: dict[str, App] = {app.app_key: app}
            self._seed_invoices()

    def configure(self, settings: Settings) -> None:
        """New settings; a change of `invoices`/`anomalies` re-seeds the invoices."""
        with self._lock:
            reseed = (settings.invoices, settings.anomalies) != (
                self.settings.invoices,
                self.settings.anomalies,
            )
            self.settings = settings
            if reseed:
                self._seed_invoices()

    def set_apps(self, apps: list[App]) -> None:
        with self._lock:
            self.apps = {app.app_key: app for app in apps}

    def _seed_invoices(self) -> None:
        companies = generate_companies(self._seed)
        cases = generate_invoices(
            self._seed, self.settings.invoices, companies, self.settings.anomalies
        )
        records = [seeded_record(c) for c in cases if c.vendor == "yonyou"]
        self._invoices: dict[int, dict[str, Any]] = {r["id"]: r for r in records}
        self._seeded_ids = [r["id"] for r in records]
        self._saved_ids: list[int] = []
        self._resubmit = {}

    def now(self) -> datetime:
        return self._clock().astimezone(CST)

    def _stamp(self) -> str:
        return self.now().strftime(_STAMP)

    # -- tokens ---------------------------------------------------------------------------------

    def issue_token(self, params: Mapping[str, str], style: TokenStyle) -> IssuedToken:
        try:
            token = self._check_token_request(params)
        except YonyouError as error:
            with self._lock:
                errors = self._counters.token_errors
                errors[error.code] = errors.get(error.code, 0) + 1
            raise
        with self._lock:
            now = self.now()
            value = self._new_token_value(style)
            issued = IssuedToken(
                value=value,
                app_key=token.app_key,
                issued_at=now,
                expires_at=now + timedelta(seconds=self.settings.token_ttl_s),
                style=style,
            )
            self._tokens[value] = issued
            return issued

    def _check_token_request(self, params: Mapping[str, str]) -> App:
        for name in ("appKey", "timestamp", "signature"):
            if not params.get(name):
                raise YonyouError(TOKEN_MISSING_PARAMETER, f"参数{name}不能为空")
        app = self.apps.get(params["appKey"])
        if app is None:
            raise YonyouError(TOKEN_APP_UNKNOWN, f"appKey[{params['appKey']}]不存在")
        if not params["timestamp"].isdigit():
            raise YonyouError(TOKEN_MISSING_PARAMETER, "参数timestamp应为毫秒时间戳")
        skew_ms = abs(self.now().timestamp() * 1000 - int(params["timestamp"]))
        if skew_ms > self.settings.timestamp_window_s * 1000:
            raise YonyouError(TOKEN_STALE_TIMESTAMP, "timestamp已过期，请使用当前时间重新签名")
        expected = token_signature(app.app_secret, params)
        if not secrets.compare_digest(expected, params["signature"]):
            raise YonyouError(TOKEN_BAD_SIGNATURE, "签名校验失败")
        return app

    def _new_token_value(self, style: TokenStyle) -> str:
        if style == "classic":
            return f"{self._rng.getrandbits(120):030x}"
        # The base/v1 tokens are longer and carry characters that must be URL-encoded.
        alphabet = string.ascii_letters + string.digits + "+/="
        return "yht" + "".join(self._rng.choice(alphabet) for _ in range(61))

    def authorize(self, value: str | None) -> IssuedToken:
        with self._lock:
            token = self._tokens.get(value or "")
            if token is None or self.now() >= token.expires_at:
                self._counters.unauthorized += 1
                message = "非法token" if token is None else "token已过期"
                raise YonyouError(UNAUTHORIZED, message, status=401)
            token.uses += 1
            return token

    def expire_tokens(self) -> int:
        with self._lock:
            now = self.now()
            for value, token in self._tokens.items():
                self._tokens[value] = replace(token, expires_at=min(token.expires_at, now))
            return len(self._tokens)

    # -- invoices -------------------------------------------------------------------------------

    def save(self, body: object) -> tuple[dict[str, Any], str]:
        """(record, outcome) where outcome is created, updated or replayed."""
        try:
            record, outcome = self._save(body)
        except YonyouError:
            self._count_save("rejected")
            raise
        self._count_save(outcome)
        return record, outcome

    def _count_save(self, outcome: str) -> None:
        with self._lock:
            self._counters.saves[outcome] = self._counters.saves.get(outcome, 0) + 1

    def _save(self, body: object) -> tuple[dict[str, Any], str]:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise YonyouError(SERVER_LOGIC_ERROR, "请求参数data不能为空")
        data: dict[str, Any] = body["data"]
        key = body.get("resubmitCheckKey")
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= 32):
            raise YonyouError(SERVER_LOGIC_ERROR, "resubmitCheckKey长度不能超过32位")
        with self._lock:
            if key is not None and key in self._resubmit:
                return self._invoices[self._resubmit[key]], "replayed"
            status = data.get("_status")
            if status == "Insert":
                record = self._insert(data)
                outcome = "created"
            elif status == "Update":
                record = self._update(data)
                outcome = "updated"
            else:
                raise YonyouError(SERVER_LOGIC_ERROR, f"_status取值非法: {status}")
            if key is not None:
                self._resubmit[key] = record["id"]
            return record, outcome

    def _insert(self, data: Mapping[str, Any]) -> dict[str, Any]:
        codes = {r["code"] for r in self._invoices.values()}
        code = data.get("code")
        if code in codes:
            raise YonyouError(SERVER_LOGIC_ERROR, f"单据编号[{code}]已存在")
        if not code:
            code = self._next_code(codes)
        record_id = self._next_id()
        record = record_from_save(data, record_id=record_id, code=str(code), now=self._stamp())
        self._invoices[record_id] = record
        self._saved_ids.append(record_id)
        return record

    def _update(self, data: Mapping[str, Any]) -> dict[str, Any]:
        record_id = _as_id(data.get("id"))
        existing = self._invoices.get(record_id) if record_id is not None else None
        if existing is None:
            raise YonyouError(DATA_NOT_FOUND, "数据不存在")
        if existing["status"] != 0:
            raise YonyouError(SERVER_LOGIC_ERROR, f"单据[{existing['code']}]已审核，不能修改")
        record = record_from_save(
            data, record_id=existing["id"], code=existing["code"], now=self._stamp()
        )
        record["createTime"] = existing["createTime"]
        self._invoices[existing["id"]] = record
        return record

    def _next_id(self) -> int:
        while True:
            candidate = self._rng.randint(10**15, 9 * 10**15)
            if candidate not in self._invoices:
                return candidate

    def _next_code(self, codes: set[str]) -> str:
        while True:
            self._seq += 1
            code = f"TI{self._seed % 10_000:04d}{self.now():%y%m%d}{900_000 + self._seq:06d}"
            if code not in codes:
                return code

    def approve(self, record_id: int) -> dict[str, Any]:
        """审核: open → approved with a tax invoice issued (businessState 2)."""
        with self._lock:
            record = self._invoices.get(record_id)
            if record is None:
                raise YonyouError(DATA_NOT_FOUND, "数据不存在")
            if record["status"] != 0:
                raise YonyouError(SERVER_LOGIC_ERROR, f"单据[{record['code']}]已审核")
            now = self._stamp()
            record.update(
                status=1,
                verifystate=2,
                businessState=2,
                taxBillingStatus=2,
                auditTime=now,
                pubts=now,
            )
            if not record.get("einvoiceHm"):
                record["einvoiceNo"] = ""
                record["einvoiceHm"] = f"{self.now():%y}{self._rng.randrange(10**18):018d}"
            return record

    def detail(self, raw_id: str | None) -> dict[str, Any]:
        if not raw_id:
            raise YonyouError(SERVER_LOGIC_ERROR, "参数id不能为空")
        record_id = _as_id(raw_id)
        with self._lock:
            record = self._invoices.get(record_id) if record_id is not None else None
        if record is None:
            raise YonyouError(DATA_NOT_FOUND, "数据不存在")
        return record

    def list_page(self, body: object) -> dict[str, Any]:
        query = body if isinstance(body, dict) else None
        if query is None:
            raise YonyouError(SERVER_LOGIC_ERROR, "请求体必须是JSON对象")
        index, size = _page_number(query, "pageIndex", 1), _page_number(query, "pageSize", 10)
        if size > MAX_PAGE_SIZE:
            raise YonyouError(SERVER_LOGIC_ERROR, f"pageSize不能大于{MAX_PAGE_SIZE}")
        begin, end = query.get("open_vouchdate_begin"), query.get("open_vouchdate_end")
        code = query.get("code")
        with self._lock:
            rows = [
                r
                for r in self._invoices.values()
                if (not code or r["code"] == code)
                and (not begin or r["vouchdate"] >= str(begin))
                and (not end or r["vouchdate"] <= str(end))
            ]
        rows.sort(key=lambda r: (r["vouchdate"], r["id"]))
        page = rows[(index - 1) * size : index * size]
        if query.get("isSum") is True:
            page = [{k: v for k, v in r.items() if k != LINES} for r in page]
        return {
            "pageIndex": index,
            "pageSize": size,
            "recordCount": len(rows),
            "pageCount": math.ceil(len(rows) / size),
            "recordList": page,
        }

    # -- admin ----------------------------------------------------------------------------------

    def find(self, record_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self._invoices.get(record_id)

    def seeded(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._invoices[i] for i in self._seeded_ids if i in self._invoices]

    def state(self) -> dict[str, Any]:
        with self._lock:
            now = self.now()
            tokens = list(self._tokens.values())
            return {
                "apps": [
                    {"app_key": a.app_key, "app_secret": a.app_secret, "tenant_id": a.tenant_id}
                    for a in self.apps.values()
                ],
                "tokens": {
                    "issued": len(tokens),
                    "active": sum(1 for t in tokens if now < t.expires_at),
                    "refused": dict(self._counters.token_errors),
                    "unauthorized_calls": self._counters.unauthorized,
                    "list": [t.summary() for t in tokens],
                },
                "invoices": {
                    "seeded": len(self._seeded_ids),
                    "saved": len(self._saved_ids),
                    "save_calls": dict(self._counters.saves),
                    "list": [
                        _brief(r, r["id"] in self._saved_ids) for r in self._invoices.values()
                    ],
                },
            }


def _brief(record: Mapping[str, Any], saved: bool) -> dict[str, Any]:
    return {
        "id": str(record["id"]),
        "code": record["code"],
        "origin": "saved" if saved else "seeded",
        "status": record["status"],
        "businessState": record["businessState"],
        "oriSum": str(record["oriSum"]),
    }


def _as_id(value: object) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and len(text) <= 19 else None


def _page_number(query: Mapping[str, Any], name: str, default: int) -> int:
    value = query.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise YonyouError(SERVER_LOGIC_ERROR, f"参数{name}必须是正整数")
    number = int(value)
    if number < 1:
        raise YonyouError(SERVER_LOGIC_ERROR, f"参数{name}必须是正整数")
    return number
