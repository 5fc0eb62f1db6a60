"""Session fixtures for broker-backed tests; import them into a conftest.py to use them.

    from tests.support.fixtures import kafka_bootstrap, rabbit_url  # noqa: F401

`kafka_bootstrap` starts one tansu broker for the whole session. `rabbit_url` expects the
RabbitMQ server on 127.0.0.1:5672 and FAILS (never skips) when it is down: a skipped broker
test looks green in CI while proving nothing.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest
import pytest_asyncio

from hub.devbroker import local_kafka

__all__ = ["DEFAULT_RABBIT_URL", "kafka_bootstrap", "rabbit_url"]

DEFAULT_RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """ "127.0.0.1:PORT" of a tansu broker that lives for the test session."""
    with local_kafka() as bootstrap:
        yield bootstrap


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rabbit_url() -> AsyncIterator[str]:
    """The RabbitMQ URL (override with $FACTORHUB_TEST_RABBIT_URL), checked by logging in."""
    url = os.environ.get("FACTORHUB_TEST_RABBIT_URL", DEFAULT_RABBIT_URL)
    try:
        connection = await aio_pika.connect(url, timeout=5)
    except Exception as exc:
        pytest.fail(
            f"RabbitMQ is not reachable at {url} ({exc!r}). Start it (e.g. `service "
            "rabbitmq-server start`) or point $FACTORHUB_TEST_RABBIT_URL at a running server.",
            pytrace=False,
        )
    await connection.close()
    yield url
