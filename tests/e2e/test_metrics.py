"""`GET /metrics` parses with the Prometheus text-format parser and moves when traffic flows:
per route, per topic, per partner, and the database's outbox, dead letters and states."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from canonical import FinancingState
from hub.operations import replay
from observability.metrics import CONTENT_TYPE
from routes.flow import ROUTES
from simulators.erp.dataset import generate_invoices
from simulators.erp.pusher import push_cases
from tests.e2e.processes import ROOT, free_port, wait_http
from tests.e2e.stack import SEED, Stack, running_stack

GROUP = {r.topic: r.group for r in ROUTES}
"""Each topic's consumer group."""

Scrape = dict[str, list[Sample]]


async def _scrape(url: str) -> Scrape:
    """`GET {url}/metrics`, read back by the reference parser: family name -> samples."""
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == CONTENT_TYPE
    return {f.name: list(f.samples) for f in text_string_to_metric_families(answer.text)}


def _total(scrape: Scrape, sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels` (0: none)."""
    family = sample
    for suffix in ("_total", "_count", "_sum", "_bucket"):
        family = family.removesuffix(suffix)
    return sum(
        s.value
        for s in scrape.get(family, [])
        if s.name == sample and labels.items() <= s.labels.items()
    )


def _route(topic: str) -> dict[str, str]:
    return {"messaging_destination_name": topic, "messaging_consumer_group_name": GROUP[topic]}


async def _push(stack: Stack, seed: int, count: int) -> None:
    results = await push_cases(
        stack.ingress_url, generate_invoices(seed, count, stack.companies, {})
    )
    assert [r.status_code for r in results] == [202] * count


async def test_metrics_move_per_route_topic_and_partner_as_invoices_flow_to_the_bank(tmp_path):
    async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") as stack:
        before = await _scrape(stack.ingress_url)
        await _push(stack, SEED + 41, 3)
        counts = await stack.settle(3)
        after = await _scrape(stack.ingress_url)
    assert counts.by_state.get("DISBURSED", 0) >= 1
    consumed = "messaging_client_consumed_messages_total"
    for topic in ("financing.submitted", "financing.matched", "payment.reported"):
        assert _total(before, consumed, **_route(topic)) == 0
        assert _total(after, consumed, **_route(topic)) >= counts.by_state["DISBURSED"]
    assert _total(after, consumed, **_route("financing.submitted")) == 3
    processed = "messaging_process_duration_seconds"
    for topic in ("financing.submitted", "disbursement.requested", "payment.reported"):
        labels = {**_route(topic), "messaging_system": "embedded"}
        assert _total(after, f"{processed}_count", **labels) >= 1
        assert _total(after, f"{processed}_sum", **labels) > 0
    sent = "messaging_client_sent_messages_total"
    assert _total(after, sent, messaging_destination_name="financing.matched") >= 1
    assert _total(after, "messaging_client_operation_duration_seconds_count") >= 1
    calls = "http_client_request_duration_seconds_count"
    for peer in ("registry", "bank"):
        assert _total(before, calls, factorhub_peer=peer) == 0
        assert _total(after, calls, factorhub_peer=peer, http_response_status_code="200") >= 1
    for state in FinancingState:  # every state, 0 where there is none
        figure = _total(after, "factorhub_applications", factorhub_state=state.value)
        assert figure == counts.by_state.get(state.value, 0), state
    assert _total(before, "factorhub_applications", factorhub_state="DISBURSED") == 0
    assert _total(after, "factorhub_outbox_unpublished") == 0
    assert _total(after, "factorhub_outbox_lag_seconds") == 0
    assert len(after["factorhub_dead_letters"]) == len(ROUTES)
    assert _total(after, "factorhub_dead_letters") == 0
    assert _total(after, "factorhub_route_errors_total") == 0


async def test_a_failing_partner_shows_as_errors_retries_and_dead_letters_until_replayed(
    tmp_path,
):
    async with running_stack(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") as stack:
        registry = stack.sims["registry"].admin_url
        async with httpx.AsyncClient(base_url=registry) as admin:
            assert (await admin.put("/faults", json={"error_rate": 1})).status_code == 200
        await _push(stack, SEED + 42, 2)
        counts = await stack.settle(2, or_dead_lettered=True)
        failing = await _scrape(stack.ingress_url)
        async with httpx.AsyncClient(base_url=registry) as admin:
            assert (await admin.put("/faults", json={})).status_code == 200
        await replay(stack.hub.units, None)
        healed = await stack.settle(2)
        after = await _scrape(stack.ingress_url)
    assert counts.dead_letters >= 1
    route = _route("financing.limit-reserved")
    errors = "factorhub_route_errors_total"
    assert _total(failing, errors, **route, error_type="TransientError") >= 4 * counts.dead_letters
    assert _total(failing, "factorhub_retries_total", **route) >= 3
    group = {"messaging_consumer_group_name": "register-receivable"}
    assert _total(failing, "factorhub_dead_letters", **group) == counts.dead_letters
    failed_batches = {**route, "error_type": "TransientError"}
    assert _total(failing, "messaging_process_duration_seconds_count", **failed_batches) >= 1
    refused = {"factorhub_peer": "registry", "error_type": "503"}
    assert _total(failing, "http_client_request_duration_seconds_count", **refused) >= 4
    assert healed.dead_letters == 0
    assert _total(after, "factorhub_dead_letters", **group) == 0
    disbursed = _total(after, "factorhub_applications", factorhub_state="DISBURSED")
    assert disbursed == healed.by_state.get("DISBURSED", 0) >= 1


def test_a_worker_serves_its_metrics_on_the_metrics_port_and_stops_on_sigterm(tmp_path):
    port = free_port()
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "worker",
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
            "--metrics-port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics")
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics")
        missing = httpx.get(f"http://127.0.0.1:{port}/v1/requests/x")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr.decode()
    assert answer.headers["content-type"] == CONTENT_TYPE
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert families["factorhub_applications"].type == "gauge"
    states = {s.labels["factorhub_state"] for s in families["factorhub_applications"].samples}
    assert states == {s.value for s in FinancingState}
    assert missing.status_code == 404
