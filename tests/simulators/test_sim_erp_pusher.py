import json
import socket
import time

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render
from simulators.erp.pusher import push_cases

CASES = generate_invoices(4, 6, generate_companies(4))


def _hub(fail_first: int = 0):
    """A stand-in hub that deduplicates by document and can fail the first N requests."""
    app = FastAPI()
    seen: dict[str, bytes] = {}
    calls: list[str] = []

    @app.post("/v1/erp/{vendor}/invoices")
    async def receive(vendor: str, request: Request):
        body = await request.body()
        calls.append(vendor)
        if len(calls) <= fail_first:
            return JSONResponse({"error": "busy"}, 503)
        data = json.loads(body)
        key = data["data"]["code"] if vendor == "yonyou" else json.dumps(data["data"])
        duplicate = key in seen
        seen[key] = body
        return JSONResponse({"accepted": True, "duplicate": duplicate}, 200 if duplicate else 202)

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")
    return client, seen, calls


async def test_each_case_is_posted_to_its_vendor_endpoint_in_order():
    client, seen, _ = _hub()
    async with client:
        results = await push_cases("http://hub", CASES, client=client)
    assert [r.case_id for r in results] == [c.case_id for c in CASES]
    assert all(r.status_code == 202 and r.ok for r in results)
    assert results[0].url == "http://hub/v1/erp/kingdee/invoices"
    assert results[1].url == "http://hub/v1/erp/yonyou/invoices"
    assert sorted(seen.values()) == sorted(render(c) for c in CASES)
    assert results[0].body == {"accepted": True, "duplicate": False}


async def test_server_errors_are_retried_with_the_same_bytes():
    client, _, calls = _hub(fail_first=3)
    async with client:
        results = await push_cases(
            "http://hub", CASES[:2], client=client, concurrency=1, backoff_s=0.001
        )
    assert [r.status_code for r in results] == [202, 202]
    assert [r.attempts for r in results] == [4, 1]
    assert len(calls) == 5


async def test_a_server_error_beyond_the_retries_is_reported_not_raised():
    client, _, _ = _hub(fail_first=100)
    async with client:
        results = await push_cases("http://hub", CASES[:1], client=client, retries=2, backoff_s=0)
    assert results[0].status_code == 503
    assert results[0].attempts == 3
    assert not results[0].ok


async def test_connection_errors_are_retried_then_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    results = await push_cases(f"http://127.0.0.1:{port}", CASES[:1], retries=1, backoff_s=0.001)
    assert results[0].status_code is None
    assert results[0].attempts == 2
    assert "ConnectError" in (results[0].error or "")


async def test_rate_limit_spaces_the_requests():
    client, _, _ = _hub()
    started = time.monotonic()
    async with client:
        await push_cases("http://hub", CASES[:5], client=client, rate=25)
    assert time.monotonic() - started >= 4 / 25 - 0.01
