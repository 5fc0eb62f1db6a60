"""Choose the transport from the settings (FACTORHUB_BROKER_URL)."""

from __future__ import annotations

from hub.config import Settings
from hub.transport.base import Transport
from hub.transport.embedded import EmbeddedTransport, Undelivered

__all__ = ["make_transport"]


def make_transport(settings: Settings, undelivered: Undelivered) -> Transport:
    kind = settings.transport
    if kind == "kafka":
        from hub.transport.kafka import DEFAULT_TOPIC_PREFIX, KafkaTransport

        return KafkaTransport(
            settings.kafka_bootstrap, topic_prefix=settings.broker_namespace + DEFAULT_TOPIC_PREFIX
        )
    if kind == "rabbitmq":
        from hub.transport.rabbitmq import RabbitTransport

        return RabbitTransport(settings.broker_url or "", namespace=settings.broker_namespace)
    return EmbeddedTransport(undelivered)
