"""TLS in transit, over real sockets: the ingress speaks TLS 1.3 only (mutual TLS when asked)
and the hub's partner clients trust a partner only through a CA they know."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import trustme
import uvicorn
from sqlalchemy import func, select
from starlette.types import ASGIApp

from canonical import TransientError
from canonical.registry import SearchCertificate
from hub.app import Hub
from hub.config import Settings
from hub.persistence.tables import RequestRow
from hub.security.tls import ingress_context
from hub.serving import running_ingress
from simulators import registry
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render

COMPANIES = generate_companies(5, sellers=1, buyers=1)
KINGDEE = next(c for c in generate_invoices(5, 20, COMPANIES, {}) if c.vendor == "kingdee")


@pytest.fixture(scope="module")
def server_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def erp_ca() -> trustme.CA:
    """The CA that signs the ERP clients' certificates (mutual TLS)."""
    return trustme.CA()


@pytest.fixture
def server_files(server_ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    """The ingress's certificate chain and key, as `factorhub serve` is given them."""
    issued = server_ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    for blob in issued.cert_chain_pems:
        blob.write_to_path(cert, append=True)
    issued.private_key_pem.write_to_path(key)
    return cert, key


@pytest.fixture
async def hub(sqlite_url: str) -> AsyncIterator[Hub]:
    async with Hub(replace(Settings.from_env({}), database_url=sqlite_url), consume=False) as hub:
        yield hub


@asynccontextmanager
async def ingress(
    hub: Hub, files: tuple[Path, Path], client_ca: Path | None = None
) -> AsyncIterator[str]:
    cert, key = files
    tls = ingress_context(cert=cert, key=key, client_ca=client_ca)
    async with running_ingress(hub, tls=tls) as url:
        yield url


def client_context(
    ca: trustme.CA,
    *,
    maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
    identity: trustme.CA | None = None,
) -> ssl.SSLContext:
    """An ERP's client context: trusts `ca`, offers TLS up to `maximum`; with `identity`, it
    presents a client certificate that CA issued."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    context.maximum_version = maximum
    if identity is not None:
        identity.issue_cert("erp@seller.example").configure_cert(context)
    return context


def negotiated(response: httpx.Response) -> str | None:
    ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
    return str(ssl_object.version()) if ssl_object else None


async def test_a_tls_1_3_client_is_served_over_tls_1_3(hub, server_files, server_ca):
    async with (
        ingress(hub, server_files) as url,
        httpx.AsyncClient(base_url=url, verify=client_context(server_ca)) as client,
    ):
        response = await client.get("/healthz")
    assert url.startswith("https://")
    assert response.status_code == 200
    assert negotiated(response) == "TLSv1.3"


async def test_a_tls_1_2_client_is_refused_at_the_handshake(hub, server_files, server_ca):
    tls_1_2 = client_context(server_ca, maximum=ssl.TLSVersion.TLSv1_2)
    tls_1_3 = client_context(server_ca)  # the same trust, one version more
    async with ingress(hub, server_files) as url:
        async with httpx.AsyncClient(base_url=url, verify=tls_1_2) as client:
            with pytest.raises(httpx.ConnectError):  # no connection: the handshake failed
                await client.get("/healthz")
        async with httpx.AsyncClient(base_url=url, verify=tls_1_3) as client:
            assert (await client.get("/healthz")).status_code == 200


async def test_plain_http_gets_no_answer_from_a_tls_ingress(hub, server_files):
    async with ingress(hub, server_files) as url:
        plain = url.replace("https://", "http://")
        async with httpx.AsyncClient(base_url=plain) as client:
            with pytest.raises(httpx.TransportError):
                await client.get("/healthz")


async def test_with_a_client_ca_a_client_without_a_certificate_is_refused(
    hub, server_files, server_ca, erp_ca, tmp_path
):
    async with (
        ingress(hub, server_files, client_ca=_ca_file(erp_ca, tmp_path)) as url,
        httpx.AsyncClient(base_url=url, verify=client_context(server_ca)) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.get("/healthz")


async def test_with_a_client_ca_a_certificate_it_signed_is_accepted(
    hub, server_files, server_ca, erp_ca, tmp_path
):
    erp = client_context(server_ca, identity=erp_ca)
    async with (
        ingress(hub, server_files, client_ca=_ca_file(erp_ca, tmp_path)) as url,
        httpx.AsyncClient(base_url=url, verify=erp) as client,
    ):
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert negotiated(response) == "TLSv1.3"


async def test_with_a_client_ca_a_certificate_from_another_ca_is_refused(
    hub, server_files, server_ca, erp_ca, tmp_path
):
    stranger = client_context(server_ca, identity=trustme.CA())
    async with (
        ingress(hub, server_files, client_ca=_ca_file(erp_ca, tmp_path)) as url,
        httpx.AsyncClient(base_url=url, verify=stranger) as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.post("/v1/erp/kingdee/invoices", content=render(KINGDEE))
    async with hub.units() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(RequestRow)) == 0


async def test_an_erp_push_over_mutual_tls_is_accepted_and_stored(
    hub, server_files, server_ca, erp_ca, tmp_path
):
    erp = client_context(server_ca, identity=erp_ca)
    async with (
        ingress(hub, server_files, client_ca=_ca_file(erp_ca, tmp_path)) as url,
        httpx.AsyncClient(base_url=url, verify=erp) as client,
    ):
        response = await client.post("/v1/erp/kingdee/invoices", content=render(KINGDEE))
        assert response.status_code == 202, response.text
        status = await client.get(response.json()["links"]["self"])
    assert status.json()["state"] == "SUBMITTED"


async def test_a_partner_whose_ca_the_hub_does_not_know_is_refused_then_trusted_with_the_bundle(
    sqlite_url, tmp_path
):
    partner_ca = trustme.CA()  # a bank's private CA: in no public root store
    served = partner_ca.issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.configure_cert(context)
    async with serving_tls(registry.create_app(seed=5), context) as url:
        settings = replace(Settings.from_env({}), database_url=sqlite_url, registry_url=url)
        async with Hub(settings, consume=False) as unaware:
            [refused] = await unaware.services.registry.search_many(["深圳市某某贸易有限公司"])
        assert isinstance(refused, TransientError)  # replayable once the CA is configured
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused)

        trusting = replace(settings, ca_bundle_pem=partner_ca.cert_pem.bytes().decode())
        async with Hub(trusting, consume=False) as aware:
            [found] = await aware.services.registry.search_many(["深圳市某某贸易有限公司"])
        assert isinstance(found, SearchCertificate), found


@asynccontextmanager
async def serving_tls(app: ASGIApp, context: ssl.SSLContext) -> AsyncIterator[str]:
    """A partner over HTTPS on a free loopback port, in this event loop."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="off",
        ssl_context_factory=lambda _config, _default: context,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _ca_file(ca: trustme.CA, directory: Path) -> Path:
    path = directory / "erp-ca.pem"
    ca.cert_pem.write_to_path(path)
    return path
