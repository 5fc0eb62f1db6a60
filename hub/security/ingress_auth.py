"""Signed ERP pushes: who sent a push, and whether its signature, timestamp and nonce hold.

Every signed push carries five headers:

| header | meaning |
|---|---|
| X-FH-Tenant | the tenant id (`factorhub tenants add --id`) |
| X-FH-Timestamp | unix seconds when it was signed; refused more than 5 minutes off our clock |
| X-FH-Nonce | 16-64 characters `[A-Za-z0-9_-]`, never sent twice by one tenant |
| X-FH-Key-Id | which of the tenant's keys signed it (the current one, or the previous one while
its rotation grace lasts) |
| X-FH-Signature | base64 of the HMAC-SM3 (32 bytes) or the SM2 signature (DER, default user id) |

over the string to sign (UTF-8, lines joined by `\\n`, no trailing newline):

    METHOD          upper case, e.g. POST
    PATH?QUERY      the path as sent, `?QUERY` only when there is a query
    TIMESTAMP       the header's value
    NONCE           the header's value
    hex(SM3(body))  64 lower-case hex digits, of the exact body bytes (also when empty)

This module is pure: the tenant's keys are handed in (`hub.persistence.tenants`), the nonce is
claimed by the caller after the push proved genuine (so a forger cannot burn a tenant's nonces).
Every refusal is an `IngressRefused` naming the header (or document field) at fault.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hub.security import sm2
from hub.security.gm import equal, hmac_sm3, sm3

__all__ = [
    "HEADERS",
    "MAX_SKEW",
    "Claim",
    "IngressRefused",
    "Scheme",
    "TenantKey",
    "authenticate",
    "claim_of",
    "require_seller",
    "string_to_sign",
]

Scheme = Literal["hmac-sm3", "sm2"]
TENANT, TIMESTAMP, NONCE, KEY_ID, SIGNATURE = (
    "X-FH-Tenant",
    "X-FH-Timestamp",
    "X-FH-Nonce",
    "X-FH-Key-Id",
    "X-FH-Signature",
)
HEADERS: tuple[str, ...] = (TENANT, TIMESTAMP, NONCE, KEY_ID, SIGNATURE)
MAX_SKEW = timedelta(minutes=5)
"""A push signed longer ago than this (or this far ahead of our clock) is refused: a captured
push cannot be replayed after the nonces it could collide with are pruned."""
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class IngressRefused(Exception):
    """A push refused before anything is stored: 401 (who sent it is not proven) or 403 (the
    sender may not submit this document); `field` names the header or document field."""

    def __init__(self, status: Literal[401, 403], field: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.field = field
        self.reason = reason

    def body(self) -> dict[str, object]:
        """The JSON answer."""
        error = "unauthenticated" if self.status == 401 else "forbidden"
        return {"error": error, "field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Claim:
    """What the headers claim, shape-checked; nothing proven yet."""

    tenant: str
    timestamp: int
    nonce: str
    key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class TenantKey:
    """One key a tenant may sign with: the HMAC secret (hex) or the SM2 public key (PEM or
    128 hex digits), per the tenant's scheme."""

    key_id: str
    material: str


def string_to_sign(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes the signature covers; `target` is `PATH` or `PATH?QUERY` as sent."""
    lines = (method.upper(), target, timestamp, nonce, sm3(body).hex())
    return "\n".join(lines).encode()


def claim_of(headers: Mapping[str, str]) -> Claim:
    """The five headers, each present and well-formed, else 401 naming the first at fault."""
    tenant = headers.get(TENANT.lower(), "").strip()
    if not tenant or len(tenant) > 64:
        raise IngressRefused(401, TENANT, "missing or longer than 64 characters")
    stamp = headers.get(TIMESTAMP.lower(), "").strip()
    if not _TIMESTAMP.fullmatch(stamp):
        raise IngressRefused(401, TIMESTAMP, "missing or not unix seconds")
    nonce = headers.get(NONCE.lower(), "").strip()
    if not _NONCE.fullmatch(nonce):
        raise IngressRefused(401, NONCE, "missing or not 16-64 characters [A-Za-z0-9_-]")
    key_id = headers.get(KEY_ID.lower(), "").strip()
    if not key_id or len(key_id) > 64:
        raise IngressRefused(401, KEY_ID, "missing or longer than 64 characters")
    try:
        signature = base64.b64decode(headers.get(SIGNATURE.lower(), ""), validate=True)
    except (binascii.Error, ValueError):
        raise IngressRefused(401, SIGNATURE, "not base64") from None
    if not signature:
        raise IngressRefused(401, SIGNATURE, "missing")
    return Claim(tenant, int(stamp), nonce, key_id, signature)


def authenticate(
    claim: Claim,
    *,
    scheme: Scheme | None,
    keys: tuple[TenantKey, ...],
    method: str,
    target: str,
    body: bytes,
    now: datetime,
) -> None:
    """Refuse (401) unless the claim is fresh and signed by one of `keys` (the tenant's usable
    keys; `scheme` None: no such tenant, refused like a bad signature so that probing tells
    nothing of which tenants exist)."""
    signed_at = claim.timestamp
    if signed_at < (now - MAX_SKEW).timestamp():
        raise IngressRefused(401, TIMESTAMP, "older than 5 minutes")
    if signed_at > (now + MAX_SKEW).timestamp():
        raise IngressRefused(401, TIMESTAMP, "more than 5 minutes in the future")
    key = next((k for k in keys if k.key_id == claim.key_id), None)
    if scheme is None or key is None:
        raise IngressRefused(401, SIGNATURE, "unknown tenant or key id")
    message = string_to_sign(method, target, str(claim.timestamp), claim.nonce, body)
    if not _verifies(scheme, key.material, message, claim.signature):
        raise IngressRefused(401, SIGNATURE, "signature does not verify")


def require_seller(owned: frozenset[str], seller: str | None, field: str) -> None:
    """Refuse (403) a document whose seller the tenant does not own (or that names none)."""
    if seller is None:
        raise IngressRefused(403, field, "the document names no seller this tenant owns")
    if seller not in owned:
        raise IngressRefused(403, field, f"seller {seller[:32]} is not one of this tenant's")


def _verifies(scheme: Scheme, material: str, message: bytes, signature: bytes) -> bool:
    if scheme == "hmac-sm3":
        return equal(hmac_sm3(bytes.fromhex(material), message), signature)
    text = material.strip()
    pem = text.startswith("-----")
    public = sm2.Sm2PublicKey.from_pem(text) if pem else sm2.Sm2PublicKey.from_hex(text)
    return sm2.verify(public, message, signature)
