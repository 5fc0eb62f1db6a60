"""K/3 Cloud authentication (formats-inbound.md §2.3): session logins and signed headers.

- `ValidateUser` (account, user, password), `LoginByAppSecret` (account, user, app id, app
  secret) and `LoginBySign` (SHA-256 of the ordinal-sorted concatenation of account, user, app
  id, app secret and timestamp; SHA-1 on old versions) open a session: `KDSVCSessionId`, carried
  back as cookie or header `kdservice-sessionid`. A session idle longer than the idle limit is lost.
- Signed headers (SDK 8.x): `X-Kd-Appkey`, `X-Kd-Appdata` = Base64("acct,user,lcid,org") and
  `X-Kd-Signature` = Base64(hex(HMAC-SHA256(AppID + appData, AppSecret))) on every call, no session.

Credentials are generated from the seed (or set by a scenario) and shown in the admin state.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from simulators.common.clock import Clock, iso_seconds

__all__ = [
    "App",
    "Authenticator",
    "Credentials",
    "LoginOutcome",
    "Session",
    "app_signature",
    "login_sign",
]

DEFAULT_IDLE_MINUTES = 20
LCIDS = {2052: "zh-CN", 3076: "zh-TW", 1033: "en-US"}
LOCALE_NAMES = {2052: "中文(简体)", 3076: "中文(繁體)", 1033: "English"}


class App(BaseModel):
    """A third-party app registered in 第三方系统登录授权: bound to one user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_id: str = Field(min_length=3, pattern=r"^[^_]+_.+$")
    app_secret: str = Field(min_length=1)
    username: str = Field(min_length=1)


