"""`KafkaTransport`: the Transport protocol over FastStream's KafkaBroker (aiokafka).

Naming: hub topic "financing.submitted" is Kafka topic f"{topic_prefix}financing.submitted";
each (topic, group) subscription is its own consumer in Kafka group f"{prefix}{group}.{topic}", so
joining one subscription never rebalances another (joins are slow on the test broker).

Delivery: a batch subscriber with manual commit. The handler sees a batch of decoded envelopes
from one topic; offsets are committed only after it returns. If it raises, the consumer seeks
each partition back to the batch's first offset, so the same records come again. Records that
are not envelopes are logged, counted in `undecodable` and committed past.

Publishing pipelines: every record of a batch is handed to the producer first, then all the
delivery futures are awaited together (one round trip per message would cap near 1k msg/s).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.exceptions import FastStreamException
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.message import KafkaMessage
from opentelemetry.util.types import AttributeValue

from canonical.envelope import Envelope
from canonical.errors import DeliveryError
from hub.transport.base import BatchHandler, Outgoing, encode_envelope
from hub.transport.errors import map_delivery_errors
from hub.transport.wire import UndecodableCounter, decode_or_skip, keep_message, transport_headers
from observability import tracing
from observability.messaging import Deliveries, delivered

__all__ = ["DEFAULT_PARTITIONS", "DEFAULT_TOPIC_PREFIX", "KafkaTransport"]

DEFAULT_TOPIC_PREFIX = "factorhub."
DEFAULT_PARTITIONS = 4
"""Partitions per topic: the most consumers of one group that can share a topic."""

_BROKER_ERRORS: tuple[type[BaseException], ...] = (KafkaError, FastStreamException)

logger = logging.getLogger("hub.transport.kafka")
consumer_logger = logging.getLogger("hub.transport.kafka.consumer")


class _TopicsCreatedElsewhere(logging.Filter):
    """Drops the consumer-only brokers' warning that they skip topic creation: the publishing
    broker has created every subscribed topic before any consumer starts."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Topic creation is skipped")


@dataclass(frozen=True, slots=True)
class _Subscription:
    topic: str
    group: str
    broker: KafkaBroker
    subscriber: Any  # FastStream's BatchSubscriber; `.consumer` is the AIOKafkaConsumer


