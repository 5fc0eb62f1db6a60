"""The behaviour every broker transport must show, written once and subclassed per broker.

A subclass provides `broker_url` (a class-scoped fixture), `make_transport` and
`publish_raw`. Consumer-group joins are slow on the Kafka test broker, so one transport with
one subscription per scenario is started per test class (one class per module), each scenario
on its own uuid-named topic and group so tests cannot see each other's messages.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import pytest
import pytest_asyncio

from canonical.envelope import Envelope
from canonical.errors import DeliveryError
from hub.devbroker import free_port
from hub.transport.base import Transport
from hub.transport.wire import UndecodableCounter

__all__ = [
    "DEFAULT_KEY",
    "SCENARIOS",
    "BrokerTransport",
    "Harness",
    "Recorder",
    "TransportContract",
    "closed_port",
    "make_envelope",
    "wait_until",
]

SCENARIOS = ("intact", "order", "retry", "poison")
DEFAULT_KEY = "91310000MA1FL8XQ2K"


class BrokerTransport(Transport, Protocol):
    """A broker transport also counts the undecodable messages it skipped."""

    undecodable: UndecodableCounter


def make_envelope(n: int, *, key: str = DEFAULT_KEY, **body: Any) -> Envelope:
    """An invoice-shaped envelope with decimal-string amounts and W3C trace headers."""
    return Envelope(
        correlation_id=f"fin-{n:06d}",
        causation_id=f"cause-{n:06d}",
        tenant="tenant-a",
        source_system="kingdee",
        type="invoice.registered",
        key=key,
        headers={
            "traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
            "tracestate": "fh=1",
        },
        body={
            "invoice_no": f"INV-{n:08d}",
            "amount": "12345.67",
            "tax": "1604.94",
            "currency": "CNY",
            "seq": n,
            **body,
        },
    )


async def wait_until(
    condition: Callable[[], bool], *, within: float = 30.0, what: str = "condition"
) -> None:
    """Poll `condition()` until true; fail the test with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Recorder:
    """A batch handler that records every batch it is offered and can fail on demand."""

    fail_next: int = 0
    offered: list[list[Envelope]] = field(default_factory=list)
    handled: list[Envelope] = field(default_factory=list)
    failed: list[list[Envelope]] = field(default_factory=list)

    async def __call__(self, envelopes: list[Envelope]) -> None:
        self.offered.append(list(envelopes))
        if self.fail_next > 0:
            self.fail_next -= 1
            self.failed.append(list(envelopes))
            raise RuntimeError("induced handler failure")
        self.handled.extend(envelopes)

    def handled_ids(self) -> set[str]:
        return {e.message_id for e in self.handled}


@dataclass
class Harness:
    """One started transport with a recorder and a topic per scenario."""

    transport: BrokerTransport
    url: str
    run_id: str
    topics: dict[str, str]
    recorders: dict[str, Recorder]


