"""The hub: database, transport, one consumer per route, the outbox relay, the timekeeper
(due timers into the outbox) and the gateways (the bank gateway is the payment channel the
policy chooses: `hub/channels.py`).

`Hub` is built explicitly from `Settings` (no import-time state) and is an async context
manager; the ingress, the worker command, the demo and the tests all run this same object.
Each hub has its own metrics (`observability.metrics`), always on: its consumers, publishes and
partner calls record into them, and `Hub.metrics.render()` reads the database gauges first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from sqlalchemy import func, select

from canonical import ConfigurationError, Envelope, FinancingState
from connectors.credit_bureau import HttpCreditBureau
from connectors.http import DEFAULT_TIMEOUT
from connectors.registry import HttpRegistryGateway
from connectors.vat_platform import HttpVerificationGateway
from hub.channels import make_bank_gateway
from hub.config import Settings
from hub.ecny_notices import EcnyNotices
from hub.housekeeping import Housekeeper
from hub.intake import Intake
from hub.mapping_pool import MappingPool
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import DeadLetterRow, OutboxRow, RequestRow
from hub.runtime.consumer import RouteConsumer
from hub.runtime.relay import OutboxRelay
from hub.security.audit import Sealer
from hub.security.tls import partner_verify
from hub.timekeeping import Timekeeper
from hub.transport.base import Outgoing, Transport
from hub.transport.embedded import EmbeddedTransport
from hub.transport.factory import make_transport
from observability.http import metered, traced_client
from observability.messaging import TracedPublisher, sent
from observability.metrics import DatabaseFigures, MeteredPublisher, Metrics
from observability.tracing import Tracing
from routes.flow import ROUTES
from routes.policy import FlowPolicy, flow_policy, load_policy
from routes.registry import Route, Services

__all__ = ["Hub", "utc_now"]

log = logging.getLogger("factorhub")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Hub:
    """One hub process. `consume=False` gives an ingress-only process (no route consumers)."""

    def __init__(
        self,
        settings: Settings,
        *,
        routes: Sequence[Route] = ROUTES,
        policy: FlowPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
        consume: bool = True,
        transport: Transport | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        timeout = httpx.Timeout(settings.http_timeout, connect=DEFAULT_TIMEOUT.connect)
        pool = settings.http_connections
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        # Partners' certificates are verified, against FACTORHUB_CA_BUNDLE's CAs too (a bundle
        # with no certificate stops the hub here, before anything is opened).
        verify = partner_verify(settings.ca_bundle_pem)
        # A bad policy, or a payment channel without its settings, stops the hub here, before
        # anything is opened (ConfigurationError naming every bad key or missing setting).
        flow = policy or _flow_policy(settings)
        if settings.credit_url and not settings.credit_token:
            raise ConfigurationError("FACTORHUB_CREDIT_URL needs FACTORHUB_CREDIT_TOKEN")
        self.bank_channel = make_bank_gateway(settings, flow, clock, timeout=timeout, limits=limits)
        """The payment channel the policy chose: `Services.bank`."""
        self.database = Database(settings.database_url)
        self.units = UnitOfWorkFactory(self.database, clock)
        self.ecny_notices: EcnyNotices | None = self._ecny_notices()
        """The e-CNY operator's notifies (`POST /v1/ecny/notify`), once its key is known."""
        workers = settings.ingress_workers
        self.intake = Intake(self.units, mapping=MappingPool(workers) if workers else None)
        self.transport = transport or make_transport(settings, self._undelivered)
        self.tracing = Tracing(settings.tracing) if settings.tracing.exporters else None
        """Spans to the configured exporters; None: tracing off (a test may install its own)."""
        tracing = settings.tracing
        self.metrics = Metrics(
            resource={"service.name": tracing.service_name, **(tracing.resource_attributes or {})},
            refresh=self._database_figures,
        )
        """This hub's instruments; `render()` is the Prometheus text of `GET /metrics`."""
        # A `send {topic}` span per message, around the measured publish to the transport.
        publisher = TracedPublisher(
            MeteredPublisher(self.transport, self.metrics.publishes(self.transport.name))
        )
        self._registry_http = traced_client(
            httpx.AsyncClient(
                base_url=settings.registry_url, timeout=timeout, limits=limits, verify=verify
            ),
            "registry",
        )
        self._vat_http = (
            traced_client(
                httpx.AsyncClient(
                    base_url=settings.vat_url, timeout=timeout, limits=limits, verify=verify
                ),
                "vat",
            )
            if settings.vat_url
            else None
        )
        self._credit_http = (
            traced_client(
                httpx.AsyncClient(
                    base_url=settings.credit_url, timeout=timeout, limits=limits, verify=verify
                ),
                "credit",
            )
            if settings.credit_url
            else None
        )
        self.services = Services(
            policy=flow,
            clock=clock,
            registry=HttpRegistryGateway(self._registry_http),
            bank=self.bank_channel,
            verification=None
            if self._vat_http is None
            else HttpVerificationGateway(self._vat_http, clock=clock),
            credit=None
            if self._credit_http is None
            else HttpCreditBureau(
                self._credit_http,
                token=settings.credit_token or "",
                max_age=settings.credit_cache_seconds,
                concurrency=pool,
                clock=clock,
            ),
        )
        self.consumers = [
            RouteConsumer(
                route.bound_to(self.services),  # no call step for a partner not configured
                self.units,
                self.services,
                retry=settings.retry,
                call_concurrency=settings.http_connections,
                messaging_system=self.transport.name,
                meter=self.metrics.route(
                    system=self.transport.name, topic=route.topic, group=route.group
                ),
            )
            for route in (routes if consume else ())
        ]
        partners = [self._registry_http, self._vat_http, self._credit_http]
        partners.append(self.bank_channel.client)  # its peer named by the channel
        for client in partners:
            if client is not None:
                metered(client, self.metrics)
        self.housekeeper: Housekeeper | None = None
        if self.consumers and settings.retention_days > 0:
            self.housekeeper = Housekeeper(
                self.units,
                ROUTES,  # the whole flow's groups, not just this process's
                retention=timedelta(days=settings.retention_days),
                clock=clock,
            )
        self.sealer = Sealer(self.database, clock)
        """Chains the history and operators' actions into the SM3 audit trail every second,
        after their transactions (several hubs on one database take turns)."""
        self.timekeeper: Timekeeper | None = None
        """Fires due timers (`routes.later.Later`) into the outbox, by the hub's clock."""
        if self.consumers:
            self.timekeeper = Timekeeper(self.units, clock=clock)
        self.relay: OutboxRelay | None = None
        if isinstance(self.transport, EmbeddedTransport):
            # With consumers here, our own commits dispatch their rows at once (and write them
            # as published); the relay only polls for rows other processes wrote (`factorhub
            # dlq replay`, an ingress-only process). Without consumers, rows stay unpublished
            # for the process that has them.
            if self.consumers:
                self.units.hooks.append(publisher.publish)
                self.units.dispatches_on_commit = True
                self.relay = OutboxRelay(self.database, publisher, poll_interval=1.0)
        else:
            self.relay = OutboxRelay(self.database, publisher)
            self.units.hooks.append(self.relay.notify)

    async def start(self) -> None:
        await self.bank_channel.start()  # QA: e-CNY keys read from the simulator
        self.ecny_notices = self.ecny_notices or self._ecny_notices()
        await self.database.upgrade()
        if self.tracing is not None:
            await self.tracing.start(self.database.engine)
        await self.intake.start()
        for consumer in self.consumers:
            self.transport.subscribe(
                consumer.route.topic,
                group=consumer.route.group,
                handler=consumer,
                max_batch=consumer.route.max_batch or self.settings.consumer_batch,
            )
        declare = getattr(self.transport, "declare", None)
        if declare is not None and not self.consumers:  # publisher-only: bind queues first
            for route in ROUTES:
                declare(route.topic, group=route.group)
        if self.relay is not None and isinstance(self.transport, EmbeddedTransport):
            await self.relay.skip_existing()  # older rows: the transport's start re-dispatches
        await self.transport.start()
        if self.relay is not None:
            self.relay.start()
        if self.housekeeper is not None:
            self.housekeeper.start()
        if self.timekeeper is not None:  # after the transport: its commits dispatch at once
            self.timekeeper.start()
        self.sealer.start()
        log.info("hub started: %r with %d route(s)", self.settings, len(self.consumers))

    async def aclose(self) -> None:
        await self.sealer.aclose()
        if self.timekeeper is not None:
            await self.timekeeper.aclose()
        if self.housekeeper is not None:
            await self.housekeeper.aclose()
        await self.intake.aclose()
        if self.relay is not None:
            await self.relay.aclose()
        await self.transport.aclose()
        await self._registry_http.aclose()
        await self.bank_channel.aclose()
        if self._vat_http is not None:
            await self._vat_http.aclose()
        if self._credit_http is not None:
            await self._credit_http.aclose()
        if self.tracing is not None:
            await self.tracing.aclose()
        self.metrics.shutdown()
        await self.database.aclose()

    async def publish_now(self, messages: Sequence[Outgoing]) -> None:
        """Hand rows to the transport at once (the relay would also find them)."""
        for hook in self.units.hooks:
            await hook(messages)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _database_figures(self) -> DatabaseFigures:
        """The metrics' gauges: outbox lag, open dead letters per group (every route's, 0 when
        none), applications per state (every state's)."""
        async with self.database.session() as session:
            unpublished, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxRow.created_at)).where(
                        OutboxRow.published_at.is_(None)
                    )
                )
            ).one()
            dead = (
                await session.execute(
                    select(DeadLetterRow.consumer, func.count())
                    .where(DeadLetterRow.replayed_at.is_(None))
                    .group_by(DeadLetterRow.consumer)
                )
            ).all()
            states = (
                await session.execute(
                    select(RequestRow.state, func.count()).group_by(RequestRow.state)
                )
            ).all()
        lag = 0.0 if oldest is None else max(0.0, (self.clock() - oldest).total_seconds())
        return DatabaseFigures(
            unpublished=int(unpublished),
            oldest_unpublished_seconds=lag,
            dead_letters={r.group: 0 for r in ROUTES} | {str(g): int(n) for g, n in dead},
            applications={s.value: 0 for s in FinancingState} | {str(s): int(n) for s, n in states},
        )

    def _ecny_notices(self) -> EcnyNotices | None:
        key = self.bank_channel.ecny_operator_public_key
        return None if key is None else EcnyNotices(self.units, key)

    async def _undelivered(self, topic: str, group: str) -> list[Envelope]:
        async with self.units() as uow:
            payloads = await uow.outbox.undelivered(topic, group)
        envelopes = [Envelope.model_validate_json(p) for p in payloads]
        # Dispatched again after a restart: each its `send` span, child of the span that wrote
        # the row in the process's earlier life (the row's headers), so the trace goes on.
        spans, stamped = sent(self.transport.name, [(topic, e) for e in envelopes])
        for span in spans:
            span.end()
        return [e for _, e in stamped]


def _flow_policy(settings: Settings) -> FlowPolicy:
    """The programme's risk policy file, or the §6.0 defaults; a bad file stops the hub here,
    naming every bad key (PolicyError is a ConfigurationError)."""
    if settings.policy_file is None:
        return FlowPolicy()
    return flow_policy(load_policy(Path(settings.policy_file)))
