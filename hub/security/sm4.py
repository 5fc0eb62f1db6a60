"""SM4 (GB/T 32907) on OpenSSL (`cryptography`): GCM for what we choose, CBC for partners that
require it. (`cryptography` rather than tongsuopy: half the per-call cost on 1 KB messages.)

GCM output is nonce (12 random bytes) || ciphertext || tag (16); a random 96-bit nonce is safe
for about 2^32 messages under one key, so data keys are rotated long before (`keys.KeyRing`).
CBC output is IV (16 random bytes) || ciphertext, PKCS#7 padded. CBC has no integrity: what a
partner sends in CBC must be authenticated some other way (HMAC-SM3, an SM2 signature), as its
protocol says.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hub.security.gm import DecryptionFailed, InvalidKey

__all__ = [
    "BLOCK_SIZE",
    "GCM_NONCE_SIZE",
    "GCM_TAG_SIZE",
    "KEY_SIZE",
    "new_key",
    "sm4_cbc_decrypt",
    "sm4_cbc_encrypt",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
]

KEY_SIZE = 16
BLOCK_SIZE = 16
GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16


def new_key() -> bytes:
    """A fresh random SM4 key (16 bytes) from the OS's CSPRNG."""
    return secrets.token_bytes(KEY_SIZE)


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """nonce || ciphertext || tag; `aad` is authenticated, not encrypted, and must be given
    again to decrypt."""
    nonce = secrets.token_bytes(GCM_NONCE_SIZE)
    encryptor = Cipher(algorithms.SM4(_checked(key)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return nonce + encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def sm4_gcm_decrypt(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """The plaintext of `sm4_gcm_encrypt`'s output; DecryptionFailed if anything was changed,
    the key or `aad` differ, or the data is too short to be ours."""
    key = _checked(key)
    if len(data) < GCM_NONCE_SIZE + GCM_TAG_SIZE:
        raise DecryptionFailed("SM4-GCM data is shorter than a nonce and a tag")
    nonce, tag = data[:GCM_NONCE_SIZE], data[-GCM_TAG_SIZE:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    plaintext = decryptor.update(data[GCM_NONCE_SIZE:-GCM_TAG_SIZE])
    try:
        return plaintext + decryptor.finalize()
    except InvalidTag as error:
        raise DecryptionFailed("SM4-GCM data does not authenticate") from error


def sm4_cbc_encrypt(key: bytes, plaintext: bytes) -> bytes:
    """IV || ciphertext of `plaintext` PKCS#7-padded (1 to 16 bytes, always added)."""
    iv = secrets.token_bytes(BLOCK_SIZE)
    padder = padding.PKCS7(BLOCK_SIZE * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.SM4(_checked(key)), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(padded) + encryptor.finalize()


def sm4_cbc_decrypt(key: bytes, data: bytes) -> bytes:
    """The plaintext of IV || ciphertext; DecryptionFailed for a bad length or bad padding (a
    wrong key almost always shows as bad padding, but CBC cannot prove it: see the module)."""
    key = _checked(key)
    if len(data) < 2 * BLOCK_SIZE or len(data) % BLOCK_SIZE:
        raise DecryptionFailed("SM4-CBC data is not an IV and whole blocks")
    decryptor = Cipher(algorithms.SM4(key), modes.CBC(data[:BLOCK_SIZE])).decryptor()
    unpadder = padding.PKCS7(BLOCK_SIZE * 8).unpadder()
    padded = decryptor.update(data[BLOCK_SIZE:]) + decryptor.finalize()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as error:
        raise DecryptionFailed(
            "SM4-CBC padding is not PKCS#7 (wrong key or changed data)"
        ) from error


def _checked(key: bytes) -> bytes:
    if len(key) != KEY_SIZE:
        raise InvalidKey(f"an SM4 key is {KEY_SIZE} bytes, got {len(key)}")
    return key
