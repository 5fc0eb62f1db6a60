"""Fixtures for the simulator tests: in-memory ASGI clients, real loopback servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from simulators import bank, registry


def asgi_client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://sim.test")


@pytest.fixture
async def bank_client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(bank.create_app(seed=1)) as client:
        yield client


@pytest.fixture
async def registry_client() -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(registry.create_app(seed=1)) as client:
        yield client
