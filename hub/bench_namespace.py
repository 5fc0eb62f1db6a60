"""A private corner of the broker for one benchmark run, removed afterwards.

Benchmarks publish thousands of messages; on a broker shared with a running hub (or with the
test suite) they must neither read nor leave anything in the real queues. Each run gets its own
name prefix (`Settings.broker_namespace`); on RabbitMQ its queues and exchanges are deleted at
the end (Kafka topics on the throw-away tansu broker vanish with it).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import aio_pika

from hub.config import Settings
from hub.transport.rabbitmq import RabbitTransport
from routes.flow import ROUTES

__all__ = ["bench_namespace"]


@contextlib.asynccontextmanager
async def bench_namespace(settings: Settings) -> AsyncIterator[Settings]:
    """`settings` with a fresh broker namespace; RabbitMQ names under it are dropped on exit."""
    namespace = f"bench-{uuid.uuid4().hex[:8]}."
    try:
        yield replace(settings, broker_namespace=namespace)
    finally:
        if settings.transport == "rabbitmq" and settings.broker_url:
            await _drop_rabbit(settings.broker_url, namespace)


async def _drop_rabbit(url: str, namespace: str) -> None:
    names = RabbitTransport(url, namespace=namespace)  # only for its naming; never started
    queues = [names.queue_name(r.topic, r.group) for r in ROUTES]
    queues.append(names.dead_letter_queue_name)
    connection = await aio_pika.connect(url)
    try:
        for name in queues:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(name)
        for name in names.exchange_names:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.exchange_delete(name)
    finally:
        await connection.close()
