"""RabbitTransport against the local RabbitMQ: the shared contract, dead-lettering, reconnects.

Every run declares its own exchange, dead-letter exchange and queues (uuid-named) on the shared
server and deletes them afterwards, so runs never see each other or the real "factorhub" ones.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
import pytest_asyncio

from canonical import DeliveryError
from canonical.envelope import Envelope
from hub.transport.rabbitmq import RabbitTransport
from tests.support.transport_contract import (
    SCENARIOS,
    Harness,
    Recorder,
    TransportContract,
    closed_port,
    make_envelope,
    wait_until,
)

pytestmark = pytest.mark.rabbitmq


def _transport(url: str, run_id: str) -> RabbitTransport:
    return RabbitTransport(
        url,
        exchange=f"test-{run_id}",
        dead_letter_exchange=f"test-{run_id}.dlx",
        dead_letter_queue=f"test-{run_id}.dead-letter",
        connection_name=f"factorhub-test-{run_id}",
        redelivery_delay=0.1,
    )


async def _delete_topology(url: str, run_id: str, queues: list[str]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in [*queues, f"test-{run_id}.dead-letter"]:
            await channel.queue_delete(queue)
        for exchange in (f"test-{run_id}", f"test-{run_id}.dlx"):
            await channel.exchange_delete(exchange)


@pytest_asyncio.fixture(loop_scope="session")
async def amqp(rabbit_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A bare aio-pika channel for looking at what the transport put on the server."""
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        yield await connection.channel()


class TestRabbitTransport(TransportContract):
    @pytest.fixture(scope="class")
    @classmethod
    def broker_url(cls, rabbit_url: str) -> str:
        return rabbit_url

    def make_transport(self, url: str, run_id: str) -> RabbitTransport:
        return _transport(url, run_id)

    def closed_transport(self) -> RabbitTransport:
        return RabbitTransport(f"amqp://guest:guest@127.0.0.1:{closed_port()}/", ping_timeout=3.0)

    async def publish_raw(self, harness: Harness, topic: str, data: bytes, key: str) -> None:
        connection = await aio_pika.connect(harness.url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(f"test-{harness.run_id}")
            await exchange.publish(aio_pika.Message(data, headers={"key": key}), topic)

    async def cleanup(self, harness: Harness) -> None:
        queues = [f"test-{harness.run_id}.{harness.topics[name]}" for name in SCENARIOS]
        await _delete_topology(harness.url, harness.run_id, queues)

    async def test_messages_carry_ids_type_headers_and_persistence(
        self, harness: Harness, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        topic = f"wire.{harness.run_id}"
        exchange = await amqp.get_exchange(f"test-{harness.run_id}")
        probe = await amqp.declare_queue(exclusive=True)
        await probe.bind(exchange, topic)
        envelope = make_envelope(1)

        await harness.transport.publish([(topic, envelope)])

        message = await _get(probe)
        assert message.message_id == envelope.message_id
        assert message.correlation_id == envelope.correlation_id
        assert message.type == "invoice.registered"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.headers["traceparent"] == envelope.headers["traceparent"]
        assert message.headers["key"] == envelope.key
        assert json.loads(message.body)["body"]["amount"] == "12345.67"

    async def test_undecodable_messages_land_in_the_dead_letter_queue(
        self, harness: Harness, amqp: aio_pika.abc.AbstractChannel
    ) -> None:
        poison = f"poison {uuid.uuid4().hex}".encode()

        await self.publish_raw(harness, harness.topics["poison"], poison, "k")

        dead_letters = await amqp.get_queue(f"test-{harness.run_id}.dead-letter")
        bodies: list[bytes] = []

        async def drain() -> bool:
            while (message := await dead_letters.get(no_ack=True, fail=False)) is not None:
                bodies.append(message.body)
            return poison in bodies

        for _ in range(100):
            if await drain():
                break
            await asyncio.sleep(0.05)
        assert poison in bodies


async def test_no_message_is_lost_when_the_server_drops_the_connection(rabbit_url: str) -> None:
    if shutil.which("rabbitmqctl") is None:
        pytest.fail("rabbitmqctl is needed to close the connection from the server side")
    run_id = uuid.uuid4().hex[:10]
    transport = _transport(rabbit_url, run_id)
    recorder = Recorder()
    dropped = asyncio.Event()

    async def handler(envelopes: list[Envelope]) -> None:
        if len(recorder.handled) >= 100:
            await dropped.wait()  # holds a batch in flight across the drop: its ack will fail
        await recorder(envelopes)

    transport.subscribe("drop.test", group=f"test-{run_id}", handler=handler, max_batch=20)
    await transport.start()
    try:
        first = [make_envelope(n) for n in range(300)]
        second = [make_envelope(n) for n in range(300, 400)]
        await transport.publish([("drop.test", e) for e in first])
        await wait_until(lambda: len(recorder.handled) >= 100, what="the first 100 messages")

        closed = await asyncio.to_thread(_close_connections_named, f"factorhub-test-{run_id}")
        dropped.set()
        # Publishing waits for the reconnect; a publish that raced the drop fails as a whole
        # (DeliveryError) and is sent again, as the outbox relay does.
        for attempt in range(10):
            try:
                await transport.publish([("drop.test", e) for e in second])
                break
            except DeliveryError:
                if attempt == 9:
                    raise
                await asyncio.sleep(0.5)

        expected = {e.message_id for e in first + second}
        await wait_until(
            lambda: recorder.handled_ids() >= expected, within=60, what="all 400 message ids"
        )
        assert closed == 1
        assert len(recorder.handled) > len(expected), "the unacked batch was not redelivered"
        await transport.ping()
    finally:
        await transport.aclose()
        await _delete_topology(rabbit_url, run_id, [f"test-{run_id}.drop.test"])


def _close_connections_named(name: str) -> int:
    """Close, server side, the connections whose client called itself `name`.

    The management API is not enabled on the test server, so this asks rabbitmqctl; its
    tab-separated listing (unlike --formatter json) prints pids in the form close_connection
    accepts.
    """
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    marker = f'{{"connection_name","{name}"}}'
    pids = [line.split("\t", 1)[0] for line in listing.stdout.splitlines() if marker in line]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "dropped by test"],
            capture_output=True,
            check=True,
            timeout=30,
        )
    return len(pids)


