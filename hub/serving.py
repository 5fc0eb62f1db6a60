"""Run the ingress (uvicorn) and the hub in one event loop, over HTTP or TLS.

With TLS, uvicorn gets the context `hub.security.tls.ingress_context` built (TLS 1.3 only,
mutual TLS when a client CA is given) through its `ssl_context_factory`, so none of uvicorn's
own `ssl_*` settings (which cannot cap the protocol version) takes part.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager

import uvicorn

from hub.app import Hub
from hub.config import Settings
from hub.ingress import create_app

__all__ = ["running_ingress", "serve_forever"]


class _Server(uvicorn.Server):
    """Leaves SIGTERM/SIGINT to `serve_forever`: uvicorn's own handling re-raises the signal
    once it has stopped, which would end the process before the hub shuts down cleanly."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_forever(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: bool,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then stop taking requests and close the hub (workers,
    relay, mapping processes, database) before the process ends. `tls`: serve HTTPS with this
    context (made by `hub.security.tls.ingress_context`)."""
    async with Hub(settings, consume=workers) as hub:
        server = _Server(_config(hub, host=host, port=port, tls=tls))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        try:
            await server.serve()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


@asynccontextmanager
async def running_ingress(
    hub: Hub, *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Serve the ingress in this event loop (port 0 picks a free one); yields its base URL
    (https:// with `tls`, a context made by `ingress_context`)."""
    server = uvicorn.Server(_config(hub, host=host, port=port, tls=tls))
    task = asyncio.create_task(server.serve(), name="ingress")
    while not server.started:
        if task.done():
            await task  # raises the startup error
            raise RuntimeError("ingress stopped during start-up")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"{'https' if tls else 'http'}://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        await task


def _config(hub: Hub, *, host: str, port: int, tls: ssl.SSLContext | None) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(hub),
        host=host,
        port=port,
        log_config=None,  # its lines go through the hub's handler (observability.logs)
        log_level=None,  # at the hub's level
        access_log=False,
        lifespan="off",
        ssl_context_factory=None if tls is None else lambda _uvicorn, _default: tls,
    )
