"""What the e-CNY simulator holds besides its books: keys, signature checks, settings, notifies.

Signature checks (on unless a scenario says `verify_signatures: false`) refuse with R004 请求非法:
a missing header, an unknown AppId, a SignSN that is not the caller's certificate, a timestamp
outside ±`timestamp_window_s`, a nonce seen before, or a signature that does not verify.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simulators.common.admin import ScenarioError
from simulators.common.callbacks import CallbackFaults
from simulators.common.clock import Clock, iso_seconds
from simulators.ecny.crypto import APP_ID, BadSignature, KeyPair, PublicKey, signing_string
from simulators.ecny.engine import Operator, Order
from simulators.ecny.notify import Notifier
from simulators.ecny.scenario import CallerSpec, EcnyScenario

__all__ = ["Caller", "Channel", "Refused"]

DEFAULT_WINDOW_S = 300
SIGNED_HEADERS = ("X-Ecny-AppId", "X-Ecny-Timestamp", "X-Ecny-Nonce", "X-Ecny-SignSN")


class Refused(Exception):
    """A request refused before the books see it: HTTP status, reject code, text."""

    def __init__(self, status: int, code: str, info: str) -> None:
        super().__init__(info)
        self.status, self.code, self.info = status, code, info


@dataclass(frozen=True)
class Caller:
    app_id: str
    public: PublicKey
    keys: KeyPair | None  # only when derived from the seed: QA may sign with it

    def to_json(self) -> dict[str, Any]:
        out = {
            "app_id": self.app_id,
            "sign_sn": self.public.sign_sn,
            "public_key_pem": self.public.pem,
        }
        if self.keys is not None:
            out["private_key_pem"] = self.keys.private_pem
        return out


class Channel:
    def __init__(self, seed: int, clock: Clock) -> None:
        self.seed, self.clock = seed, clock
        self.operator = Operator(seed)
        self.notifier = Notifier(seed=seed, keys=lambda: self.keys, clock=clock)
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._defaults()

    def _defaults(self) -> None:
        self.keys = KeyPair.derive(f"{self.seed}:operator")
        self.callers = {APP_ID: self._caller(CallerSpec(app_id=APP_ID))}
        self.verify = True
        self.window_s = DEFAULT_WINDOW_S
        self.settle_delay_s = 0.0
        self._nonces: dict[tuple[str, str], float] = {}
        self.refused: Counter[str] = Counter()
        self._last_notify: dict[str, tuple[str, bytes, dict[str, str]]] = {}

    def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.operator.reset()
        self.notifier.reset()
        with self._lock:
            self._defaults()

    # --- scenario -----------------------------------------------------------------------------

    def apply(self, section: Mapping[str, Any]) -> None:
        """Validate everything first, then apply: a bad scenario changes nothing."""
        scenario = EcnyScenario.model_validate(section)
        callers = None
        if scenario.callers is not None:
            callers = {}
            for index, spec in enumerate(scenario.callers):
                try:
                    callers[spec.app_id] = self._caller(spec)
                except ValueError as error:
                    raise ScenarioError(f"callers.{index}.public_key_pem: {error}") from error
        keys = None
        if scenario.operator_private_key_pem is not None:
            try:
                keys = KeyPair.from_pem(scenario.operator_private_key_pem)
            except ValueError as error:
                raise ScenarioError(f"operator_private_key_pem: {error}") from error
        with self._lock:
            self.callers = callers if callers is not None else self.callers
            self.keys = keys or self.keys
            if scenario.verify_signatures is not None:
                self.verify = scenario.verify_signatures
            if scenario.timestamp_window_s is not None:
                self.window_s = scenario.timestamp_window_s
            if scenario.settle_delay_ms is not None:
                self.settle_delay_s = scenario.settle_delay_ms / 1000
        operator = self.operator
        if scenario.wallets is not None:
            operator.configure_wallets(scenario.wallets)
        if scenario.open_payees is not None:
            operator.open_payees = scenario.open_payees
        if scenario.default_outcome is not None:
            operator.default_outcome = scenario.default_outcome
        if scenario.outcomes is not None:
            operator.outcomes = tuple(scenario.outcomes)
        if scenario.notify is not None:
            self.notifier.configure(scenario.notify)

    def configure_notify(self, faults: CallbackFaults) -> None:
        self.notifier.configure(faults)

    def _caller(self, spec: CallerSpec) -> Caller:
        if spec.public_key_pem is not None:
            return Caller(spec.app_id, PublicKey.from_pem(spec.public_key_pem, spec.sign_sn), None)
        keys = KeyPair.derive(f"{self.seed}:caller:{spec.app_id}")
        public = PublicKey(keys.public.key, spec.sign_sn or keys.public.sign_sn)
        return Caller(spec.app_id, public, keys)

    # --- signatures ---------------------------------------------------------------------------

    def check(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raise Refused (401, R004) unless the request is signed by a known caller."""
        if not self.verify:
            return
        missing = [h for h in (*SIGNED_HEADERS, "X-Ecny-Signature") if not headers.get(h)]
        if missing:
            raise self._refuse(f"缺少签名要素: {', '.join(missing)}")
        app_id, stamp, nonce, sign_sn = (headers[h] for h in SIGNED_HEADERS)
        caller = self.callers.get(app_id)
        if caller is None:
            raise self._refuse(f"AppId {app_id} 未登记")
        if sign_sn != caller.public.sign_sn:
            raise self._refuse(f"证书序列号 {sign_sn} 与 AppId 不符")
        now = self.clock().timestamp()
        if not stamp.isdigit() or abs(now - int(stamp)) > self.window_s:
            raise self._refuse(f"时间戳 {stamp} 超出允许范围 (±{self.window_s}s)")
        with self._lock:
            if (app_id, nonce) in self._nonces:
                raise self._refuse(f"Nonce {nonce} 重复")
        try:
            caller.public.verify(
                headers["X-Ecny-Signature"], signing_string(method, path, stamp, nonce, body)
            )
        except BadSignature as error:
            raise self._refuse(f"验签失败: {error}") from error
        with self._lock:
            self._nonces = {k: t for k, t in self._nonces.items() if now - t <= 2 * self.window_s}
            self._nonces[(app_id, nonce)] = now

    def _refuse(self, info: str) -> Refused:
        return Refused(401, "R004", f"请求非法: {info}")

    # --- settlement and notifies --------------------------------------------------------------

    def schedule_settlement(self, out_trade_no: str) -> None:
        task = asyncio.get_running_loop().create_task(self._settle_later(out_trade_no))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_later(self, out_trade_no: str) -> None:
        await asyncio.sleep(self.settle_delay_s)
        order = self.operator.settle(out_trade_no, self.clock())
        if order is not None:
            self.notify(order)

    def reconcile(self) -> list[Order]:
        changed = self.operator.reconcile(self.clock())
        for order in changed:
            self.notify(order)
        return changed

    def notify(self, order: Order) -> None:
        now = self.clock()
        body = notify_body(order, self.operator.next_notify_id(order, now))
        about = {
            "out_trade_no": order.out_trade_no,
            "msg_id": body["msgId"],
            "prc_sts": order.prc_sts,
        }
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self._last_notify[order.out_trade_no] = (order.notify_url, raw, about)
        self.notifier.notify(order.notify_url, raw, about)

    def resend_last_notify(self, out_trade_no: str) -> bool:
        """The last notify of an order once more, same msgId (a late duplicate)."""
        last = self._last_notify.get(out_trade_no)
        if last is None:
            return False
        url, raw, about = last
        self.notifier.notify(url, raw, {**about, "resent": "true"})
        return True

    async def drain(self) -> None:
        """Wait until every settlement has run and every notify is acknowledged or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.notifier.drain()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.notifier.aclose()

    def state(self) -> dict[str, Any]:
        return {
            **self.operator.state(),
            "notifies": self.notifier.summaries(),
            "refused_requests": dict(self.refused),
            "verify_signatures": self.verify,
        }


def notify_body(order: Order, msg_id: str) -> dict[str, Any]:
    finished: datetime | None = order.finish_time
    return {
        "msgId": msg_id,
        "orgnlMsgId": order.msg_id,
        "outTradeNo": order.out_trade_no,
        "ecnyTxId": order.ecny_tx_id,
        "prcSts": order.prc_sts,
        "prcCd": order.prc_cd,
        "rjctCd": order.rjct_cd,
        "rjctInf": order.rjct_inf,
        "amount": f"{order.amount:.2f}",
        "ccy": "CNY",
        "finishTime": iso_seconds(finished) if finished else None,
    }