class User(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class Credentials(BaseModel):
    """The data centre (acct id), its users and its registered apps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    acct_id: str = Field(min_length=1)
    users: tuple[User, ...] = Field(min_length=1)
    apps: tuple[App, ...] = ()

    @classmethod
    def generate(cls, seed: int) -> Credentials:
        rng = random.Random(f"factorhub-sim:kingdee:credentials:{seed}")
        alnum = string.ascii_letters + string.digits
        gateway_secret = "".join(rng.choice(alnum) for _ in range(24))
        app_id = (
            f"{rng.randint(200_000, 299_999)}_{base64.b64encode(gateway_secret.encode()).decode()}"
        )
        return cls(
            acct_id=f"{rng.getrandbits(56):014x}",
            users=(User(username="factorhub_api", password="".join(rng.choices(alnum, k=12))),),
            apps=(
                App(
                    app_id=app_id,
                    app_secret=f"{rng.getrandbits(128):032x}",
                    username="factorhub_api",
                ),
            ),
        )


def login_sign(parts: list[str], algorithm: str = "sha256") -> str:
    """`LoginBySign` signature: hex digest of the ordinal-sorted concatenation."""
    text = "".join(sorted(parts)).encode()
    return hashlib.new(algorithm, text).hexdigest()


def app_signature(app_id: str, app_data: str, app_secret: str) -> str:
    """`X-Kd-Signature`: Base64 of the hex HMAC-SHA256 of AppID + the decoded app data."""
    digest = hmac.new(app_secret.encode(), (app_id + app_data).encode(), hashlib.sha256)
    return base64.b64encode(digest.hexdigest().encode()).decode()


@dataclass
class Session:
    session_id: str
    username: str
    lcid: int
    style: str
    created: datetime
    last_seen: datetime


@dataclass(frozen=True)
class LoginOutcome:
    ok: bool
    message: str
    session: Session | None = None


@dataclass
class Authenticator:
    """Thread-safe sessions; session ids come from a seeded RNG (same seed, same ids)."""

    seed: int
    clock: Clock
    credentials: Credentials
    idle_minutes: int = DEFAULT_IDLE_MINUTES
    sign_algorithm: str = "sha256"
    sessions: dict[str, Session] = field(default_factory=dict)
    logins: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"factorhub-sim:kingdee:sessions:{self.seed}")

    def reset(self) -> None:
        with self._lock:
            self.sessions.clear()
            self.logins.clear()
            self._rng = random.Random(f"factorhub-sim:kingdee:sessions:{self.seed}")

    def expire_all(self) -> int:
        with self._lock:
            count = len(self.sessions)
            self.sessions.clear()
            return count

    # -- logins ---------------------------------------------------------------------------------

    def validate_user(self, acct: str, username: str, password: str, lcid: int) -> LoginOutcome:
        if acct != self.credentials.acct_id:
            return self._refuse("ValidateUser", username, "数据中心不存在，请检查账套ID是否正确！")
        user = self._user(username)
        if user is None or not hmac.compare_digest(user.password, password):
            return self._refuse("ValidateUser", username, "用户名或密码错误！")
        return self._open("ValidateUser", user.username, lcid)

    def login_by_app_secret(
        self, acct: str, username: str, app_id: str, app_secret: str, lcid: int
    ) -> LoginOutcome:
        style = "LoginByAppSecret"
        if acct != self.credentials.acct_id:
            return self._refuse(style, username, "数据中心不存在，请检查账套ID是否正确！")
        app = self._app(app_id, username)
        if app is None or not hmac.compare_digest(app.app_secret, app_secret):
            return self._refuse(style, username, "第三方系统登录授权验证失败：应用ID或密钥错误！")
        return self._open(style, app.username, lcid)

    def login_by_sign(
        self, acct: str, username: str, app_id: str, timestamp: str, sign: str, lcid: int
    ) -> LoginOutcome:
        style = "LoginBySign"
        if acct != self.credentials.acct_id:
            return self._refuse(style, username, "数据中心不存在，请检查账套ID是否正确！")
        app = self._app(app_id, username)
        if app is None:
            return self._refuse(style, username, "第三方系统登录授权验证失败：应用ID错误！")
        expected = login_sign(
            [acct, username, app_id, app.app_secret, timestamp], self.sign_algorithm
        )
        if not hmac.compare_digest(expected, sign.strip().lower()):
            return self._refuse(style, username, "第三方系统登录授权验证失败：签名错误！")
        return self._open(style, app.username, lcid)

    # -- per-call authentication ----------------------------------------------------------------

    def session(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle clock restarts), or None when lost."""
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            found = self.sessions.get(session_id)
            if found is None:
                return None
            if now - found.last_seen > timedelta(minutes=self.idle_minutes):
                del self.sessions[session_id]
                return None
            found.last_seen = now
            return found

    def signed_headers(self, headers: Mapping[str, str]) -> str | None:
        """The user named by valid `X-Kd-*` headers; None when absent; raises ValueError if bad."""
        app_id = headers.get("x-kd-appkey")
        if not app_id:
            return None
        app_data_b64 = headers.get("x-kd-appdata", "")
        signature = headers.get("x-kd-signature", "")
        try:
            app_data = base64.b64decode(app_data_b64, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError("X-Kd-Appdata 不是有效的Base64编码") from error
        parts = app_data.split(",")
        if len(parts) != 4:
            raise ValueError("X-Kd-Appdata 格式应为 账套ID,用户名,语言ID,组织编码")
        acct, username = parts[0], parts[1]
        if acct != self.credentials.acct_id:
            raise ValueError("数据中心不存在，请检查账套ID是否正确！")
        app = self._app(app_id, username)
        if app is None:
            raise ValueError("第三方系统登录授权验证失败：应用ID错误！")
        if not hmac.compare_digest(app_signature(app_id, app_data, app.app_secret), signature):
            raise ValueError("第三方系统登录授权验证失败：签名错误！")
        return app.username

    # -- helpers --------------------------------------------------------------------------------

    def _user(self, username: str) -> User | None:
        wanted = username.lower()
        return next((u for u in self.credentials.users if u.username.lower() == wanted), None)

    def _app(self, app_id: str, username: str) -> App | None:
        wanted = username.lower()
        return next(
            (
                a
                for a in self.credentials.apps
                if a.app_id == app_id and a.username.lower() == wanted
            ),
            None,
        )

    def _refuse(self, style: str, username: str, message: str) -> LoginOutcome:
        self._record(style, username, ok=False, message=message)
        return LoginOutcome(ok=False, message=message)

    def _open(self, style: str, username: str, lcid: int) -> LoginOutcome:
        now = self.clock()
        with self._lock:
            session_id = "".join(self._rng.choices(string.ascii_lowercase + string.digits, k=24))
            session = Session(session_id, username, lcid, style, now, now)
            self.sessions[session_id] = session
        self._record(style, username, ok=True, session_id=session_id)
        return LoginOutcome(ok=True, message="", session=session)

    def _record(self, style: str, username: str, *, ok: bool, **extra: str) -> None:
        with self._lock:
            self.logins.append(
                {
                    "at": iso_seconds(self.clock()),
                    "style": style,
                    "username": username,
                    "ok": ok,
                    **extra,
                }
            )
