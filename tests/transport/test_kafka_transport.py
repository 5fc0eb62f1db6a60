"""KafkaTransport against the tansu broker: the shared contract plus Kafka-only wire details."""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from hub.transport.kafka import KafkaTransport
from tests.support.transport_contract import (
    Harness,
    TransportContract,
    closed_port,
    make_envelope,
)

pytestmark = pytest.mark.kafka


class TestKafkaTransport(TransportContract):
    @pytest.fixture(scope="class")
    @classmethod
    def broker_url(cls, kafka_bootstrap: str) -> str:
        return kafka_bootstrap

    def make_transport(self, url: str, run_id: str) -> KafkaTransport:
        return KafkaTransport(url, topic_prefix=f"test-{run_id}.", redelivery_delay=0.1)

    def closed_transport(self) -> KafkaTransport:
        return KafkaTransport(f"127.0.0.1:{closed_port()}", ping_timeout=3.0)

    async def publish_raw(self, harness: Harness, topic: str, data: bytes, key: str) -> None:
        assert isinstance(harness.transport, KafkaTransport)
        producer = AIOKafkaProducer(bootstrap_servers=harness.url, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                harness.transport.topic_name(topic), data, key=key.encode()
            )
        finally:
            await producer.stop()

    async def test_records_carry_the_key_and_the_headers(self, harness: Harness) -> None:
        transport = harness.transport
        assert isinstance(transport, KafkaTransport)
        topic = f"wire.{harness.run_id}"
        envelope = make_envelope(1, key="91310000MA1FL8XQ2K")

        await transport.publish([(topic, envelope)])

        records = await _read_all(harness.url, transport.topic_name(topic), expected=1)
        (record,) = records
        headers = {name: value.decode() for name, value in record.headers}
        assert record.key == b"91310000MA1FL8XQ2K"
        assert headers["message_id"] == envelope.message_id
        assert headers["type"] == "invoice.registered"
        assert headers["correlation_id"] == envelope.correlation_id
        assert headers["traceparent"] == envelope.headers["traceparent"]
        assert headers["tracestate"] == "fh=1"

    async def test_topics_are_created_with_the_configured_partitions(
        self, harness: Harness
    ) -> None:
        transport = harness.transport
        assert isinstance(transport, KafkaTransport)
        topic = f"partitions.{harness.run_id}"

        await transport.publish([(topic, make_envelope(n, key=f"k{n}")) for n in range(40)])

        records = await _read_all(harness.url, transport.topic_name(topic), expected=40)
        assert {r.partition for r in records} == {0, 1, 2, 3}


async def _read_all(bootstrap: str, topic: str, *, expected: int) -> list[ConsumerRecord]:
    """Read a topic from the beginning without a group (assigning avoids the slow join)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # refreshes metadata so the new topic's partitions are known
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + 20
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()
