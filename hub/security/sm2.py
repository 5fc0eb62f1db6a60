"""SM2 signatures with SM3 (GB/T 32918.2) on Tongsuo: DER or r||s, over ZA and the message.

Every signature covers e = SM3(ZA || M), ZA = SM3(ENTL || ID || a || b || xG || yG || xA || yA)
binding the signer's id and public key. Tongsuo computes ZA itself for the default id
`1234567812345678` (what gmssl's `sign_with_sm3`, the e-CNY operator and most bank SDKs use);
any other id is hashed here and e signed through Tongsuo's raw `EVP_PKEY_sign`, since tongsuopy
exposes no way to set the id.

Keys come as PEM (PKCS#8, SEC1 or SubjectPublicKeyInfo) or as the hex partners exchange: the
32-byte private scalar, the 64-byte x||y (or 65-byte 04||x||y) public point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# tongsuopy ships no type information: its objects are `Any` to mypy.
from tongsuopy.backends.tongsuo.backend import backend as _backend
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature

from hub.security.gm import CryptoError, InvalidKey, MalformedSignature, sm3

__all__ = [
    "DEFAULT_USER_ID",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "sign",
    "signature_from_raw",
    "signature_to_raw",
    "verify",
]

DEFAULT_USER_ID = b"1234567812345678"
"""The signer id of GB/T 35276 §5.4 / GM/T 0009, used when two parties agree on none."""

_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
"""Order of the SM2 group; a private scalar lies in [1, n-2] and r, s in [1, n-1]."""
_CURVE = bytes.fromhex(
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"  # a
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"  # b
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"  # xG
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"  # yG
)
_SM2_WITH_SM3 = ec.ECDSA(hashes.SM3())


@dataclass(frozen=True, slots=True, repr=False)
class Sm2PublicKey:
    """A verifying key; equal keys have the same `point` (65 bytes, 04 || x || y)."""

    point: bytes
    _key: Any = field(repr=False, compare=False)

    @classmethod
    def from_pem(cls, pem: str | bytes) -> Sm2PublicKey:
        """A SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`) on the SM2 curve."""
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except Exception as error:  # the backend raises several types for bad PEM
            raise InvalidKey(f"not a PEM public key: {error}") from error
        return cls._of(_on_sm2(key, "public"))

    @classmethod
    def from_hex(cls, text: str) -> Sm2PublicKey:
        """128 hex digits (x || y, as gmssl and bank SDKs write it) or 130 (04 || x || y)."""
        raw = _unhex(text, "public key")
        if len(raw) == 64:
            raw = b"\x04" + raw
        if len(raw) != 65 or raw[0] != 4:
            raise InvalidKey("an SM2 public key in hex is 64 bytes (x||y) or 65 (04||x||y)")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), raw)
        except ValueError as error:
            raise InvalidKey("the public key is not a point of the SM2 curve") from error
        return cls._of(key)

    @classmethod
    def _of(cls, key: Any) -> Sm2PublicKey:
        point = key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(bytes(point), key)

    @property
    def pem(self) -> str:
        pem = self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return bytes(pem).decode()

    @property
    def hex(self) -> str:
        """x || y in 128 hex digits, the form gmssl's `CryptSM2(public_key=...)` takes."""
        return self.point[1:].hex()

    def __repr__(self) -> str:
        return f"Sm2PublicKey({self.hex[:16]}...)"

    def za(self, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        """ZA of GB/T 32918.2 §5.5: the digest binding `user_id` and this key to a signature."""
        bits = len(user_id) * 8
        if bits > 0xFFFF:
            raise CryptoError("an SM2 user id is at most 8191 bytes")
        return sm3(bits.to_bytes(2, "big") + user_id + _CURVE + self.point[1:])


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Sm2PrivateKey:
    """A signing key and its public half; its repr shows the public point only."""

    _key: Any
    public_key: Sm2PublicKey

    @classmethod
    def generate(cls) -> Sm2PrivateKey:
        return cls._of(ec.generate_private_key(ec.SM2()))

    @classmethod
    def from_pem(cls, pem: str | bytes) -> Sm2PrivateKey:
        """An unencrypted PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`) PEM."""
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except Exception as error:  # the backend raises several types for bad PEM
            raise InvalidKey(f"not an unencrypted PEM private key: {error}") from error
        return cls._of(_on_sm2(key, "private"))

    @classmethod
    def from_hex(cls, text: str) -> Sm2PrivateKey:
        """The private scalar d in 64 hex digits, as gmssl and bank SDKs write it."""
        raw = _unhex(text, "private key")
        value = int.from_bytes(raw, "big")
        if len(raw) != 32 or not 1 <= value <= _N - 2:
            raise InvalidKey("an SM2 private key in hex is 32 bytes, a scalar in [1, n-2]")
        return cls._of(ec.derive_private_key(value, ec.SM2()))

    @classmethod
    def _of(cls, key: Any) -> Sm2PrivateKey:
        return cls(key, Sm2PublicKey._of(key.public_key()))

    def __repr__(self) -> str:
        return f"Sm2PrivateKey(public={self.public_key.hex[:16]}...)"

    @property
    def pem(self) -> str:
        """PKCS#8, unencrypted: store it where only the hub can read it."""
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return bytes(pem).decode()

    @property
    def hex(self) -> str:
        """The private scalar in 64 hex digits."""
        return f"{self._key.private_numbers().private_value:064x}"


