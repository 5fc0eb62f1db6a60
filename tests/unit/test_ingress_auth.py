"""Signed ingress, the pure part: the string to sign, the headers' shapes, HMAC-SM3 and SM2
verification, the timestamp window, the seller check, and which keys verify after a rotation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from hub.persistence.tenants import Tenant
from hub.security import sm2
from hub.security.gm import hmac_sm3, sm3
from hub.security.ingress_auth import (
    Claim,
    IngressRefused,
    Scheme,
    TenantKey,
    authenticate,
    claim_of,
    require_seller,
    string_to_sign,
)

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
SECRET = "11" * 32
BODY = b'{"invoice": 1}'
TARGET = "/v1/erp/kingdee/invoices?requested_amount=10"
NONCE = "n" * 20


def _claim(key: bytes, *, at: datetime = NOW, key_id: str = "k1", nonce: str = NONCE) -> Claim:
    stamp = int(at.timestamp())
    signature = hmac_sm3(key, string_to_sign("POST", TARGET, str(stamp), nonce, BODY))
    return Claim("acme", stamp, nonce, key_id, signature)


def _check(claim: Claim, keys: tuple[TenantKey, ...], scheme: Scheme | None = "hmac-sm3") -> None:
    authenticate(claim, scheme=scheme, keys=keys, method="POST", target=TARGET, body=BODY, now=NOW)


def _refusal(claim: Claim, keys: tuple[TenantKey, ...], scheme: Scheme | None = "hmac-sm3"):
    with pytest.raises(IngressRefused) as caught:
        _check(claim, keys, scheme)
    return caught.value.status, caught.value.field


class TestStringToSign:
    def test_it_is_method_target_timestamp_nonce_and_the_body_digest_on_five_lines(self):
        text = string_to_sign("post", TARGET, "1700000000", NONCE, BODY)
        expected = f"POST\n{TARGET}\n1700000000\n{NONCE}\n{sm3(BODY).hex()}"
        assert text == expected.encode()


class TestHeaders:
    GOOD: ClassVar[dict[str, str]] = {
        "x-fh-tenant": "acme",
        "x-fh-timestamp": "1700000000",
        "x-fh-nonce": NONCE,
        "x-fh-key-id": "k1",
        "x-fh-signature": base64.b64encode(b"sig").decode(),
    }

    def test_well_formed_headers_make_a_claim(self):
        assert claim_of(self.GOOD) == Claim("acme", 1700000000, NONCE, "k1", b"sig")

    @pytest.mark.parametrize(
        ("header", "value"),
        [
            ("x-fh-tenant", ""),
            ("x-fh-timestamp", "yesterday"),
            ("x-fh-nonce", "short"),
            ("x-fh-nonce", "n" * 65),
            ("x-fh-key-id", ""),
            ("x-fh-signature", "not base64!"),
            ("x-fh-signature", ""),
        ],
    )
    def test_a_missing_or_malformed_header_is_refused_401_by_name(self, header, value):
        with pytest.raises(IngressRefused) as caught:
            claim_of({**self.GOOD, header: value})
        assert (caught.value.status, caught.value.field.lower()) == (401, header)


class TestHmacSm3:
    KEYS = (TenantKey("k1", SECRET),)

    def test_a_push_signed_with_the_tenant_secret_verifies(self):
        _check(_claim(bytes.fromhex(SECRET)), self.KEYS)

    def test_a_push_signed_with_another_secret_is_refused_naming_the_signature(self):
        assert _refusal(_claim(b"\x22" * 32), self.KEYS) == (401, "X-FH-Signature")

    def test_a_body_changed_after_signing_is_refused(self):
        claim = _claim(bytes.fromhex(SECRET))
        with pytest.raises(IngressRefused):
            authenticate(
                claim,
                scheme="hmac-sm3",
                keys=self.KEYS,
                method="POST",
                target=TARGET,
                body=BODY + b" ",
                now=NOW,
            )

    def test_an_unknown_key_id_or_tenant_is_refused_like_a_bad_signature(self):
        assert _refusal(_claim(bytes.fromhex(SECRET), key_id="k0"), self.KEYS)[1] == (
            "X-FH-Signature"
        )
        assert _refusal(_claim(bytes.fromhex(SECRET)), (), None) == (401, "X-FH-Signature")

    @pytest.mark.parametrize("offset", [timedelta(minutes=-5, seconds=-1), timedelta(minutes=6)])
    def test_a_timestamp_outside_five_minutes_is_refused_naming_it(self, offset):
        claim = _claim(bytes.fromhex(SECRET), at=NOW + offset)
        assert _refusal(claim, self.KEYS) == (401, "X-FH-Timestamp")

    def test_a_timestamp_within_five_minutes_either_way_verifies(self):
        for offset in (timedelta(minutes=-4), timedelta(minutes=4)):
            _check(_claim(bytes.fromhex(SECRET), at=NOW + offset), self.KEYS)


class TestSm2:
    def test_a_push_signed_with_the_tenants_sm2_key_verifies_from_pem_or_hex(self):
        private = sm2.Sm2PrivateKey.generate()
        stamp = str(int(NOW.timestamp()))
        signature = sm2.sign(private, string_to_sign("POST", TARGET, stamp, NONCE, BODY))
        claim = Claim("acme", int(stamp), NONCE, "k1", signature)
        for material in (private.public_key.pem, private.public_key.hex):
            _check(claim, (TenantKey("k1", material),), "sm2")

    def test_another_sm2_keys_signature_is_refused(self):
        signer, tenant = sm2.Sm2PrivateKey.generate(), sm2.Sm2PrivateKey.generate()
        stamp = str(int(NOW.timestamp()))
        signature = sm2.sign(signer, string_to_sign("POST", TARGET, stamp, NONCE, BODY))
        claim = Claim("acme", int(stamp), NONCE, "k1", signature)
        keys = (TenantKey("k1", tenant.public_key.pem),)
        assert _refusal(claim, keys, "sm2") == (401, "X-FH-Signature")


class TestSeller:
    def test_an_owned_seller_passes_and_another_is_refused_403_naming_the_field(self):
        require_seller(frozenset({"A"}), "A", "invoice.seller.uscc")
        for seller in ("B", None):
            with pytest.raises(IngressRefused) as caught:
                require_seller(frozenset({"A"}), seller, "invoice.seller.uscc")
            assert (caught.value.status, caught.value.field) == (403, "invoice.seller.uscc")


class TestRotation:
    def _tenant(self, expires: datetime | None) -> Tenant:
        return Tenant(
            id="acme",
            name="Acme",
            sellers=frozenset(),
            scheme="hmac-sm3",
            key_id="k2",
            created_at=NOW,
            rotated_at=NOW,
            previous_key_id="k1",
            previous_expires_at=expires,
            keys_all=(TenantKey("k2", "22" * 32), TenantKey("k1", SECRET)),
        )

    def test_the_previous_key_verifies_until_its_grace_ends_and_not_after(self):
        tenant = self._tenant(NOW + timedelta(hours=24))
        assert [k.key_id for k in tenant.keys(NOW)] == ["k2", "k1"]
        later = NOW + timedelta(hours=24)
        assert [k.key_id for k in tenant.keys(later)] == ["k2"]

    def test_the_repr_shows_no_secret(self):
        assert SECRET not in repr(self._tenant(None))
