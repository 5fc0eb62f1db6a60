"""Posts generated cases to the hub the way ERP connectors do: concurrently, paced, retrying.

Retrying is safe because the hub deduplicates by source document; the pusher still resends the
exact same bytes so that deduplication is really exercised.

Given a tenant's credentials (`TenantCredentials`), every attempt is signed the way the hub's
signed ingress requires (FactorHub's `hub.security.ingress_auth`, reimplemented here as an ERP
connector would: this package never imports the hub): HMAC-SM3 with the tenant's secret over
`METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nhex(SM3(body))`, sent base64 in `X-FH-Signature`
with `X-FH-Tenant`, `X-FH-Timestamp` (unix seconds), `X-FH-Nonce` and `X-FH-Key-Id`. Each
attempt gets a fresh timestamp and nonce: the hub refuses a nonce it has seen.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from simulators.erp.dataset import GeneratedCase
from simulators.erp.payloads import hub_path, render

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class TenantCredentials:
    """What `factorhub tenants add` (or `rotate-key`) handed the ERP connection."""

    tenant: str
    key_id: str
    secret_hex: str

    def __repr__(self) -> str:
        return f"TenantCredentials(tenant={self.tenant!r}, key_id={self.key_id!r})"

    def headers(
        self, method: str, target: str, body: bytes, now: float | None = None
    ) -> dict[str, str]:
        """The signing headers for one request; `target` is `PATH` or `PATH?QUERY` as sent."""
        timestamp = str(int(time.time() if now is None else now))
        nonce = secrets.token_urlsafe(24)
        digest = hashlib.new("sm3", body).hexdigest()
        text = "\n".join((method.upper(), target, timestamp, nonce, digest)).encode()
        mac = hmac.new(bytes.fromhex(self.secret_hex), text, "sm3").digest()
        return {
            "X-FH-Tenant": self.tenant,
            "X-FH-Timestamp": timestamp,
            "X-FH-Nonce": nonce,
            "X-FH-Key-Id": self.key_id,
            "X-FH-Signature": base64.b64encode(mac).decode(),
        }


@dataclass(frozen=True)
class PushResult:
    case_id: str
    vendor: str
    url: str
    status_code: int | None  # None when no answer came back at all
    body: object  # parsed JSON, or the raw text when the answer is not JSON
    attempts: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Pacer:
    """Spaces request starts evenly at `rate` per second (no bursts)."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be > 0 invoices per second")
        self._interval = 0.0 if rate is None else 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        await asyncio.sleep(start - now)


async def push_cases(
    base_url: str,
    cases: Sequence[GeneratedCase],
    *,
    concurrency: int = 8,
    rate: float | None = None,
    client: httpx.AsyncClient | None = None,
    retries: int = 3,
    backoff_s: float = 0.2,
    timeout_s: float = 10.0,
    credentials: TenantCredentials | None = None,
) -> list[PushResult]:
    """One result per case, in the order of `cases`; `rate` is in invoices per second;
    `credentials`: sign every push as that tenant."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if retries < 0:
        raise ValueError("retries must be >= 0")
    pacer, gate = _Pacer(rate), asyncio.Semaphore(concurrency)
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout_s)
    root = base_url.rstrip("/")

    async def one(case: GeneratedCase) -> PushResult:
        async with gate:
            url = root + hub_path(case)
            return await _push(http, url, case, pacer, retries, backoff_s, credentials)

    try:
        return list(await asyncio.gather(*(one(case) for case in cases)))
    finally:
        if own:
            await http.aclose()


async def _push(
    http: httpx.AsyncClient,
    url: str,
    case: GeneratedCase,
    pacer: _Pacer,
    retries: int,
    backoff_s: float,
    credentials: TenantCredentials | None = None,
) -> PushResult:
    body = render(case)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    target = httpx.URL(url).raw_path.decode("ascii")
    attempt = 0
    while True:
        attempt += 1
        await pacer.wait()
        if credentials is not None:
            headers.update(credentials.headers("POST", target, body))
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt > retries:
                return PushResult(case.case_id, case.vendor, url, None, None, attempt, repr(exc))
        else:
            if response.status_code not in RETRYABLE_STATUS or attempt > retries:
                return PushResult(
                    case.case_id, case.vendor, url, response.status_code, _body(response), attempt
                )
        await asyncio.sleep(backoff_s * 2 ** (attempt - 1))


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text
