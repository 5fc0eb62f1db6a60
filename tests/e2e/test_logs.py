"""A real `factorhub serve` writes JSON lines only; the lines written while it handles an
invoice carry that invoice's trace id; a password planted in a partner's URL never shows."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from hub.app import utc_now
from hub.demo import facility_terms
from hub.operations import open_facilities
from hub.persistence import Database, UnitOfWorkFactory
from simulators.erp.dataset import Companies, generate_companies, generate_invoices
from simulators.erp.payloads import hub_path, render
from tests.e2e.processes import HubProcess, SimulatorProcess
from tests.e2e.stack import until_state

pytestmark = pytest.mark.slow

SEED = 41
PASSWORD = "planted-Pa55"
FIELDS = {"timestamp", "level", "logger", "message", "trace_id", "span_id"}


async def _open_facilities(database_url: str, companies: Companies) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        await open_facilities(
            UnitOfWorkFactory(database, utc_now), facility_terms(companies.sellers, one_small=False)
        )
    finally:
        await database.aclose()


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"hub:{PASSWORD}@{parts.netloc}").geturl()


async def test_a_served_invoice_leaves_json_lines_carrying_its_trace_and_no_secret(
    tmp_path: Path,
):
    companies = generate_companies(SEED, sellers=2, buyers=2)
    case = generate_invoices(SEED, 1, companies)[0]
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await _open_facilities(database_url, companies)
    sims = SimulatorProcess(tmp_path, SEED)
    registry, bank = sims.urls["registry"]["base_url"], sims.urls["bank"]["base_url"]
    hub = HubProcess(
        {
            "FACTORHUB_DATABASE_URL": database_url,
            "FACTORHUB_REGISTRY_URL": registry,
            "FACTORHUB_BANK_URL": _with_password(bank),
            "FACTORHUB_OTEL_EXPORTERS": "local",
            "FACTORHUB_LOG_LEVEL": "info",
        },
        tmp_path / "hub.log",
    )
    hub.env.pop("FACTORHUB_LOG_FORMAT", None)  # serve's own default: json
    trace_id = secrets.token_hex(16)
    try:
        await asyncio.to_thread(hub.start)
        async with httpx.AsyncClient(base_url=hub.url, timeout=10) as client:
            pushed = await client.post(
                hub_path(case),
                content=render(case),
                headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
            )
            assert pushed.status_code == 202, pushed.text
            await until_state(client, pushed.json()["request_id"], "DISBURSED", timeout_s=60)
    finally:
        hub.stop()
        sims.stop()

    text = (tmp_path / "hub.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    for line in lines:
        assert set(line) >= FIELDS, line
    assert any(line["logger"] == "uvicorn.error" for line in lines), "uvicorn's lines are JSON"
    ours = [line for line in lines if line["trace_id"] == trace_id]
    partner_calls = [str(line["message"]) for line in ours if line["logger"] == "httpx"]
    assert any(urlsplit(registry).netloc in call for call in partner_calls), partner_calls
    assert any(urlsplit(bank).netloc in call for call in partner_calls), partner_calls
    assert all(len(str(line["span_id"])) == 16 for line in ours)
    assert PASSWORD not in text
    for company in (*companies.sellers, *companies.buyers):
        assert company.bank_account not in text
