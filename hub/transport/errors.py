"""Broker errors become `DeliveryError` at the transport's edge, as httpx maps httpcore's.

Callers (the outbox relay, health checks) then retry or report on one exception type and never
import aiokafka or aio-pika; the original error stays attached as `__cause__`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from canonical.errors import DeliveryError

__all__ = ["NETWORK_ERRORS", "map_delivery_errors"]

NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError)
"""Errors any client raises when the broker is unreachable or too slow."""


@contextmanager
def map_delivery_errors(
    transport: str, action: str, broker_errors: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Re-raise network and `broker_errors` raised inside the block as `DeliveryError`.

    Programming errors (TypeError and friends) pass through untouched: they are bugs, not
    delivery failures, and retrying them would only hide them.
    """
    try:
        yield
    except DeliveryError:
        raise
    except (*NETWORK_ERRORS, *broker_errors) as exc:
        raise DeliveryError(f"{transport}: {action} failed: {exc!r}") from exc
