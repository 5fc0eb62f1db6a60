"""Faults every simulator can be told to produce, from a seeded RNG so a failing run replays.

`FaultMiddleware` applies them to every business request (never to /admin):

- `latency_ms` (+ up to `jitter_ms` more, uniformly): the answer comes late;
- `error_rate` / `error_status`: answered at once with that status, nothing done;
- `reset_rate`: the connection breaks before any answer (nothing done);
- `timeout_rate`: the request hangs for `timeout_ms`, then the connection breaks (nothing done);
- `lose_answer_rate`: the request IS handled, then the answer is lost (504, no body), as after
  a gateway timeout: the caller must find out what happened (never pay twice);
- `malformed_rate`: handled, answered 200 with a broken body.

`paths` limits the faults to requests whose path starts with one of the prefixes.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.common.tracing import current as current_tracer
from simulators.common.tracing import fault_injected

__all__ = ["INJECTED_ERROR_BODY", "Decision", "FaultMiddleware", "FaultSettings", "Faults"]

INJECTED_ERROR_BODY = b'{"error": "injected fault"}'
"""The body of an injected error answer (a simulator may dress it in its own envelope)."""

Rate = Annotated[float, Field(ge=0, le=1)]
Millis = Annotated[int, Field(ge=0, le=600_000)]


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: Millis = 0
    jitter_ms: Millis = 0
    error_rate: Rate = 0.0
    error_status: Annotated[int, Field(ge=400, le=599)] = 503
    reset_rate: Rate = 0.0
    timeout_rate: Rate = 0.0
    timeout_ms: Millis = 30_000
    lose_answer_rate: Rate = 0.0
    malformed_rate: Rate = 0.0
    paths: tuple[str, ...] = ()
    """Only requests whose path starts with one of these (empty: every business request)."""
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    latency_s: float = 0.0
    error_status: int | None = None
    reset: bool = False
    timeout_s: float | None = None
    lose_answer: bool = False
    malformed: bool = False

    @property
    def handled(self) -> bool:
        """Whether the simulator does the work at all."""
        return self.error_status is None and not self.reset and self.timeout_s is None


NO_FAULT = Decision()


class Faults:
    """Thread-safe; every decision draws the same count of numbers, so the sequence of faults
    depends only on the order of requests and the seed."""

    def __init__(self, seed: int = 0, *, name: str = "sim") -> None:
        self._seed, self._name = seed, name
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}
        self.configure(FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self.settings = settings
            seed = self._seed if settings.seed is None else settings.seed
            self._rng = random.Random(f"factorhub-sim:{self._name}:faults:{seed}")

    def reset(self) -> None:
        self.configure(FaultSettings())
        with self._lock:
            self.injected.clear()

    def decide(self, path: str = "") -> Decision:
        with self._lock:
            s = self.settings
            rolls = [self._rng.random() for _ in range(6)]
            if s.paths and not any(path.startswith(p) for p in s.paths):
                return NO_FAULT
            latency = (s.latency_ms + rolls[0] * s.jitter_ms) / 1000
            decision = Decision(latency_s=latency)
            if rolls[1] < s.error_rate:
                decision = Decision(latency_s=latency, error_status=s.error_status)
            elif rolls[2] < s.reset_rate:
                decision = Decision(latency_s=latency, reset=True)
            elif rolls[3] < s.timeout_rate:
                decision = Decision(latency_s=latency, timeout_s=s.timeout_ms / 1000)
            elif rolls[4] < s.lose_answer_rate:
                decision = Decision(latency_s=latency, lose_answer=True)
            elif rolls[5] < s.malformed_rate:
                decision = Decision(latency_s=latency, malformed=True)
            kind = _kind(decision)
            if kind:
                self.injected[kind] = self.injected.get(kind, 0) + 1
            return decision


def _kind(decision: Decision) -> str:
    if decision.error_status is not None:
        return "error"
    if decision.reset:
        return "reset"
    if decision.timeout_s is not None:
        return "timeout"
    if decision.lose_answer:
        return "lose_answer"
    if decision.malformed:
        return "malformed"
    return ""


def _trace(decision: Decision) -> None:
    """The request's span says which fault it met (a plain delay is `latency`)."""
    kind = _kind(decision) or ("latency" if decision.latency_s else "")
    if not kind:
        return
    details: dict[str, int] = {"latency_ms": round(decision.latency_s * 1000)}
    if decision.error_status is not None:
        details["status"] = decision.error_status
    if decision.timeout_s is not None:
        details["timeout_ms"] = round(decision.timeout_s * 1000)
    fault_injected(kind, **details)


class _Broken(Exception):
    """Raised after a response has started: the server drops the connection mid-answer."""


class FaultMiddleware:
    """Pure ASGI: wraps the simulator's app; /admin is never faulted."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path == "/admin" or path.startswith("/admin/"):
            await self.app(scope, receive, send)
            return
        decision = self.faults.decide(path)
        if current_tracer() is not None:
            _trace(decision)
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.error_status is not None:
            await _answer(send, decision.error_status, INJECTED_ERROR_BODY)
            return
        if decision.timeout_s is not None:
            await asyncio.sleep(decision.timeout_s)
            await _break(send)
        if decision.reset:
            await _break(send)
        if not (decision.lose_answer or decision.malformed):
            await self.app(scope, receive, send)
            return
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)  # the work is done
        if decision.lose_answer:
            await _answer(send, 504, b"")
            return
        body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
        start = next((m for m in captured if m["type"] == "http.response.start"), None)
        kept = [
            (k, v) for k, v in (start or {}).get("headers", []) if k.lower() != b"content-length"
        ]
        broken = body[: max(1, len(body) // 2)] + b"\x00<<truncated"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*kept, (b"content-length", str(len(broken)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": broken})


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _break(send: Send) -> None:
    """Start an answer that promises a body, then fail: the server closes the connection and
    the client sees it broken mid-answer (the closest an ASGI app gets to a reset)."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
    )
    raise _Broken("injected connection reset")
