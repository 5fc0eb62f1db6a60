"""`RabbitTransport`: the Transport protocol over FastStream's RabbitBroker (aio-pika).

Topology: one durable topic exchange (default "factorhub"); per (group, topic) a durable queue
f"{group}.{topic}" bound with routing key = topic; every such queue dead-letters into the fanout
exchange "factorhub.dlx", whose durable queue "factorhub.dead-letter" keeps poison messages.

Delivery: manual acks. Deliveries are gathered into batches (up to `max_batch`, or what arrived
within a few ms) and the handler is called once per batch; each message is acked after the
handler returns, nacked with requeue if it raises (RabbitMQ delivers it again), and rejected
without requeue if it is not an envelope (so it lands in the dead-letter queue).

Publishing: persistent messages with publisher confirms, the batch published concurrently and
all confirms awaited together. The connection is robust: aio-pika reconnects and re-declares;
unacked deliveries are requeued by the server, so nothing is lost (duplicates are possible).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from faststream import AckPolicy
from faststream.exceptions import FastStreamException, NackMessage, RejectMessage
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.message import RabbitMessage
from opentelemetry.util.types import AttributeValue
from yarl import URL

from canonical.envelope import Envelope
from canonical.errors import DeliveryError
from hub.transport.base import BatchHandler, Outgoing, encode_envelope
from hub.transport.batching import DEFAULT_LINGER, MicroBatcher
from hub.transport.errors import map_delivery_errors
from hub.transport.wire import UndecodableCounter, decode_or_skip, keep_message, transport_headers
from observability import tracing
from observability.messaging import delivered

__all__ = ["DEAD_LETTER_EXCHANGE", "DEAD_LETTER_QUEUE", "DEFAULT_EXCHANGE", "RabbitTransport"]

DEFAULT_EXCHANGE = "factorhub"
DEAD_LETTER_EXCHANGE = "factorhub.dlx"
DEAD_LETTER_QUEUE = "factorhub.dead-letter"

_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    AMQPError,
    ChannelInvalidStateError,
    FastStreamException,
)

logger = logging.getLogger("hub.transport.rabbitmq")


class RabbitTransport:
    """Publishes and consumes envelopes through a RabbitMQ topic exchange."""

    name = "rabbitmq"

    def __init__(
        self,
        url: str,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        prefetch: int = 200,
        dead_letter_exchange: str = DEAD_LETTER_EXCHANGE,
        dead_letter_queue: str = DEAD_LETTER_QUEUE,
        linger: float = DEFAULT_LINGER,
        redelivery_delay: float = 0.5,
        publish_timeout: float = 30.0,
        reconnect_timeout: float = 30.0,
        ping_timeout: float = 5.0,
        connection_name: str = "factorhub",
        namespace: str = "",
    ) -> None:
        """`prefetch` bounds unacked deliveries per subscription and should be >= max_batch;
        `connection_name` is shown by RabbitMQ (and lets operators close our connection)."""
        self.url = url
        self.undecodable = UndecodableCounter()
        self.namespace = namespace
        """Prefix of every exchange and queue name: hubs (or benchmarks) sharing a vhost."""
        self._exchange = RabbitExchange(namespace + exchange, type=ExchangeType.TOPIC, durable=True)
        self._dlx = RabbitExchange(
            namespace + dead_letter_exchange, type=ExchangeType.FANOUT, durable=True
        )
        self._dlq = RabbitQueue(namespace + dead_letter_queue, durable=True)
        self._prefetch = prefetch
        self._linger = linger
        self._redelivery_delay = redelivery_delay
        self._publish_timeout = publish_timeout
        self._reconnect_timeout = reconnect_timeout
        self._ping_timeout = ping_timeout
        self._batchers: list[MicroBatcher[_Delivered]] = []
        self._declared: list[tuple[str, RabbitQueue]] = []
        self._started = False
        self._broker = RabbitBroker(
            _with_connection_name(url, connection_name),
            reconnect_interval=1.0,
            apply_types=False,  # handlers take the raw message; we decode envelopes ourselves
            logger=logger,
            log_level=logging.DEBUG,  # per-message lines only when asked for
        )

    def __repr__(self) -> str:
        return f"RabbitTransport(exchange={self._exchange.name!r})"  # the URL may hold a password

    @property
    def exchange_names(self) -> tuple[str, str]:
        """(topic exchange, dead-letter exchange) as declared on the server."""
        return self._exchange.name, self._dlx.name

    @property
    def dead_letter_queue_name(self) -> str:
        return self._dlq.name

    def queue_name(self, topic: str, group: str) -> str:
        """The durable queue that holds `group`'s copy of `topic`."""
        return f"{self.namespace}{group}.{topic}"

    def subscribe(
        self, topic: str, *, group: str, handler: BatchHandler, max_batch: int = 100
    ) -> None:
        """Consume queue f"{group}.{topic}" (declared and bound to `topic` at start) in batches."""
        if self._started:
            raise RuntimeError("RabbitTransport.subscribe() must be called before start()")
        queue_name = self.queue_name(topic, group)
        queue = self._queue(topic, group)
        batcher = MicroBatcher(
            _with_deliveries(handler),
            max_batch=max_batch,
            linger=self._linger,
            failure_delay=self._redelivery_delay,
            name=queue_name,
        )
        self._batchers.append(batcher)
        subscriber = self._broker.subscriber(
            queue,
            self._exchange,
            channel=Channel(prefetch_count=self._prefetch),  # one channel per subscription
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=keep_message,
        )
        subscriber(self._consumer(batcher, queue_name))

    def declare(self, topic: str, *, group: str) -> None:
        """Have `group`'s queue for `topic` exist and be bound, without consuming it.

        A publisher-only process (an ingress without workers) calls this for every route, so
        nothing it publishes before the workers start is dropped for want of a bound queue.
        """
        self._declared.append((topic, self._queue(topic, group)))

    def _queue(self, topic: str, group: str) -> RabbitQueue:
        return RabbitQueue(
            self.queue_name(topic, group),
            durable=True,
            routing_key=topic,
            arguments={"x-dead-letter-exchange": self._dlx.name},
        )

    async def start(self) -> None:
        """Connect, declare the dead-letter topology, then the queues, and start consuming."""
        if self._started:
            return
        with map_delivery_errors(self.name, "start", _BROKER_ERRORS):
            await self._broker.connect()
            dlx = await self._broker.declare_exchange(self._dlx)
            dlq = await self._broker.declare_queue(self._dlq)
            await dlq.bind(dlx, routing_key="")
            if self._declared:
                exchange = await self._broker.declare_exchange(self._exchange)
                for topic, queue_spec in self._declared:
                    queue = await self._broker.declare_queue(queue_spec)
                    await queue.bind(exchange, routing_key=topic)
            await self._broker.start()
        self._started = True

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Publish the batch concurrently on one confirming channel; await every confirm.

        While the connection is being re-established this waits up to `reconnect_timeout`.
        """
        if not messages:
            return
        if not self._started:
            raise DeliveryError("rabbitmq: publish() before start()")
        if not await self._broker.ping(self._reconnect_timeout):
            raise DeliveryError(f"rabbitmq: not connected after {self._reconnect_timeout}s")
        with map_delivery_errors(self.name, "publish", _BROKER_ERRORS):
            results = await asyncio.gather(
                *(self._publish_one(topic, envelope) for topic, envelope in messages),
                return_exceptions=True,
            )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise DeliveryError(
                f"rabbitmq: {len(failures)} of {len(messages)} messages were not confirmed"
            ) from failures[0]

    async def ping(self) -> None:
        """Raise `DeliveryError` unless the broker accepts a connection now (or ours is up)."""
        with map_delivery_errors(self.name, "ping", _BROKER_ERRORS):
            if self._started:
                if not await self._broker.ping(self._ping_timeout):
                    raise DeliveryError(f"rabbitmq: not connected within {self._ping_timeout}s")
                return
            probe = RabbitBroker(self.url, timeout=self._ping_timeout, logger=None)
            try:
                await asyncio.wait_for(probe.connect(), self._ping_timeout)
            finally:
                await probe.stop()

    async def aclose(self) -> None:
        """Stop consuming (waiting deliveries stay unacked, so they are requeued) and close."""
        self._started = False
        for batcher in self._batchers:
            await batcher.aclose()
        await self._broker.stop()

    async def _publish_one(self, topic: str, envelope: Envelope) -> None:
        await self._broker.publish(
            encode_envelope(envelope),
            exchange=self._exchange,
            routing_key=topic,
            persist=True,
            mandatory=False,  # a topic nobody subscribes to is not an error
            timeout=self._publish_timeout,
            message_id=envelope.message_id,
            correlation_id=envelope.correlation_id,
            message_type=envelope.type,
            content_type="application/json",
            headers={**transport_headers(envelope), "key": envelope.key},
        )

    def _consumer(self, batcher: MicroBatcher[_Delivered], queue_name: str) -> Any:
        async def consume(message: RabbitMessage) -> None:
            envelope = decode_or_skip(
                message.body, where=f"{queue_name}#{message.message_id}", counter=self.undecodable
            )
            if envelope is None:
                raise RejectMessage()  # reject without requeue: dead-lettered
            delivery: dict[str, AttributeValue] | None = None
            if tracing.current() is not None:
                raw = message.raw_message
                delivery = {"messaging.rabbitmq.destination.routing_key": raw.routing_key or ""}
                if raw.delivery_tag is not None:
                    delivery["messaging.rabbitmq.message.delivery_tag"] = raw.delivery_tag
            if not await batcher.submit((envelope, delivery)):
                raise NackMessage(requeue=True)  # the broker delivers it again

        return consume


_Delivered = tuple[Envelope, dict[str, AttributeValue] | None]
"""A delivery waiting for its batch: the envelope and, tracing on, its span attributes."""


def _with_deliveries(handler: BatchHandler) -> Callable[[list[_Delivered]], Awaitable[None]]:
    """`handler` for batches of deliveries: the envelopes, with what RabbitMQ said of each
    (routing key, delivery tag) current for the consumer's `process` spans."""

    async def handle(batch: list[_Delivered]) -> None:
        deliveries = {e.message_id: d for e, d in batch if d is not None}
        with delivered(deliveries):
            await handler([envelope for envelope, _ in batch])

    return handle


def _with_connection_name(url: str, name: str) -> str:
    """Add aiormq's `name` query parameter (the connection_name RabbitMQ shows) unless set."""
    parsed = URL(url)
    return url if "name" in parsed.query else str(parsed.update_query(name=name))
