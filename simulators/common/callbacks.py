"""Asynchronous callbacks (payment status, e-CNY notify), retried until acknowledged, with the
faults real partners show: late, duplicated and out-of-order deliveries.

    sender = CallbackSender(seed=7, name="ecny")
    sender.send(url, body, content_type="application/json")   # returns at once
    await sender.aclose()

A callback counts as acknowledged when the receiver answers 2xx; otherwise it is sent again after
`retry_ms` (doubling, up to `max_retry_ms`) until `max_attempts`. Every attempt is recorded.
While tracing is on (`simulators.common.tracing`) each attempt is a CLIENT span, child of the
request that caused the callback, and carries its `traceparent` to the receiver.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from opentelemetry.context import Context
from pydantic import BaseModel, ConfigDict, Field

from simulators.common import tracing

__all__ = ["CallbackFaults", "CallbackSender"]


class CallbackFaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    delay_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    """Every callback waits this long before its first attempt."""
    reorder_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    """Plus a random extra wait up to this: callbacks overtake one another."""
    duplicate_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    """A delivered callback is delivered once more."""
    retry_ms: Annotated[int, Field(ge=1, le=600_000)] = 200
    max_retry_ms: Annotated[int, Field(ge=1, le=600_000)] = 5_000
    max_attempts: Annotated[int, Field(ge=1, le=1000)] = 20


@dataclass(slots=True)
class Delivery:
    url: str
    body: bytes
    content_type: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: bool = False
    trace_parent: Context | None = None
    """The context current when it was sent (tracing on): its attempts' spans hang from it."""

    def summary(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "acknowledged": self.acknowledged,
            "attempts": list(self.attempts),
        }


class CallbackSender:
    def __init__(self, *, seed: int = 0, name: str = "sim", timeout_s: float = 5.0) -> None:
        self._seed, self._name = seed, name
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client = httpx.AsyncClient(timeout=timeout_s)
        self.deliveries: list[Delivery] = []
        self.configure(CallbackFaults())

    def configure(self, faults: CallbackFaults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(f"factorhub-sim:{self._name}:callbacks:{self._seed}")

    def reset(self) -> None:
        self.configure(CallbackFaults())
        with self._lock:
            self.deliveries.clear()

    def send(self, url: str, body: bytes, *, content_type: str = "application/json") -> Delivery:
        delivery = Delivery(url, body, content_type, trace_parent=tracing.parent_context())
        with self._lock:
            self.deliveries.append(delivery)
            faults = self.faults
            wait = (faults.delay_ms + self._rng.random() * faults.reorder_ms) / 1000
            duplicate = self._rng.random() < faults.duplicate_rate
        task = asyncio.get_running_loop().create_task(
            self._deliver(delivery, faults, wait, duplicate)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def drain(self) -> None:
        """Wait until every callback sent so far is acknowledged or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._client.aclose()

    async def _deliver(
        self, delivery: Delivery, faults: CallbackFaults, wait: float, duplicate: bool
    ) -> None:
        await asyncio.sleep(wait)
        backoff = faults.retry_ms / 1000
        for _ in range(faults.max_attempts):
            if await self._attempt(delivery):
                delivery.acknowledged = True
                if duplicate:
                    await self._attempt(delivery)
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, faults.max_retry_ms / 1000)

    def headers_for(self, delivery: Delivery) -> dict[str, str]:
        """The headers of one attempt (a partner that signs its callbacks adds its signature)."""
        return {"content-type": delivery.content_type}

    def acknowledges(self, answer: httpx.Response) -> bool:
        """Whether the receiver's answer counts as received (some partners want a set body)."""
        return answer.is_success

    async def _attempt(self, delivery: Delivery) -> bool:
        with tracing.callback_span(
            delivery.url,
            simulator=self._name,
            attempt=len(delivery.attempts) + 1,
            parent=delivery.trace_parent,
        ) as traced:
            try:
                answer = await self._client.post(
                    delivery.url,
                    content=delivery.body,
                    headers={**self.headers_for(delivery), **traced.headers},
                )
            except httpx.HTTPError as error:
                traced.failed(error)
                delivery.attempts.append({"error": type(error).__name__})
                return False
            acknowledged = self.acknowledges(answer)
            traced.answered(answer.status_code, acknowledged=acknowledged)
        attempt: dict[str, Any] = {"status": answer.status_code, "acknowledged": acknowledged}
        if not acknowledged:
            attempt["answer"] = answer.text[:64]
        delivery.attempts.append(attempt)
        return acknowledged
