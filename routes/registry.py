"""Routes: which handler consumes which message, under which consumer group.

A route has an `apply` step that changes state inside the consumer's transaction and returns
the messages to emit, and optionally a step that talks to an external system BEFORE the
transaction opens (it must be idempotent: it may run again after a crash or a retry): `call`
for one message at a time, run concurrently, or `call_many` for the whole batch at once, for
partners that take a batch in one request (a payment file, a 批量登记 upload). Keeping remote
calls out of the transaction keeps database locks short.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from canonical import Message
from routes.later import Later
from routes.policy import FlowPolicy
from routes.ports import (
    BankGateway,
    Clock,
    CreditBureau,
    RegistryGateway,
    UnitOfWork,
    VerificationGateway,
)

__all__ = ["ApplyStep", "BatchCallStep", "CallStep", "CompensateStep", "Route", "Services"]


@dataclass(frozen=True, kw_only=True)
class Services:
    """Everything a route may use besides the unit of work."""

    policy: FlowPolicy
    clock: Clock
    registry: RegistryGateway
    bank: BankGateway
    verification: VerificationGateway | None = None
    """The tax platform's 查验 service; None: invoices are not verified (no platform set)."""
    credit: CreditBureau | None = None
    """The credit bureau; None: no credit checks are made (no bureau set)."""


CallStep = Callable[[Any, Services], Awaitable[Any]]
"""(message, services) -> what the external system answered."""

BatchCallStep = Callable[[Sequence[Any], Services], Awaitable[Sequence[Any]]]
"""(messages, services) -> for each message, in order, the answer or the Exception it got."""

ApplyStep = Callable[[Any, Any, UnitOfWork, Services], Awaitable[Sequence[Message | Later]]]
"""(message, call result or None, uow, services) -> messages to emit: now, or (`Later`) once
the hub's clock reaches a time (written to the durable timers in the same transaction)."""

CompensateStep = Callable[[Any, UnitOfWork, Services, str], Awaitable[Sequence[Message]]]
"""(message, uow, services, why it failed for good) -> messages to emit, after undoing what the
earlier steps did; runs in the transaction that dead-letters the message."""


@dataclass(frozen=True, kw_only=True)
class Route:
    """One handler bound to one message type, consumed by one group."""

    group: str
    consumes: type[Message]
    apply: ApplyStep
    call: CallStep | None = None
    call_many: BatchCallStep | None = None
    compensate: CompensateStep | None = None
    """Run when a message of this route fails for good (a permanent error)."""
    max_batch: int | None = None
    """Most messages per batch (None: the hub's `consumer_batch`); larger for a route whose
    remote step costs per batch rather than per message."""
    calls_when: Callable[[Services], bool] | None = None
    """When given and false for a hub's services (its partner is not configured, or the policy
    asks nothing of it), that hub runs the route without its call step: `apply` gets None for
    every message and the consumer spends nothing on the step."""

    def __post_init__(self) -> None:
        if self.call is not None and self.call_many is not None:
            raise ValueError(f"route {self.group}: give `call` or `call_many`, not both")

    @property
    def topic(self) -> str:
        return self.consumes.topic

    def bound_to(self, services: Services) -> Route:
        """The route as a hub with these services runs it (see `calls_when`)."""
        if self.calls_when is None or self.calls_when(services):
            return self
        return replace(self, call=None, call_many=None, calls_when=None)
