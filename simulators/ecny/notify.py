"""The final-state notify (mirrors dcep.909), POSTed to the order's notifyUrl until acknowledged.

The operator only counts a notify as acknowledged when the answer is 2xx AND its JSON says
`{"code": "SUCCESS"}` (§2.3); anything else is retried with back-off. Every attempt carries a fresh
timestamp, nonce and SM2 signature over the same body, so a retried notify keeps its msgId.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from simulators.common.callbacks import CallbackSender, Delivery
from simulators.common.clock import Clock, now_cst
from simulators.ecny.crypto import OPERATOR_APP_ID, KeyPair, sign_headers

__all__ = ["Notifier"]


class Notifier(CallbackSender):
    """A CallbackSender whose attempts are signed and acknowledged by `{"code": "SUCCESS"}`."""

    def __init__(
        self,
        *,
        seed: int,
        keys: Callable[[], KeyPair],
        clock: Clock = now_cst,
    ) -> None:
        super().__init__(seed=seed, name="ecny")
        self._keys, self._now = keys, clock
        self.sent: list[tuple[dict[str, str], Delivery]] = []
        """(what the notify is about, its delivery), in the order they were sent."""

    def notify(self, url: str, body: bytes, about: dict[str, str]) -> Delivery:
        delivery = self.send(url, body, content_type="application/json; charset=utf-8")
        self.sent.append((about, delivery))
        return delivery

    def reset(self) -> None:
        super().reset()
        self.sent.clear()

    def summaries(self) -> list[dict[str, Any]]:
        return [{**about, **delivery.summary()} for about, delivery in self.sent]

    def headers_for(self, delivery: Delivery) -> dict[str, str]:
        """Every attempt signed afresh (its timestamp must be within the receiver's window)."""
        target = urlsplit(delivery.url)
        path = target.path or "/"
        if target.query:
            path = f"{path}?{target.query}"
        headers = sign_headers(
            self._keys(),
            app_id=OPERATOR_APP_ID,
            method="POST",
            path=path,
            body=delivery.body,
            timestamp=int(self._now().timestamp()),
        )
        return {"content-type": delivery.content_type, **headers}

    def acknowledges(self, answer: httpx.Response) -> bool:
        return answer.is_success and _says_success(answer)


def _says_success(answer: httpx.Response) -> bool:
    try:
        body = answer.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == "SUCCESS"
