"""Transports: embedded (in-process, dispatching from the outbox), Kafka and RabbitMQ."""

from hub.transport.base import BatchHandler, Outgoing, Transport, decode_envelope, encode_envelope

__all__ = ["BatchHandler", "Outgoing", "Transport", "decode_envelope", "encode_envelope"]