class TransportContract:
    """Abstract testcase: subclass it per broker (the name keeps pytest from collecting it)."""

    max_batch: ClassVar[int] = 50

    def make_transport(self, url: str, run_id: str) -> BrokerTransport:
        raise NotImplementedError

    def closed_transport(self) -> BrokerTransport:
        """A transport pointed at a loopback port nobody listens on."""
        raise NotImplementedError

    async def publish_raw(self, harness: Harness, topic: str, data: bytes, key: str) -> None:
        """Put `data` on `topic` with the bare client (same `key`), bypassing the codec."""
        raise NotImplementedError

    async def cleanup(self, harness: Harness) -> None:
        """Remove what the run declared on a shared broker."""

    @pytest.fixture(scope="class")
    @classmethod
    def broker_url(cls) -> str:
        raise NotImplementedError

    @pytest_asyncio.fixture(scope="class", loop_scope="session")
    @classmethod
    async def harness(cls, broker_url: str) -> AsyncIterator[Harness]:
        contract = cls()
        run_id = uuid.uuid4().hex[:10]
        transport = contract.make_transport(broker_url, run_id)
        topics = {name: f"contract.{name}.{run_id}" for name in SCENARIOS}
        recorders = {name: Recorder() for name in SCENARIOS}
        for name in SCENARIOS:
            transport.subscribe(
                topics[name],
                group=f"test-{run_id}",
                handler=recorders[name],
                max_batch=cls.max_batch,
            )
        await transport.start()
        harness = Harness(transport, broker_url, run_id, topics, recorders)
        try:
            yield harness
        finally:
            await transport.aclose()
            await contract.cleanup(harness)

    async def test_a_published_batch_arrives_intact(self, harness: Harness) -> None:
        topic, recorder = harness.topics["intact"], harness.recorders["intact"]
        sent = [make_envelope(n, key=f"9131000{n % 5:011d}") for n in range(120)]

        await harness.transport.publish([(topic, e) for e in sent])

        await wait_until(lambda: len(recorder.handled) >= len(sent), what="all 120 envelopes")
        received = {e.message_id: e for e in recorder.handled}
        assert received == {e.message_id: e for e in sent}
        assert received[sent[7].message_id].body["amount"] == "12345.67"
        assert received[sent[7].message_id].headers == sent[7].headers

    async def test_one_keys_messages_arrive_in_publish_order(self, harness: Harness) -> None:
        topic, recorder = harness.topics["order"], harness.recorders["order"]
        keys = ("91310000AAAAAAAAA1", "91310000BBBBBBBBB2", "91310000CCCCCCCCC3")
        sent = [make_envelope(n, key=keys[n % 3]) for n in range(300)]

        for start in range(0, len(sent), 100):  # several publish calls, as a relay makes them
            await harness.transport.publish([(topic, e) for e in sent[start : start + 100]])

        await wait_until(lambda: len(recorder.handled) >= len(sent), what="all 300 envelopes")
        for key in keys:
            got = [e.body["seq"] for e in recorder.handled if e.key == key]
            assert got == [e.body["seq"] for e in sent if e.key == key]

    async def test_a_batch_whose_handler_raises_is_delivered_again(self, harness: Harness) -> None:
        topic, recorder = harness.topics["retry"], harness.recorders["retry"]
        recorder.fail_next = 1
        sent = [make_envelope(n) for n in range(20)]

        await harness.transport.publish([(topic, e) for e in sent])

        await wait_until(
            lambda: recorder.handled_ids() >= {e.message_id for e in sent},
            what="every envelope handled after the induced failure",
        )
        assert len(recorder.failed) == 1
        assert {e.message_id for e in recorder.failed[0]} <= recorder.handled_ids()

    async def test_undecodable_bytes_do_not_stop_the_consumer(self, harness: Harness) -> None:
        topic, recorder = harness.topics["poison"], harness.recorders["poison"]
        before = harness.transport.undecodable.count
        good = [make_envelope(n) for n in range(3)]

        await harness.transport.publish([(topic, good[0])])
        await self.publish_raw(harness, topic, b"\xff\xfe not json at all", DEFAULT_KEY)
        await self.publish_raw(harness, topic, b'{"message_id": "half"}', DEFAULT_KEY)
        await harness.transport.publish([(topic, e) for e in good[1:]])

        await wait_until(lambda: len(recorder.handled) >= len(good), what="the good envelopes")
        assert [e.message_id for e in recorder.handled] == [e.message_id for e in good]
        assert harness.transport.undecodable.count == before + 2

    async def test_ping_succeeds_while_the_broker_is_up(self, harness: Harness) -> None:
        await harness.transport.ping()

    async def test_publishing_nothing_is_a_no_op(self, harness: Harness) -> None:
        await harness.transport.publish([])

    async def test_ping_fails_cleanly_on_a_closed_port(self) -> None:
        transport = self.closed_transport()
        started = time.monotonic()
        try:
            with pytest.raises(DeliveryError) as caught:
                await transport.ping()
        finally:
            await transport.aclose()
        assert caught.value.__cause__ is not None
        assert time.monotonic() - started < 10


def closed_port() -> int:
    """A loopback port with no listener (a connection attempt is refused at once)."""
    return free_port()
