"""国密 primitives on native code: SM3 and HMAC-SM3 from OpenSSL (hashlib), and their errors.

SM2 signatures live in `hub.security.sm2` (on tongsuopy: Tongsuo, a compiled OpenSSL fork) and
SM4 encryption in `hub.security.sm4` (on `cryptography`'s OpenSSL). The pure-Python `gmssl` is the
interoperability oracle in tests and the baseline of `factorhub bench crypto` only: it is
30-1000x slower and must stay off the hot path.

    FactorHubError
     +-- CryptoError              a 国密 operation refused its input
          +-- InvalidKey          a key that is malformed, of the wrong size or off the curve
          +-- MalformedSignature  a signature that is not DER or r||s of the right size
          +-- DecryptionFailed    a ciphertext that was tampered with, truncated or not ours
               +-- UnknownKey     encrypted under a key id the key ring does not hold
"""

from __future__ import annotations

import hashlib
import hmac

from canonical.errors import FactorHubError

__all__ = [
    "CryptoError",
    "DecryptionFailed",
    "InvalidKey",
    "MalformedSignature",
    "UnknownKey",
    "equal",
    "hmac_sm3",
    "sm3",
]


class CryptoError(FactorHubError):
    """A 国密 operation refused its input; retrying with the same input cannot help."""


class InvalidKey(CryptoError):
    """A key that is malformed, of the wrong size, or (SM2) not a point or scalar of the curve."""


class MalformedSignature(CryptoError):
    """A signature that is neither strict DER nor a 64-byte r||s; raised by the converters only
    (`sm2.verify` answers False instead)."""


class DecryptionFailed(CryptoError):
    """A ciphertext that does not authenticate, is truncated, or has bad padding: one error for
    every cause, so a caller cannot be made into a padding oracle."""


class UnknownKey(DecryptionFailed):
    """A ciphertext names a key id the key ring does not hold (retired too early?)."""


def sm3(data: bytes) -> bytes:
    """The SM3 digest (GB/T 32905-2016) of `data`: 32 bytes."""
    return hashlib.new("sm3", data).digest()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) over SM3: 32 bytes; a key longer than 64 bytes is hashed first."""
    return hmac.digest(key, data, "sm3")


def equal(a: bytes, b: bytes) -> bool:
    """Compare MACs, tokens or digests in constant time, so timing tells nothing of a secret."""
    return hmac.compare_digest(a, b)