async def _get(queue: aio_pika.abc.AbstractQueue) -> aio_pika.abc.AbstractIncomingMessage:
    for _ in range(100):
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    pytest.fail("no message arrived on the probe queue")


async def test_hubs_in_different_namespaces_share_a_server_without_seeing_each_other(
    rabbit_url: str,
) -> None:
    run_id = uuid.uuid4().hex[:8]
    spaces = {name: f"ns-{run_id}-{name}." for name in ("a", "b")}
    transports = {
        name: RabbitTransport(rabbit_url, namespace=prefix, redelivery_delay=0.1)
        for name, prefix in spaces.items()
    }
    recorders = {name: Recorder() for name in spaces}
    for name, transport in transports.items():
        transport.subscribe("invoices", group="g", handler=recorders[name])
    try:
        for transport in transports.values():
            await transport.start()
        await transports["a"].publish([("invoices", make_envelope(1))])
        await wait_until(lambda: len(recorders["a"].handled) == 1, what="namespace a delivery")
        await asyncio.sleep(0.5)  # time enough for a stray delivery to b
        assert recorders["b"].handled == []
        assert transports["a"].queue_name("invoices", "g") == f"{spaces['a']}g.invoices"
    finally:
        for transport in transports.values():
            await transport.aclose()
        connection = await aio_pika.connect(rabbit_url)
        async with connection:
            for transport in transports.values():
                channel = await connection.channel()
                await channel.queue_delete(transport.queue_name("invoices", "g"))
                await channel.queue_delete(transport.dead_letter_queue_name)
                for exchange in transport.exchange_names:
                    await channel.exchange_delete(exchange)
