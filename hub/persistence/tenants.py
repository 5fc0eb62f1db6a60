"""The tenants table and the nonce store behind signed ingress (`hub.security.ingress_auth`).

Functions over the caller's session, so that adding a tenant or claiming a nonce commits (or
not) with whatever else the caller does. Secrets stay in `Tenant.keys`; `Tenant`'s repr and
`TenantSummary` never show them.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from hub.persistence.tables import IngressNonceRow, TenantRow, table_of
from hub.security.ingress_auth import Scheme, TenantKey

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "DEFAULT_GRACE",
    "NONCE_RETENTION",
    "Tenant",
    "TenantExists",
    "add_tenant",
    "claim_nonce",
    "get_tenant",
    "list_tenants",
    "new_key_id",
    "new_secret",
    "rotate_key",
]

DEFAULT_GRACE = timedelta(hours=24)
"""How long a rotated-out key keeps verifying: the ERP connector's operators have a day to
install the new one."""
NONCE_RETENTION = timedelta(minutes=10)
"""Twice the timestamp window: a push whose nonce is pruned is stale by then anyway."""


class TenantExists(Exception):
    """`add_tenant` with an id already taken."""


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant as the ingress needs it: who, which sellers, which keys verify now."""

    id: str
    name: str
    sellers: frozenset[str]
    scheme: Scheme
    key_id: str
    created_at: datetime
    rotated_at: datetime | None
    previous_key_id: str | None
    previous_expires_at: datetime | None
    keys_all: tuple[TenantKey, ...] = field(repr=False)
    """Current key first, then the previous one (whatever its expiry): see `keys`."""

    def keys(self, now: datetime) -> tuple[TenantKey, ...]:
        """The keys that verify at `now`: the current one, and the previous within its grace."""
        current = self.keys_all[:1]
        expires = self.previous_expires_at
        if expires is not None and now < expires:
            return current + self.keys_all[1:]
        return current


def new_secret() -> str:
    """A fresh HMAC-SM3 key: 32 random bytes, hex (the block is 64 bytes; 32 is SM3's size)."""
    return secrets.token_hex(32)


def new_key_id(now: datetime) -> str:
    """A key id that says when the key was made and cannot collide with the one it replaces."""
    return f"k{now:%Y%m%d}-{secrets.token_hex(3)}"


async def add_tenant(
    session: AsyncSession,
    *,
    tenant_id: str,
    name: str,
    sellers: list[str],
    scheme: Scheme,
    key: str,
    now: datetime,
) -> Tenant:
    """Store a new tenant with its first key (TenantExists if the id is taken)."""
    if await session.get(TenantRow, tenant_id) is not None:
        raise TenantExists(tenant_id)
    row = TenantRow(
        id=tenant_id,
        name=name,
        sellers=json.dumps(sorted(set(sellers))),
        scheme=scheme,
        key_id=new_key_id(now),
        key=key,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return _tenant(row)


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    row = await session.get(TenantRow, tenant_id)
    return None if row is None else _tenant(row)


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    rows = (await session.execute(select(TenantRow).order_by(TenantRow.id))).scalars()
    return [_tenant(r) for r in rows]


async def rotate_key(
    session: AsyncSession,
    tenant_id: str,
    *,
    key: str,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
) -> Tenant | None:
    """Make `key` current under a new key id; the old key verifies until `now + grace` (a
    key rotated out earlier is dropped). None: no such tenant."""
    row = await session.get(TenantRow, tenant_id, with_for_update=True)
    if row is None:
        return None
    row.previous_key_id, row.previous_key = row.key_id, row.key
    row.previous_expires_at = now + grace
    row.key_id, row.key, row.rotated_at = new_key_id(now), key, now
    await session.flush()
    return _tenant(row)


async def claim_nonce(session: AsyncSession, tenant: str, nonce: str, now: datetime) -> bool:
    """Record `nonce` for `tenant`; False when it was seen before (the push is a replay).

    Prunes nonces older than NONCE_RETENTION first. The insert runs in a savepoint, so a
    duplicate leaves the caller's transaction usable (PostgreSQL would abort it otherwise)."""
    await session.execute(
        delete(table_of(IngressNonceRow)).where(
            table_of(IngressNonceRow).c.seen_at < now - NONCE_RETENTION
        )
    )
    try:
        async with session.begin_nested():
            await session.execute(
                insert(table_of(IngressNonceRow)).values(tenant=tenant, nonce=nonce, seen_at=now)
            )
    except IntegrityError:
        return False
    return True


def _tenant(row: TenantRow) -> Tenant:
    keys = [TenantKey(row.key_id, row.key)]
    if row.previous_key_id is not None and row.previous_key is not None:
        keys.append(TenantKey(row.previous_key_id, row.previous_key))
    return Tenant(
        id=row.id,
        name=row.name,
        sellers=frozenset(cast(list[str], json.loads(row.sellers))),
        scheme=cast(Scheme, row.scheme),
        key_id=row.key_id,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
        previous_key_id=row.previous_key_id,
        previous_expires_at=row.previous_expires_at,
        keys_all=tuple(keys),
    )
