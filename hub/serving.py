"""Run the ingress (uvicorn) and the hub in one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from hub.app import Hub
from hub.config import Settings
from hub.ingress import create_app

__all__ = ["running_ingress", "serve_forever"]


async def serve_forever(settings: Settings, *, host: str, port: int, workers: bool) -> None:
    async with Hub(settings, consume=workers) as hub:
        config = uvicorn.Config(
            create_app(hub),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        await uvicorn.Server(config).serve()


@asynccontextmanager
async def running_ingress(
    hub: Hub, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve the ingress in this event loop (port 0 picks a free one); yields its base URL."""
    config = uvicorn.Config(
        create_app(hub),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="ingress")
    while not server.started:
        if task.done():
            await task  # raises the startup error
            raise RuntimeError("ingress stopped during start-up")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        await task
