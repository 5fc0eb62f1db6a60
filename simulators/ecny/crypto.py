"""SM2-with-SM3 signatures of the e-CNY channel (formats-outbound §2.3, §6), with tongsuopy.

Every request, answer and notify carries `X-Ecny-AppId`, `X-Ecny-Timestamp` (Unix seconds),
`X-Ecny-Nonce`, `X-Ecny-SignSN` and `X-Ecny-Signature`: base64 of the DER SM2 signature (signer id
`1234567812345678`, the library default) over `METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY`. An answer
is signed over the method and path of the request it answers.

Keys are either derived from the seed (so QA gets the same keys every run) or loaded as PEM.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

# tongsuopy ships no type information (no py.typed): its objects are `Any` to mypy.
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InvalidSignature

__all__ = [
    "APP_ID",
    "OPERATOR_APP_ID",
    "BadSignature",
    "KeyPair",
    "PublicKey",
    "sign_headers",
    "signing_string",
    "sm3_hex",
]

APP_ID = "factorhub"
"""The caller the simulator knows by default (the hub), with a key pair derived from the seed."""
OPERATOR_APP_ID = "ecny-operator"
"""How the simulator names itself in the headers of its answers and notifies."""

# Order of the SM2 group (GM/T 0003.5): a derived private value must lie in [1, n-2].
_SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_ALGORITHM = ec.ECDSA(hashes.SM3())


class BadSignature(ValueError):
    """A signature that is missing, not base64 DER, or does not verify."""


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return bytes(digest.finalize()).hex()


def signing_string(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """`METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY`, the body as sent (bytes, no trailing newline)."""
    head = f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n".encode()
    return head + body


@dataclass(frozen=True)
class PublicKey:
    """A verifying key with its certificate serial (`X-Ecny-SignSN`)."""

    key: ec.EllipticCurvePublicKey
    sign_sn: str

    @classmethod
    def from_pem(cls, pem: str, sign_sn: str | None = None) -> PublicKey:
        """Raises ValueError for anything but an SM2 public key in PEM."""
        try:
            key = serialization.load_pem_public_key(pem.encode())
        except Exception as error:  # the backend raises several types for bad PEM
            raise ValueError(f"not an SM2 public key in PEM: {error}") from error
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "SM2":
            raise ValueError("not an SM2 public key")
        return cls(key, sign_sn or _serial(key))

    @property
    def pem(self) -> str:
        pem = self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return bytes(pem).decode()

    def verify(self, signature_b64: str, message: bytes) -> None:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadSignature("signature is not base64") from error
        if not signature:
            raise BadSignature("signature is empty")
        try:
            self.key.verify(signature, message, _ALGORITHM)
        except InvalidSignature as error:
            raise BadSignature("signature does not verify") from error
        except Exception as error:  # malformed DER makes the backend fail differently
            raise BadSignature("signature is not a DER SM2 signature") from error


@dataclass(frozen=True)
class KeyPair:
    """A signing key and its public half."""

    private: ec.EllipticCurvePrivateKey
    public: PublicKey

    @classmethod
    def derive(cls, label: str) -> KeyPair:
        """The same key for the same label, every run (`label` carries the seed)."""
        value = int(sm3_hex(f"factorhub-sim:ecny:key:{label}".encode()), 16) % (_SM2_N - 2) + 1
        private = ec.derive_private_key(value, ec.SM2())
        return cls(private, PublicKey(private.public_key(), _serial(private.public_key())))

    @classmethod
    def from_pem(cls, pem: str, sign_sn: str | None = None) -> KeyPair:
        try:
            private = serialization.load_pem_private_key(pem.encode(), password=None)
        except Exception as error:  # the backend raises several types for bad PEM
            raise ValueError(f"not an SM2 private key in PEM: {error}") from error
        if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "SM2":
            raise ValueError("not an SM2 private key")
        public = private.public_key()
        return cls(private, PublicKey(public, sign_sn or _serial(public)))

    @property
    def private_pem(self) -> str:
        pem = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return bytes(pem).decode()

    def sign(self, message: bytes) -> str:
        return base64.b64encode(bytes(self.private.sign(message, _ALGORITHM))).decode()


def sign_headers(
    keys: KeyPair,
    *,
    app_id: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    nonce: str | None = None,
) -> dict[str, str]:
    """The five signature headers for one message."""
    nonce = nonce or secrets.token_hex(16)
    stamp = str(timestamp)
    return {
        "X-Ecny-AppId": app_id,
        "X-Ecny-Timestamp": stamp,
        "X-Ecny-Nonce": nonce,
        "X-Ecny-SignSN": keys.public.sign_sn,
        "X-Ecny-Signature": keys.sign(signing_string(method, path, stamp, nonce, body)),
    }


def _serial(key: ec.EllipticCurvePublicKey) -> str:
    """A stand-in certificate serial: 16 upper-case hex digits of SM3(the public key, DER)."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sm3_hex(der)[:16].upper()
