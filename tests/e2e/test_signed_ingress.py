"""Signed ERP pushes (FACTORHUB_INGRESS_AUTH=on): a tenant's signed push is stored as that
tenant's; every forged, stale, replayed, unsigned or cross-tenant push is refused 401/403
naming the header or field, stores nothing, and is recorded in the audit trail."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from hub.app import Hub, utc_now
from hub.config import Settings
from hub.ingress import create_app
from hub.persistence import Database, UnitOfWorkFactory
from hub.persistence.tables import AuditActionRow, DocumentRow, OutboxRow, RequestRow
from hub.persistence.tenants import add_tenant, claim_nonce, new_secret, rotate_key
from hub.security import sm2
from hub.security.gm import hmac_sm3
from hub.security.ingress_auth import string_to_sign
from simulators.erp.dataset import generate_companies, generate_invoices
from simulators.erp.payloads import render
from simulators.erp.pusher import TenantCredentials, push_cases

COMPANIES = generate_companies(3, sellers=2, buyers=2)
CASES = generate_invoices(3, 20, COMPANIES, {})
KINGDEE = next(c for c in CASES if c.vendor == "kingdee")
OTHER_SELLER = next(
    c for c in CASES if c.vendor == "kingdee" and c.seller.uscc != KINGDEE.seller.uscc
)
PATH = "/v1/erp/kingdee/invoices"


@pytest.fixture
async def signed(sqlite_url):
    """A hub with signed ingress on and tenant `acme` (HMAC-SM3) owning KINGDEE's seller."""
    settings = replace(Settings.from_env({}), database_url=sqlite_url, ingress_auth="on")
    async with Hub(settings, consume=False) as hub:
        secret = new_secret()
        async with hub.units() as uow:
            tenant = await add_tenant(
                uow.session,
                tenant_id="acme",
                name="Acme ERP",
                sellers=[KINGDEE.seller.uscc],
                scheme="hmac-sm3",
                key=secret,
                now=hub.clock(),
            )
            await uow.commit()
        transport = httpx.ASGITransport(app=create_app(hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            yield hub, client, TenantCredentials("acme", tenant.key_id, secret)


def _headers(
    credentials: TenantCredentials,
    body: bytes,
    *,
    path: str = PATH,
    at: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Signed with the hub's own `string_to_sign`, independently of the simulator's code."""
    stamp = str(int(time.time() if at is None else at))
    nonce = nonce or secrets.token_hex(12)
    text = string_to_sign("POST", path, stamp, nonce, body)
    mac = hmac_sm3(bytes.fromhex(credentials.secret_hex), text)
    return {
        "X-FH-Tenant": credentials.tenant,
        "X-FH-Timestamp": stamp,
        "X-FH-Nonce": nonce,
        "X-FH-Key-Id": credentials.key_id,
        "X-FH-Signature": base64.b64encode(mac).decode(),
    }


async def _stored(hub: Hub) -> tuple[int, int, int]:
    async with hub.units() as uow:
        counts = [
            await uow.session.scalar(select(func.count()).select_from(table))
            for table in (RequestRow, OutboxRow, DocumentRow)
        ]
    return (int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0))


async def _refusals(hub: Hub) -> list[tuple[str, str, str | None, str | None]]:
    async with hub.units() as uow:
        rows = (
            await uow.session.execute(
                select(AuditActionRow).where(AuditActionRow.action == "ingress.refused")
            )
        ).scalars()
        return [(r.actor, r.action, r.to_state, r.details) for r in rows]


async def test_a_correctly_signed_push_is_accepted_as_the_signing_tenants(signed):
    hub, client, credentials = signed
    body = render(KINGDEE)
    response = await client.post(
        PATH,
        content=body,
        headers={**_headers(credentials, body), "X-FactorHub-Tenant": "someone-else"},
    )
    assert response.status_code == 202, response.text
    status = (await client.get(response.json()["links"]["self"])).json()
    assert status["tenant"] == "acme"
    assert await _stored(hub) == (1, 1, 0)
    assert await _refusals(hub) == []


class TestRefusals:
    async def _refused(self, hub, client, headers, body, status, field):
        response = await client.post(PATH, content=body, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["field"] == field
        assert await _stored(hub) == (0, 0, 0)
        (refusal,) = await _refusals(hub)
        assert refusal[2] == str(status)
        assert refusal[3] is not None
        assert refusal[3].startswith(field)
        return refusal

    async def test_a_forged_signature_is_refused_401(self, signed):
        hub, client, credentials = signed
        body = render(KINGDEE)
        headers = _headers(credentials, body)
        headers["X-FH-Signature"] = base64.b64encode(b"\x00" * 32).decode()
        actor, *_ = await self._refused(hub, client, headers, body, 401, "X-FH-Signature")
        assert actor == "acme"

    async def test_a_push_signed_with_the_wrong_key_is_refused_401(self, signed):
        hub, client, credentials = signed
        body = render(KINGDEE)
        headers = _headers(replace(credentials, secret_hex=new_secret()), body)
        await self._refused(hub, client, headers, body, 401, "X-FH-Signature")

    async def test_a_body_other_than_the_signed_one_is_refused_401(self, signed):
        hub, client, credentials = signed
        headers = _headers(credentials, render(KINGDEE))
        await self._refused(hub, client, headers, render(OTHER_SELLER), 401, "X-FH-Signature")

    async def test_an_unknown_tenant_is_refused_401(self, signed):
        hub, client, credentials = signed
        body = render(KINGDEE)
        headers = _headers(replace(credentials, tenant="nobody"), body)
        actor, *_ = await self._refused(hub, client, headers, body, 401, "X-FH-Signature")
        assert actor == "nobody"

    async def test_an_unsigned_push_is_refused_401_as_anonymous(self, signed):
        hub, client, _ = signed
        body = render(KINGDEE)
        actor, *_ = await self._refused(hub, client, {}, body, 401, "X-FH-Tenant")
        assert actor == "anonymous"

    @pytest.mark.parametrize("offset", [-301, 301])
    async def test_an_expired_or_future_timestamp_is_refused_401(self, signed, offset):
        hub, client, credentials = signed
        body = render(KINGDEE)
        headers = _headers(credentials, body, at=time.time() + offset)
        await self._refused(hub, client, headers, body, 401, "X-FH-Timestamp")

    async def test_a_seller_the_tenant_does_not_own_is_refused_403(self, signed):
        hub, client, credentials = signed
        body = render(OTHER_SELLER)
        headers = _headers(credentials, body)
        await self._refused(hub, client, headers, body, 403, "invoice.seller.uscc")

    async def test_a_seller_the_tenant_does_not_own_is_refused_403_on_ingest_too(self, signed):
        hub, client, credentials = signed
        body = render(OTHER_SELLER)
        path = "/v1/ingest/kingdee"
        response = await client.post(
            path, content=body, headers=_headers(credentials, body, path=path)
        )
        assert response.status_code == 403, response.text
        assert response.json()["field"] == "invoice.seller.uscc"
        assert await _stored(hub) == (0, 0, 0)


async def test_a_replayed_nonce_is_refused_401_and_stores_nothing_more(signed):
    hub, client, credentials = signed
    body = render(KINGDEE)
    headers = _headers(credentials, body)
    assert (await client.post(PATH, content=body, headers=headers)).status_code == 202
    replay = await client.post(PATH, content=body, headers=headers)
    assert replay.status_code == 401
    assert replay.json()["field"] == "X-FH-Nonce"
    assert await _stored(hub) == (1, 1, 0)
    assert [r[2] for r in await _refusals(hub)] == ["401"]


async def test_a_signed_document_is_ingested_as_the_signing_tenants(signed):
    _hub, client, credentials = signed
    body = render(KINGDEE)
    path = "/v1/ingest/kingdee"
    response = await client.post(path, content=body, headers=_headers(credentials, body, path=path))
    assert response.status_code == 202, response.text
    status = (await client.get(response.json()["links"]["self"])).json()
    assert status["tenant"] == "acme"


async def test_after_rotation_the_old_key_verifies_within_grace_and_the_new_one_too(signed):
    hub, client, old = signed
    new_secret_hex = new_secret()
    async with hub.units() as uow:
        rotated = await rotate_key(uow.session, "acme", key=new_secret_hex, now=hub.clock())
        await uow.commit()
    assert rotated is not None
    new = TenantCredentials("acme", rotated.key_id, new_secret_hex)
    for credentials, case in ((old, KINGDEE), (new, KINGDEE)):
        body = render(case)
        response = await client.post(PATH, content=body, headers=_headers(credentials, body))
        assert response.status_code == 202, response.text


async def test_an_sm2_tenants_signed_push_is_accepted(signed):
    hub, client, _ = signed
    private = sm2.Sm2PrivateKey.generate()
    async with hub.units() as uow:
        tenant = await add_tenant(
            uow.session,
            tenant_id="sm2-erp",
            name="SM2 ERP",
            sellers=[KINGDEE.seller.uscc],
            scheme="sm2",
            key=private.public_key.pem,
            now=hub.clock(),
        )
        await uow.commit()
    body, stamp, nonce = render(KINGDEE), str(int(time.time())), secrets.token_hex(12)
    signature = sm2.sign(private, string_to_sign("POST", PATH, stamp, nonce, body))
    headers = {
        "X-FH-Tenant": "sm2-erp",
        "X-FH-Timestamp": stamp,
        "X-FH-Nonce": nonce,
        "X-FH-Key-Id": tenant.key_id,
        "X-FH-Signature": base64.b64encode(signature).decode(),
    }
    response = await client.post(PATH, content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert (await client.get(response.json()["links"]["self"])).json()["tenant"] == "sm2-erp"


async def test_the_simulator_pushers_signatures_are_accepted_by_the_hub(signed):
    hub, client, credentials = signed
    own = [c for c in CASES if c.seller.uscc == KINGDEE.seller.uscc][:4]
    assert {c.vendor for c in own} == {"kingdee", "yonyou"}  # both ERP endpoints signed
    results = await push_cases("http://hub", own, client=client, credentials=credentials)
    assert [r.status_code for r in results] == [202] * len(own), [r.body for r in results]
    assert await _refusals(hub) == []


async def test_the_simulator_pusher_without_credentials_is_refused(signed):
    _, client, _ = signed
    results = await push_cases("http://hub", [KINGDEE], client=client)
    assert results[0].status_code == 401


async def test_the_nonce_store_refuses_a_reuse_and_forgets_after_ten_minutes(database_url):
    """On SQLite and PostgreSQL: a duplicate leaves the transaction usable (a savepoint)."""
    database = Database(database_url)
    await database.upgrade()
    now = utc_now()
    units = UnitOfWorkFactory(database, lambda: now)
    try:
        async with units() as uow:
            assert await claim_nonce(uow.session, "acme", "n" * 16, now)
            assert not await claim_nonce(uow.session, "acme", "n" * 16, now)
            assert await claim_nonce(uow.session, "other", "n" * 16, now)
            await uow.commit()
        async with units() as uow:
            assert not await claim_nonce(uow.session, "acme", "n" * 16, now)
            later = now + timedelta(minutes=10, seconds=1)
            assert await claim_nonce(uow.session, "acme", "n" * 16, later)
            await uow.commit()
    finally:
        await database.aclose()
