"""The AsyncAPI 3.0 description of the bus: one channel per topic, one operation per route."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from canonical import MESSAGE_TYPES, Envelope
from routes.registry import Route

__all__ = ["asyncapi_document"]


def asyncapi_document(routes: Sequence[Route], *, version: str = "0.1.0") -> dict[str, Any]:
    """Channels carry envelopes whose `body` is the message type named in `type`."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Envelope": Envelope.model_json_schema(mode="serialization")}
    for name, model in MESSAGE_TYPES.items():
        schemas[name] = model.model_json_schema(mode="serialization")
        messages[name] = {
            "name": name,
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {"type": {"const": name}}},
            "payload": {"$ref": "#/components/schemas/Envelope"},
            "x-body": {"$ref": f"#/components/schemas/{name}"},
        }
        channels[name] = {
            "address": model.topic,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
    operations: dict[str, Any] = {}
    for name, model in MESSAGE_TYPES.items():
        operations[f"publish-{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"Written to the outbox, relayed to {model.topic}",
        }
    for route in routes:
        operations[route.group] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{route.consumes.__name__}"},
            "summary": f"Consumer group {route.group}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "FactorHub bus",
            "version": version,
            "description": "Messages between the factoring flow's steps. Every message is an "
            "Envelope (message id, correlation id = financing request id, causation id, tenant, "
            "key = seller USCC) whose body is the type named in `type`.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
