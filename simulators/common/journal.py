"""A record of every business request a simulator received, so tests can see what the hub sent.

Pure ASGI middleware: it reads the body once and replays it, so even requests the app rejects
(bad JSON, bad XML) are recorded. Paths under /admin are not recorded.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators.common.clock import Clock, iso_seconds, now_cst

DEFAULT_LIMIT = 100_000


class RequestJournal:
    """Bounded, thread-safe, in arrival order; `total` keeps counting past the bound."""

    def __init__(self, limit: int = DEFAULT_LIMIT, clock: Clock = now_cst) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._clock = clock
        self.total = 0

    def record(self, method: str, path: str, query: str, content_type: str, body: bytes) -> None:
        with self._lock:
            self.total += 1
            self._entries.append(
                {
                    "seq": self.total,
                    "received_at": iso_seconds(self._clock()),
                    "method": method,
                    "path": path,
                    "query": query,
                    "content_type": content_type,
                    "body": _decode(content_type, body),
                }
            )

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.total = 0


def _decode(content_type: str, body: bytes) -> object:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            parsed: object = json.loads(text)
        except ValueError:
            return text
        return parsed
    return text


class JournalMiddleware:
    def __init__(self, app: ASGIApp, journal: RequestJournal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path == "/admin" or path.startswith("/admin/"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = dict(scope.get("headers") or [])
        self.journal.record(
            method=str(scope.get("method", "")),
            path=path,
            query=bytes(scope.get("query_string", b"")).decode("latin-1"),
            content_type=headers.get(b"content-type", b"").decode("latin-1"),
            body=b"".join(chunks),
        )

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
