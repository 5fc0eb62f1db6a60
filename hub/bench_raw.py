"""The bare-client pass-through rate, without the hub: the ceiling the hub is measured against.

`raw_passthrough` loads `count` invoice-shaped JSON messages into a fresh input topic/queue,
then times a consumer that parses each one, serialises it again, publishes it to an output
topic/queue and commits/acks, exactly as /work/shared/reference/baselines.md describes:

* Kafka (aiokafka): `getmany`, publish the whole batch, await all deliveries, commit per batch.
* RabbitMQ (aio-pika): publisher confirms, manual ack, prefetch 200, durable queues and
  persistent messages (as the hub's RabbitTransport uses).

Group joins, declarations and preloading happen before the clock starts; the names are
uuid-suffixed and removed afterwards, so runs never disturb each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any, Literal

import aio_pika
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

__all__ = ["invoice_payload", "raw_passthrough"]

Broker = Literal["kafka", "rabbitmq"]

_PREFETCH = 200
_KAFKA_PARTITIONS = 4
_KAFKA_BATCH = 500


def invoice_payload(n: int, size: int = 1024) -> bytes:
    """An invoice-shaped JSON document padded to about `size` bytes."""
    doc: dict[str, Any] = {
        "invoice_no": f"INV-{n:010d}",
        "seller": {"uscc": "91310000MA1FL8XQ2K", "name": "上海某某供应链有限公司"},
        "buyer": {"uscc": "91110000100012345X", "name": "北京某某集团股份有限公司"},
        "issued_at": "2026-11-28T09:30:00+08:00",
        "currency": "CNY",
        "amount": "125000.00",
        "tax": "16250.00",
        "lines": [{"item": "钢材", "qty": "12.500", "unit_price": "10000.00"}],
        "pad": "",
    }
    base = len(json.dumps(doc, ensure_ascii=False).encode())
    doc["pad"] = "x" * max(0, size - base)
    return json.dumps(doc, ensure_ascii=False).encode()


async def raw_passthrough(
    transport: Broker, url: str, count: int, size: int = 1024
) -> dict[str, Any]:
    """Time a bare consume -> parse -> re-serialise -> publish -> commit/ack of `count` messages.

    Returns {"transport", "count", "seconds", "msgs_per_s"}.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if transport == "kafka":
        seconds = await _kafka(url, count, size)
    elif transport == "rabbitmq":
        seconds = await _rabbitmq(url, count, size)
    else:
        raise ValueError(f"unknown transport {transport!r}; expected 'kafka' or 'rabbitmq'")
    return {
        "transport": transport,
        "count": count,
        "seconds": round(seconds, 3),
        "msgs_per_s": round(count / seconds, 1),
    }


def _passthrough(value: bytes) -> bytes:
    return json.dumps(json.loads(value), ensure_ascii=False).encode()


async def _kafka(bootstrap: str, count: int, size: int) -> float:
    run = uuid.uuid4().hex[:10]
    source, sink = f"bench-raw.{run}.in", f"bench-raw.{run}.out"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=256 * 1024)
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw.{run}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        await admin.create_topics([NewTopic(t, _KAFKA_PARTITIONS, 1) for t in (source, sink)])
        await producer.start()
        sends = [await producer.send(source, invoice_payload(n, size)) for n in range(count)]
        await asyncio.gather(*sends)
        await consumer.start()  # joins the group before the clock starts

        started = time.perf_counter()
        done = 0
        while done < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=_KAFKA_BATCH)
            futures = [
                await producer.send(sink, _passthrough(record.value), key=record.key)
                for records in batches.values()
                for record in records
            ]
            await asyncio.gather(*futures)
            await consumer.commit()
            done += len(futures)
        return time.perf_counter() - started
    finally:
        await consumer.stop()
        await producer.stop()
        with contextlib.suppress(Exception):  # best effort: tansu's memory store forgets anyway
            await admin.delete_topics([source, sink])
        await admin.close()


async def _rabbitmq(url: str, count: int, size: int) -> float:
    run = uuid.uuid4().hex[:10]
    source_name, sink_name = f"bench-raw.{run}.in", f"bench-raw.{run}.out"
    connection = await aio_pika.connect_robust(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=_PREFETCH)
        source = await channel.declare_queue(source_name, durable=True)
        await channel.declare_queue(sink_name, durable=True)
        exchange = channel.default_exchange
        persistent = aio_pika.DeliveryMode.PERSISTENT

        for start in range(0, count, 1000):  # confirms awaited together, a chunk at a time
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(invoice_payload(n, size), delivery_mode=persistent),
                        source_name,
                    )
                    for n in range(start, min(start + 1000, count))
                )
            )

        finished = asyncio.get_running_loop().create_future()
        done = 0

        async def relay(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal done
            body = _passthrough(message.body)
            await exchange.publish(aio_pika.Message(body, delivery_mode=persistent), sink_name)
            await message.ack()
            done += 1
            if done == count and not finished.done():
                finished.set_result(time.perf_counter())

        started = time.perf_counter()
        tag = await source.consume(relay)
        stopped: float = await finished
        await source.cancel(tag)
        await channel.queue_delete(source_name)
        await channel.queue_delete(sink_name)
        return stopped - started
    finally:
        await connection.close()