def sign(private: Sm2PrivateKey, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """The DER signature of `message` by `private` under `user_id` (a fresh k each time)."""
    if user_id == DEFAULT_USER_ID:
        return bytes(private._key.sign(message, _SM2_WITH_SM3))
    return _sign_digest(private._key, _e(private.public_key, message, user_id))


def verify(
    public: Sm2PublicKey, message: bytes, signature: bytes, user_id: bytes = DEFAULT_USER_ID
) -> bool:
    """Whether `signature` (DER) is `public`'s over `message` and `user_id`; never raises for a
    bad, malformed or empty signature. For an r||s one, pass `signature_from_raw(raw)`."""
    if _decode_der(signature) is None:
        return False
    if user_id != DEFAULT_USER_ID:
        return _verify_digest(public._key, signature, _e(public, message, user_id))
    try:
        public._key.verify(signature, message, _SM2_WITH_SM3)
    except (InvalidSignature, InternalError):  # InternalError: a DER Tongsuo still refuses
        return False
    return True


def signature_to_raw(signature: bytes) -> bytes:
    """DER -> r || s, 32 bytes each (the form many partners send, often in hex or base64)."""
    values = _decode_der(signature)
    if values is None:
        raise MalformedSignature("not a strict DER SM2 signature")
    return b"".join(v.to_bytes(32, "big") for v in values)


def signature_from_raw(raw: bytes) -> bytes:
    """r || s (64 bytes) -> DER, what `verify` takes."""
    if len(raw) != 64:
        raise MalformedSignature(f"an r||s SM2 signature is 64 bytes, got {len(raw)}")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    if not (0 < r < _N and 0 < s < _N):
        raise MalformedSignature("r and s of an SM2 signature lie in [1, n-1]")
    body = _der_integer(r) + _der_integer(s)
    return bytes([0x30, len(body)]) + body


def _e(public: Sm2PublicKey, message: bytes, user_id: bytes) -> bytes:
    return sm3(public.za(user_id) + message)


def _sign_digest(key: Any, e: bytes) -> bytes:
    """Tongsuo's SM2 `EVP_PKEY_sign` signs e as given (no ZA), so any user id can be used."""
    lib, ffi = _backend._lib, _backend._ffi
    ctx = ffi.gc(lib.EVP_PKEY_CTX_new(key._evp_pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
    size = ffi.new("size_t *")
    if ctx == ffi.NULL or lib.EVP_PKEY_sign_init(ctx) != 1:
        _backend._consume_errors()
        raise CryptoError("Tongsuo cannot sign with this SM2 key")
    lib.EVP_PKEY_sign(ctx, ffi.NULL, size, e, len(e))
    out = ffi.new("unsigned char[]", size[0])
    if lib.EVP_PKEY_sign(ctx, out, size, e, len(e)) != 1:
        _backend._consume_errors()
        raise CryptoError("Tongsuo failed to make an SM2 signature")
    return bytes(ffi.buffer(out)[: size[0]])


def _verify_digest(key: Any, signature: bytes, e: bytes) -> bool:
    lib, ffi = _backend._lib, _backend._ffi
    ctx = ffi.gc(lib.EVP_PKEY_CTX_new(key._evp_pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
    ok = (
        ctx != ffi.NULL
        and lib.EVP_PKEY_verify_init(ctx) == 1
        and lib.EVP_PKEY_verify(ctx, signature, len(signature), e, len(e)) == 1
    )
    if not ok:
        _backend._consume_errors()  # leave nothing on the error stack for the next call
    return bool(ok)


def _decode_der(signature: bytes) -> tuple[int, int] | None:
    """(r, s) of a strict DER SEQUENCE of two minimal positive INTEGERs in [1, n-1], or None."""
    if len(signature) < 8 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
        return None
    values: list[int] = []
    at = 2
    for _ in range(2):
        if at + 2 > len(signature) or signature[at] != 0x02:
            return None
        size = signature[at + 1]
        body = signature[at + 2 : at + 2 + size]
        if not 1 <= size <= 33 or len(body) != size or body[0] & 0x80:
            return None
        if size > 1 and body[0] == 0 and not body[1] & 0x80:
            return None  # a needless leading zero: not DER
        values.append(int.from_bytes(body, "big"))
        at += 2 + size
    r, s = values
    return (r, s) if at == len(signature) and 0 < r < _N and 0 < s < _N else None


def _der_integer(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 8) // 8, "big")  # a leading 0 if the top bit is set
    return bytes([0x02, len(body)]) + body


def _unhex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError as error:
        raise InvalidKey(f"the SM2 {what} is not hex") from error


def _on_sm2(key: Any, kind: str) -> Any:
    expected = ec.EllipticCurvePrivateKey if kind == "private" else ec.EllipticCurvePublicKey
    if not isinstance(key, expected) or key.curve.name != "SM2":
        raise InvalidKey(f"not an SM2 {kind} key")
    return key