class KafkaTransport:
    """Publishes and consumes envelopes on Kafka (or the Kafka-compatible tansu broker)."""

    name = "kafka"

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "factorhub",
        topic_prefix: str = DEFAULT_TOPIC_PREFIX,
        partitions: int = DEFAULT_PARTITIONS,
        replication_factor: int = 1,
        idempotent: bool = False,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        poll_timeout_ms: int = 100,
        redelivery_delay: float = 0.5,
        join_timeout: float = 60.0,
        ping_timeout: float = 5.0,
        request_timeout_ms: int = 30_000,
        max_batch_bytes: int = 256 * 1024,
    ) -> None:
        """`idempotent` is off by default: tansu 0.6 rejects InitProducerId. `auto_offset_reset`
        is "earliest" so a new group misses nothing published before its first join."""
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.undecodable = UndecodableCounter()
        self._partitions = partitions
        self._replication_factor = replication_factor
        self._auto_offset_reset = auto_offset_reset
        self._poll_timeout_ms = poll_timeout_ms
        self._redelivery_delay = redelivery_delay
        self._join_timeout = join_timeout
        self._ping_timeout = ping_timeout
        self._subscriptions: list[_Subscription] = []
        self._known_topics: set[str] = set()
        self._started = False
        if not any(isinstance(f, _TopicsCreatedElsewhere) for f in consumer_logger.filters):
            consumer_logger.addFilter(_TopicsCreatedElsewhere())
        self._broker_options: dict[str, Any] = {
            "client_id": client_id,
            "request_timeout_ms": request_timeout_ms,
            "apply_types": False,  # handlers take the raw batch; we decode envelopes ourselves
            "logger": logger,
            "log_level": logging.DEBUG,  # per-message lines only when asked for
        }
        self._broker = KafkaBroker(  # publishes and creates topics; consumers have their own
            bootstrap_servers,
            acks="all",
            enable_idempotence=idempotent,
            max_batch_size=max_batch_bytes,
            **self._broker_options,
        )

    def __repr__(self) -> str:
        return f"KafkaTransport({self.bootstrap_servers!r}, topic_prefix={self.topic_prefix!r})"

    def topic_name(self, topic: str) -> str:
        """The Kafka topic that carries hub topic `topic`."""
        return f"{self.topic_prefix}{topic}"

    def subscribe(
        self, topic: str, *, group: str, handler: BatchHandler, max_batch: int = 100
    ) -> None:
        """Register a batch consumer of `topic` in Kafka group f"{prefix}{group}.{topic}"."""
        if self._started:
            raise RuntimeError("KafkaTransport.subscribe() must be called before start()")
        # One consumer-only broker per subscription so that `start` can join all groups at
        # once: aiokafka's consumer.start() waits for its join, and FastStream starts the
        # subscribers of one broker one after another (5 s each on tansu).
        broker = KafkaBroker(
            self.bootstrap_servers,
            consumer_only=True,
            **(self._broker_options | {"logger": consumer_logger}),
        )
        subscriber = broker.subscriber(
            self._topic_spec(topic),
            batch=True,
            group_id=f"{self.topic_prefix}{group}.{topic}",
            auto_offset_reset=self._auto_offset_reset,
            max_records=max_batch,
            batch_timeout_ms=self._poll_timeout_ms,
            ack_policy=AckPolicy.MANUAL,
            decoder=keep_message,
        )
        subscriber(self._consumer(handler))
        self._subscriptions.append(_Subscription(topic, group, broker, subscriber))

    async def start(self) -> None:
        """Connect, create missing topics, then start every consumer and wait for its join."""
        if self._started:
            return
        with map_delivery_errors(self.name, "start", _BROKER_ERRORS):
            await self._broker.start()
            self._started = True
            await self._ensure_topics({s.topic for s in self._subscriptions})
            joins = [s.broker.start() for s in self._subscriptions]
            await asyncio.wait_for(asyncio.gather(*joins), self._join_timeout)

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Send the whole batch, then await every acknowledgement (acks=all)."""
        if not messages:
            return
        if not self._started:
            raise DeliveryError("kafka: publish() before start()")
        with map_delivery_errors(self.name, "publish", _BROKER_ERRORS):
            await self._ensure_topics({topic for topic, _ in messages})
            futures: list[asyncio.Future[Any]] = []
            try:
                for topic, envelope in messages:
                    futures.append(
                        await self._broker.publish(
                            encode_envelope(envelope),
                            self.topic_name(topic),
                            key=envelope.key.encode() or None,
                            headers={"content-type": "application/json"}
                            | transport_headers(envelope),
                            correlation_id=envelope.correlation_id,
                            no_confirm=True,
                        )
                    )
            finally:  # even when a send fails midway, settle what was sent before raising
                results = await asyncio.gather(*futures, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise DeliveryError(
                f"kafka: {len(failures)} of {len(messages)} messages were not acknowledged"
            ) from failures[0]

    async def ping(self) -> None:
        """Ask for cluster metadata within `ping_timeout`; works before `start` too."""
        with map_delivery_errors(self.name, "ping", _BROKER_ERRORS):
            if self._started:
                if not await self._broker.ping(self._ping_timeout):
                    raise DeliveryError(f"kafka: no metadata within {self._ping_timeout}s")
                return
            await asyncio.wait_for(self._probe(), self._ping_timeout)

    async def aclose(self) -> None:
        """Stop the consumers (uncommitted batches are redelivered later) and disconnect."""
        self._started = False
        await asyncio.gather(*(s.broker.stop() for s in self._subscriptions))
        await self._broker.stop()

    def _topic_spec(self, topic: str) -> Topic:
        return Topic(
            self.topic_name(topic),
            num_partitions=self._partitions,
            replication_factor=self._replication_factor,
        )

    def _consumer(self, handler: BatchHandler) -> Any:
        async def consume(message: KafkaMessage) -> None:
            delivered_records = [
                (record, envelope)
                for record in message.raw_message
                if (
                    envelope := decode_or_skip(
                        record.value,
                        where=f"{record.topic}[{record.partition}]@{record.offset}",
                        counter=self.undecodable,
                    )
                )
                is not None
            ]
            envelopes = [envelope for _, envelope in delivered_records]
            if envelopes:
                try:
                    with delivered(_deliveries(delivered_records) if tracing.current() else {}):
                        await handler(envelopes)
                except Exception:
                    logger.exception("handler failed on %d messages; redelivering", len(envelopes))
                    await asyncio.sleep(self._redelivery_delay)
                    await message.nack()  # seeks each partition back to the batch's start
                    return
            try:
                await message.ack()  # commits the positions just past this batch
            except KafkaError:
                logger.warning("commit failed; the batch will be delivered again", exc_info=True)

        return consume

    async def _ensure_topics(self, topics: set[str]) -> None:
        """Create missing topics with our partition count; tansu would auto-create with one."""
        missing = [self._topic_spec(t) for t in topics if t not in self._known_topics]
        if not missing:
            return
        for result in await self._broker.config.admin.create_topics(missing):
            if result.error is not None:
                raise DeliveryError(f"kafka: cannot create {result.topic}: {result.error}")
        self._known_topics.update(topics)

    async def _probe(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            request_timeout_ms=int(self._ping_timeout * 1000),
        )
        try:
            await admin.start()
            await admin.describe_cluster()
        finally:
            await admin.close()


def _deliveries(records: Sequence[tuple[Any, Envelope]]) -> Deliveries:
    """Partition, offset and key of each record, by message id, for the `process` spans."""
    deliveries: dict[str, dict[str, AttributeValue]] = {}
    for record, envelope in records:
        delivery: dict[str, AttributeValue] = {
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
        }
        if record.key:
            delivery["messaging.kafka.message.key"] = record.key.decode(errors="replace")
        deliveries[envelope.message_id] = delivery
    return deliveries
