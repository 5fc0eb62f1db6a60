"""The operator's books: orders, wallets and final states. No I/O; one lock; never awaits.

- An order is known by `outTradeNo` and by `msgId`. A repeat of either with the same payment
  (payer, payee, amount) answers the first result (DUPLICATE, same ecnyTxId) and pays nothing;
  the same id for a different payment is a conflict, and the first order is left alone.
- Wallet checks (unknown R021, frozen or short of funds R999, expired R007) reject at once, PR01.
- An accepted order answers PR02 and moves the money at once when its outcome's truth is a
  success; it ends later (`settle`) with the outcome's status and a final-state notify.
- A presumed status (PR03 / PR04) is corrected by `reconcile`, which notifies again.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from simulators.common.clock import iso_seconds
from simulators.ecny.models import OrderIn
from simulators.ecny.scenario import OutcomeRule, WalletSpec
from simulators.ecny.wallets import Wallet, default_wallets

__all__ = ["Conflict", "Operator", "Order", "Submission"]

SUCCESS_CODE = "DCEPI0000"
_DEFAULT_REJECTS = {
    "PR01": ("R999", "交易失败"),
    "PR03": ("", "推定成功: 参与机构未及时应答"),
    "PR04": ("", "推定失败: 参与机构未及时应答"),
}


class Conflict(Exception):
    """An id already used for a different payment (or msgId for another outTradeNo)."""

    def __init__(self, info: str, order: Order) -> None:
        super().__init__(info)
        self.info, self.order = info, order


@dataclass
class Order:
    msg_id: str
    out_trade_no: str
    ecny_tx_id: str
    payer_wallet_id: str
    payee_wallet_id: str
    payee_name: str
    amount: Decimal
    notify_url: str
    biz_tp: str
    purpose: str
    extras: dict[str, Any]
    accepted_at: datetime
    outcome: OutcomeRule
    prc_sts: str = "PR02"
    rjct_cd: str = ""
    rjct_inf: str = ""
    finish_time: datetime | None = None
    submissions: int = 1
    executions: int = 0
    history: list[str] = field(default_factory=list)
    notify_ids: list[str] = field(default_factory=list)

    @property
    def prc_cd(self) -> str:
        return SUCCESS_CODE if self.prc_sts == "PR00" else ""

    def same_payment(self, order: OrderIn) -> bool:
        return (
            self.payer_wallet_id == order.payer_wallet_id
            and self.payee_wallet_id == order.payee_wallet_id
            and self.amount == order.amount_value
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "out_trade_no": self.out_trade_no,
            "msg_id": self.msg_id,
            "ecny_tx_id": self.ecny_tx_id,
            "prc_sts": self.prc_sts,
            "rjct_cd": self.rjct_cd,
            "rjct_inf": self.rjct_inf,
            "history": list(self.history),
            "amount": f"{self.amount:.2f}",
            "payer_wallet_id": self.payer_wallet_id,
            "payee_wallet_id": self.payee_wallet_id,
            "payee_name": self.payee_name,
            "purpose": self.purpose,
            "biz_tp": self.biz_tp,
            "notify_url": self.notify_url,
            **self.extras,
            "accepted_at": iso_seconds(self.accepted_at),
            "finish_time": iso_seconds(self.finish_time) if self.finish_time else None,
            "submissions": self.submissions,
            "executions": self.executions,
            "notify_msg_ids": list(self.notify_ids),
        }


@dataclass(frozen=True)
class Submission:
    """What a payment order led to: `code` is ACCEPTED, REJECTED or DUPLICATE."""

    code: str
    order: Order
    new: bool


class Operator:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            rng = random.Random(f"factorhub-sim:ecny:operator:{self._seed}")
            self._institution = f"{rng.randint(0, 99_999_999):08d}"
            self._sequence = 0
            self.wallets = {w.wallet_id: w for w in default_wallets(self._seed)}
            self.orders: dict[str, Order] = {}
            self._by_msg_id: dict[str, Order] = {}
            self.default_outcome = OutcomeRule()
            self.outcomes: tuple[OutcomeRule, ...] = ()
            self.open_payees = False

    # --- configuration ------------------------------------------------------------------------

    def configure_wallets(self, specs: Sequence[WalletSpec]) -> None:
        with self._lock:
            for spec in specs:
                wallet = self.wallets.get(spec.wallet_id)
                if wallet is None:
                    wallet = Wallet(spec.wallet_id, spec.wallet_id, "WT09", None, role="scenario")
                    self.wallets[spec.wallet_id] = wallet
                if spec.name is not None:
                    wallet.name = spec.name
                if spec.type is not None:
                    wallet.type = spec.type
                if spec.balance is not None:
                    wallet.balance = spec.balance_value
                if spec.frozen is not None:
                    wallet.frozen = spec.frozen

    # --- orders -------------------------------------------------------------------------------

    def submit(self, order: OrderIn, now: datetime) -> Submission:
        """Raises Conflict; otherwise the new or the first order with what the answer says."""
        with self._lock:
            first = self.orders.get(order.out_trade_no) or self._by_msg_id.get(order.msg_id)
            if first is not None:
                return self._repeat(first, order)
            outcome = self._outcome(order)
            made = Order(
                msg_id=order.msg_id,
                out_trade_no=order.out_trade_no,
                ecny_tx_id=self._tx_id(now),
                payer_wallet_id=order.payer_wallet_id,
                payee_wallet_id=order.payee_wallet_id,
                payee_name=order.payee_name,
                amount=order.amount_value,
                notify_url=order.notify_url,
                biz_tp=order.biz_tp,
                purpose=order.purpose,
                extras=order.extras(),
                accepted_at=now,
                outcome=outcome,
            )
            self.orders[made.out_trade_no] = made
            self._by_msg_id[made.msg_id] = made
            refusal = self._refusal(order, now)
            if refusal is not None:
                made.rjct_cd, made.rjct_inf = refusal
                self._end(made, "PR01", now)
                return Submission("REJECTED", made, new=True)
            made.history.append("PR02")
            if outcome.pays:
                self._move(made)
            return Submission("ACCEPTED", made, new=True)

    def settle(self, out_trade_no: str, now: datetime) -> Order | None:
        """End a PR02 order with its outcome; None when it had already ended."""
        with self._lock:
            order = self.orders[out_trade_no]
            if order.prc_sts != "PR02":
                return None
            status = order.outcome.prc_sts
            code, info = _DEFAULT_REJECTS.get(status, ("", ""))
            order.rjct_cd = order.outcome.rjct_cd if order.outcome.rjct_cd is not None else code
            order.rjct_inf = order.outcome.rjct_inf if order.outcome.rjct_inf is not None else info
            self._end(order, status, now)
            return order

    def reconcile(self, now: datetime) -> list[Order]:
        """对账: every presumed status (PR03/PR04) becomes the truth; the orders that changed."""
        changed: list[Order] = []
        with self._lock:
            for order in self.orders.values():
                if order.prc_sts not in ("PR03", "PR04"):
                    continue
                truth = "PR00" if order.outcome.pays else "PR01"
                failed = ("R999", "对账确认失败")
                order.rjct_cd, order.rjct_inf = ("", "") if truth == "PR00" else failed
                self._end(order, truth, now)
                changed.append(order)
        return changed

    def lookup(self, out_trade_no: str) -> Order | None:
        with self._lock:
            return self.orders.get(out_trade_no)

    def next_notify_id(self, order: Order, now: datetime) -> str:
        """A new 32-digit msgId for a notify (a retry of the same notify keeps its id)."""
        with self._lock:
            self._sequence += 1
            msg_id = f"{now:%Y%m%d}{self._institution}{self._sequence:016d}"
            order.notify_ids.append(msg_id)
            return msg_id

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "orders": [o.to_json() for o in self.orders.values()],
                "wallets": [w.to_json() for w in self.wallets.values()],
                "executed_total": sum(o.executions for o in self.orders.values()),
            }

    # --- private ------------------------------------------------------------------------------

    def _repeat(self, first: Order, order: OrderIn) -> Submission:
        # A resend under a new msgId is still the same payment when the figures agree.
        if first.out_trade_no != order.out_trade_no:
            raise Conflict(f"msgId {order.msg_id} 已用于 outTradeNo {first.out_trade_no}", first)
        if not first.same_payment(order):
            raise Conflict(f"outTradeNo {order.out_trade_no} 已存在, 交易要素不一致", first)
        first.submissions += 1
        return Submission("DUPLICATE", first, new=False)

    def _outcome(self, order: OrderIn) -> OutcomeRule:
        for rule in self.outcomes:
            if rule.matches(order.out_trade_no, order.amount):
                return rule
        return self.default_outcome

    def _refusal(self, order: OrderIn, now: datetime) -> tuple[str, str] | None:
        if order.expires_at <= now:
            return "R007", "参数有误: 订单已过期 (expireTime)"
        payer = self.wallets.get(order.payer_wallet_id)
        if payer is None:
            return "R021", "付款钱包不存在"
        if payer.type != order.payer_wallet_type:
            return "R007", f"参数有误: 付款钱包类型为 {payer.type}"
        if payer.frozen:
            return "R999", "付款钱包已冻结"
        payee = self.wallets.get(order.payee_wallet_id)
        if payee is None and self.open_payees:
            payee = Wallet(
                order.payee_wallet_id,
                order.payee_name,
                order.payee_wallet_type,
                None,
                role="open_payee",
            )
            self.wallets[payee.wallet_id] = payee
        if payee is None:
            return "R021", "收款钱包不存在"
        if payee.frozen:
            return "R999", "收款钱包已冻结"
        if payee.name != order.payee_name:
            return "R999", "收款钱包户名不符"
        if payer.balance is not None and payer.balance < order.amount_value:
            return "R999", "付款钱包余额不足"
        return None

    def _move(self, order: Order) -> None:
        payer, payee = self.wallets[order.payer_wallet_id], self.wallets[order.payee_wallet_id]
        if payer.balance is not None:
            payer.balance -= order.amount
        if payee.balance is not None:
            payee.balance += order.amount
        order.executions += 1

    def _end(self, order: Order, status: str, now: datetime) -> None:
        order.prc_sts, order.finish_time = status, now
        order.history.append(status)

    def _tx_id(self, now: datetime) -> str:
        self._sequence += 1
        return f"DC{now:%Y%m%d}{self._institution}{self._sequence:012d}"
