"""The two signatures YonBIP uses: the access-token request and the event-centre push.

Token (formats-inbound §1.5): `signature = URLEncode(Base64(HmacSHA256(appSecret, s)))` where
`s` concatenates name and value of every parameter but `signature`, sorted by name. URL encoding
is the transport's job: what arrives after query decoding is the Base64 text.

Event push (§1.6, the shape of Yonyou's `EventCrypto` / `PrivateAppCrypto` demo classes):
`{"signature", "timestamp", "nonce", "encrypt"}` where
- the AES key is Base64-decoded from `appSecret` without "-", cut or padded with "0" to 43
  characters, plus "="; the IV is the key's first 16 bytes (AES-256-CBC, no padding);
- the plaintext is 16 random characters, the message length (4 bytes, big-endian), the UTF-8
  message and the appKey, PKCS#7-padded to a multiple of 32 bytes;
- `signature = Base64(HmacSHA256(appSecret, sorted([timestamp, nonce, encrypt]) joined))`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from simulators.yonyou.aes import cbc_decrypt, cbc_encrypt

__all__ = [
    "EventCryptoError",
    "aes_key_from_secret",
    "decrypt_event",
    "encrypt_event",
    "event_signature",
    "token_signature",
]

_PAD_BLOCK = 32


class EventCryptoError(ValueError):
    """A push whose signature, ciphertext or appKey does not check out."""


def _hmac_b64(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def token_signature(app_secret: str, params: Mapping[str, str]) -> str:
    text = "".join(f"{name}{params[name]}" for name in sorted(params) if name != "signature")
    return _hmac_b64(app_secret, text)


def aes_key_from_secret(app_secret: str) -> bytes:
    text = app_secret.replace("-", "")[:43].ljust(43, "0")
    try:
        return base64.b64decode(text + "=", validate=True)
    except ValueError as error:  # binascii.Error, or non-ASCII text
        raise ValueError("appSecret must use Base64 characters (letters, digits, + /)") from error


def event_signature(app_secret: str, timestamp: int, nonce: str, encrypt: str) -> str:
    return _hmac_b64(app_secret, "".join(sorted([str(timestamp), nonce, encrypt])))


def encrypt_event(
    message: str, *, app_key: str, app_secret: str, random16: str, timestamp: int, nonce: str
) -> dict[str, Any]:
    """The `EncryptionHolder` the event centre POSTs for `message` (a JSON text)."""
    if len(random16.encode()) != 16:
        raise ValueError("random16 must be 16 ASCII characters")
    key = aes_key_from_secret(app_secret)
    body = message.encode()
    plain = random16.encode() + len(body).to_bytes(4, "big") + body + app_key.encode()
    pad = _PAD_BLOCK - len(plain) % _PAD_BLOCK
    plain += bytes([pad]) * pad
    encrypt = base64.b64encode(cbc_encrypt(key, key[:16], plain)).decode()
    return {
        "signature": event_signature(app_secret, timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt": encrypt,
    }


def decrypt_event(holder: Mapping[str, Any], *, app_key: str, app_secret: str) -> str:
    """What a subscriber does: verify the signature, decrypt, check the appKey."""
    try:
        timestamp, nonce = int(holder["timestamp"]), str(holder["nonce"])
        encrypt, signature = str(holder["encrypt"]), str(holder["signature"])
    except (KeyError, TypeError, ValueError) as error:
        raise EventCryptoError("not an EncryptionHolder") from error
    expected = event_signature(app_secret, timestamp, nonce, encrypt)
    if not hmac.compare_digest(expected, signature):
        raise EventCryptoError("signature does not match")
    key = aes_key_from_secret(app_secret)
    try:
        plain = cbc_decrypt(key, key[:16], base64.b64decode(encrypt, validate=True))
    except (binascii.Error, ValueError) as error:
        raise EventCryptoError("encrypt is not AES-CBC ciphertext in Base64") from error
    pad = plain[-1] if plain else 0
    if not 1 <= pad <= _PAD_BLOCK or len(plain) < 20 + pad:
        raise EventCryptoError("bad padding")
    plain = plain[:-pad]
    length = int.from_bytes(plain[16:20], "big")
    message, sender = plain[20 : 20 + length], plain[20 + length :]
    if sender != app_key.encode():
        raise EventCryptoError("the push names another appKey")
    return message.decode()
