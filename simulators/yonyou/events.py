"""Event push (事件订阅, formats-inbound §1.6): the event centre POSTs an `EncryptionHolder`
to the subscriber and retries until the answer is the plain string `success`.

    {"signature": "...", "timestamp": 1764292200000, "nonce": "...", "encrypt": "<AES-CBC>"}

decrypts to the event content `{"type", "eventId", "timestamp", "tenantId", "content"}` where
`content` is a JSON text `{"model": <the invoice as the detail API shows it>}`. The event codes
are this simulator's own [L]: the reference names none for sales invoices.
"""

from __future__ import annotations

import json
import random
import string
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from simulators.common.callbacks import CallbackFaults, CallbackSender, Delivery
from simulators.common.clock import Clock, now_cst
from simulators.erp.jsontext import dumps
from simulators.yonyou.crypto import encrypt_event
from simulators.yonyou.engine import App

__all__ = [
    "ACKNOWLEDGEMENT",
    "EVENT_APPROVED",
    "EVENT_SAVED",
    "EventPublisher",
    "EventSender",
    "Subscriber",
]

EVENT_SAVED = "SD_VOUCHERSALEINVOICE_INSERT"  # 销售发票新增
EVENT_APPROVED = "SD_VOUCHERSALEINVOICE_AUDIT"  # 销售发票审核
ACKNOWLEDGEMENT = "success"
_ALPHANUMERIC = string.ascii_letters + string.digits


class EventSender(CallbackSender):
    """A 2xx is not enough: anything but the literal body `success` is a failed push."""

    def acknowledges(self, answer: httpx.Response) -> bool:
        return answer.is_success and answer.text.strip() == ACKNOWLEDGEMENT


@dataclass(frozen=True, slots=True)
class Subscriber:
    url: str
    app: App
    """Whose appKey/appSecret encrypt and sign the pushes."""


@dataclass(frozen=True, slots=True)
class PushedEvent:
    event_id: str
    type: str
    invoice_id: int
    code: str
    delivery: Delivery

    def summary(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "type": self.type,
            "invoice_id": str(self.invoice_id),
            "code": self.code,
            **self.delivery.summary(),
        }


class EventPublisher:
    def __init__(self, seed: int = 0, *, clock: Clock = now_cst) -> None:
        self._seed, self._clock = seed, clock
        self._lock = threading.Lock()
        self.sender = EventSender(seed=seed, name="yonyou")
        self.reset()

    def reset(self) -> None:
        self.sender.reset()
        with self._lock:
            self._rng = random.Random(f"factorhub-sim:yonyou:events:{self._seed}")
            self.subscriber: Subscriber | None = None
            self.events: list[PushedEvent] = []

    def configure(self, faults: CallbackFaults) -> None:
        self.sender.configure(faults)

    def publish(self, event_type: str, record: dict[str, Any]) -> PushedEvent | None:
        """Push one event for `record`; None when nobody subscribed (nothing is sent)."""
        with self._lock:
            subscriber = self.subscriber
            if subscriber is None:
                return None
            app = subscriber.app
            timestamp = int(self._clock().timestamp() * 1000)
            event_id = f"{self._rng.getrandbits(64):016x}"
            nonce = "".join(self._rng.choice(_ALPHANUMERIC) for _ in range(8))
            random16 = "".join(self._rng.choice(_ALPHANUMERIC) for _ in range(16))
        content = {
            "type": event_type,
            "eventId": event_id,
            "timestamp": timestamp,
            "tenantId": app.tenant_id,
            "content": dumps({"model": record}),
        }
        holder = encrypt_event(
            json.dumps(content, ensure_ascii=False),
            app_key=app.app_key,
            app_secret=app.app_secret,
            random16=random16,
            timestamp=timestamp,
            nonce=nonce,
        )
        delivery = self.sender.send(subscriber.url, json.dumps(holder).encode())
        pushed = PushedEvent(event_id, event_type, record["id"], record["code"], delivery)
        with self._lock:
            self.events.append(pushed)
        return pushed

    def state(self) -> dict[str, Any]:
        with self._lock:
            events = list(self.events)
            subscriber = self.subscriber
        return {
            "subscriber": None
            if subscriber is None
            else {"url": subscriber.url, "app_key": subscriber.app.app_key},
            "callbacks": self.sender.faults.model_dump(),
            "pushed": len(events),
            "delivered": sum(1 for e in events if e.delivery.acknowledged),
            "list": [e.summary() for e in events],
        }
