"""The YonBIP signatures and the event-push crypto agree with the published algorithms."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from simulators.yonyou.aes import cbc_decrypt, cbc_encrypt
from simulators.yonyou.crypto import (
    EventCryptoError,
    aes_key_from_secret,
    decrypt_event,
    encrypt_event,
    token_signature,
)

APP_KEY, APP_SECRET = "41832a3d2df94989b500da6a22268747", "343c68bc-fd4f-4029-a6df-a7afc357545a"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (bytes(range(16)), "69c4e0d86a7b0430d8cdb78070b4c55a"),  # FIPS-197 C.1
        (bytes(range(32)), "8ea2b7ca516745bfeafc49904b496089"),  # FIPS-197 C.3
    ],
)
def test_aes_matches_the_fips_197_known_answers(key, expected):
    block = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert cbc_encrypt(key, bytes(16), block).hex() == expected
    assert cbc_decrypt(key, bytes(16), bytes.fromhex(expected)) == block


def test_aes_256_cbc_matches_sp_800_38a_and_round_trips():
    key = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
    iv = bytes(range(16))
    plain = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
    cipher = cbc_encrypt(key, iv, plain)
    assert cipher.hex() == ("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d")
    assert cbc_decrypt(key, iv, cipher) == plain
    with pytest.raises(ValueError, match="multiple of 16"):
        cbc_encrypt(key, iv, b"short")


def test_the_token_signature_signs_sorted_names_and_values_with_the_app_secret():
    # The official page's example: appKey41832a3d…timestamp1568098531823
    text = f"appKey{APP_KEY}timestamp1568098531823"
    expected = base64.b64encode(
        hmac.new(APP_SECRET.encode(), text.encode(), hashlib.sha256).digest()
    ).decode()
    params = {"timestamp": "1568098531823", "appKey": APP_KEY, "signature": "ignored"}
    assert token_signature(APP_SECRET, params) == expected


def test_the_aes_key_is_the_dashless_secret_padded_to_43_characters():
    key = aes_key_from_secret(APP_SECRET)
    padded = APP_SECRET.replace("-", "").ljust(43, "0") + "="
    assert key == base64.b64decode(padded)
    assert len(key) == 32
    with pytest.raises(ValueError, match="Base64"):
        aes_key_from_secret("秘密")


def _holder(message: str = '{"type": "X"}') -> dict:
    return encrypt_event(
        message,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        random16="ABCDEFGHIJKLMNOP",
        timestamp=1764292200000,
        nonce="n0nce123",
    )


def test_a_push_decrypts_to_its_message_and_carries_an_hmac_of_the_sorted_parts():
    holder = _holder('{"type": "销售发票"}')
    assert set(holder) == {"signature", "timestamp", "nonce", "encrypt"}
    parts = "".join(sorted([str(holder["timestamp"]), holder["nonce"], holder["encrypt"]]))
    digest = hmac.new(APP_SECRET.encode(), parts.encode(), hashlib.sha256).digest()
    assert holder["signature"] == base64.b64encode(digest).decode()
    key = aes_key_from_secret(APP_SECRET)
    plain = cbc_decrypt(key, key[:16], base64.b64decode(holder["encrypt"]))
    assert len(plain) % 32 == 0
    assert plain[:16] == b"ABCDEFGHIJKLMNOP"
    assert decrypt_event(holder, app_key=APP_KEY, app_secret=APP_SECRET) == '{"type": "销售发票"}'


def test_a_tampered_signature_or_another_app_key_is_refused():
    holder = _holder()
    with pytest.raises(EventCryptoError, match="signature"):
        decrypt_event({**holder, "nonce": "other"}, app_key=APP_KEY, app_secret=APP_SECRET)
    with pytest.raises(EventCryptoError, match="appKey"):
        decrypt_event(holder, app_key="someone-else", app_secret=APP_SECRET)
    with pytest.raises(EventCryptoError, match="EncryptionHolder"):
        decrypt_event({"encrypt": "x"}, app_key=APP_KEY, app_secret=APP_SECRET)
