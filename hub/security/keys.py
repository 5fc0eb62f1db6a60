"""The key ring: our SM2 signing keys and SM4 data keys by id, from files or the environment.

Rotating a key is adding the new one beside the old and making it current: the current SM2 key
signs and every known one still verifies; the current SM4 key encrypts and every known one still
decrypts, since each ciphertext carries the id of its key.

    FACTORHUB_SM2_KEY_<ID>    an SM2 key: private (PKCS#8 or SEC1 PEM, or 64 hex digits), or
                              public only (PEM, or 128/130 hex digits): a retired key that
                              still verifies
    FACTORHUB_SM4_KEY_<ID>    an SM4 data key: 32 hex digits
    FACTORHUB_SIGNING_KEY_ID  the SM2 key that signs; default: the newest private one
    FACTORHUB_DATA_KEY_ID     the SM4 key that encrypts; default: the newest
    FACTORHUB_KEYS_DIR        a directory of `sm2-<ID>.pem`, `sm2-<ID>.hex` and `sm4-<ID>.hex`
                              files, read as the variables above; other files are ignored

An id is 1 to 32 of `A-Z a-z 0-9 _`, the same in a file name and in a variable. The newest is
the greatest id with digit runs compared as numbers (v9 < v10, 2025q1 < 2025q2): name keys so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from canonical.errors import ConfigurationError
from hub.security.gm import DecryptionFailed, InvalidKey, UnknownKey
from hub.security.sm2 import DEFAULT_USER_ID, Sm2PrivateKey, Sm2PublicKey, sign, verify
from hub.security.sm4 import KEY_SIZE, new_key, sm4_gcm_decrypt, sm4_gcm_encrypt

__all__ = ["KeyRing", "NewKeys", "Signer", "generate"]

SM2_PREFIX = "FACTORHUB_SM2_KEY_"
SM4_PREFIX = "FACTORHUB_SM4_KEY_"
SIGNING_KEY_ID = "FACTORHUB_SIGNING_KEY_ID"
DATA_KEY_ID = "FACTORHUB_DATA_KEY_ID"
KEYS_DIR = "FACTORHUB_KEYS_DIR"

_ID = re.compile(r"[A-Za-z0-9_]{1,32}")
_FILE = re.compile(r"(sm2|sm4)-([A-Za-z0-9_]{1,32})\.(pem|hex)")
_FORMAT = 1
"""First byte of `KeyRing.encrypt`'s output: format 1 is version, id length, id, SM4-GCM."""


@dataclass(frozen=True, slots=True)
class Signer:
    """The current signing key: send `key_id` with each signature so it can be verified later."""

    key_id: str
    key: Sm2PrivateKey

    def sign(self, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
        return sign(self.key, message, user_id)


class KeyRing:
    """SM2 keys (private ones sign, every one verifies) and SM4 data keys, each by id."""

    def __init__(
        self,
        *,
        sm2: Mapping[str, Sm2PrivateKey | Sm2PublicKey] | None = None,
        sm4: Mapping[str, bytes] | None = None,
        signing_key_id: str | None = None,
        data_key_id: str | None = None,
    ) -> None:
        self._sm2 = dict(sm2 or {})
        self._sm4 = dict(sm4 or {})
        for key_id in [*self._sm2, *self._sm4]:
            if not _ID.fullmatch(key_id):
                raise ConfigurationError(f"key id {key_id!r}: 1-32 of A-Z a-z 0-9 _")
        for key_id, data_key in self._sm4.items():
            if len(data_key) != KEY_SIZE:
                raise ConfigurationError(f"SM4 key {key_id}: {KEY_SIZE} bytes, not {len(data_key)}")
        signers = [i for i, k in self._sm2.items() if isinstance(k, Sm2PrivateKey)]
        self._signing_key_id = _current(signing_key_id, signers, SIGNING_KEY_ID, "SM2 private")
        self._data_key_id = _current(data_key_id, list(self._sm4), DATA_KEY_ID, "SM4")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        """The keys of FACTORHUB_KEYS_DIR and FACTORHUB_SM2_KEY_* / FACTORHUB_SM4_KEY_*; an id
        in both is refused (which one would be meant?). No keys at all is a valid, empty ring."""
        env = os.environ if environ is None else environ
        sm2: dict[str, Sm2PrivateKey | Sm2PublicKey] = {}
        sm4: dict[str, bytes] = {}
        sources: dict[tuple[str, str], str] = {}
        if directory := env.get(KEYS_DIR):
            _read_directory(Path(directory), sm2, sm4, sources, where=f"{KEYS_DIR}={directory}")
        for name, value in sorted(env.items()):
            for kind, prefix in (("sm2", SM2_PREFIX), ("sm4", SM4_PREFIX)):
                if name.startswith(prefix):
                    _add(kind, name.removeprefix(prefix), value, name, sm2, sm4, sources)
        return cls(
            sm2=sm2,
            sm4=sm4,
            signing_key_id=env.get(SIGNING_KEY_ID) or None,
            data_key_id=env.get(DATA_KEY_ID) or None,
        )

    @classmethod
    def from_directory(
        cls, directory: Path, *, signing_key_id: str | None = None, data_key_id: str | None = None
    ) -> KeyRing:
        """The key files of `directory` (named as in the module docstring)."""
        sm2: dict[str, Sm2PrivateKey | Sm2PublicKey] = {}
        sm4: dict[str, bytes] = {}
        _read_directory(directory, sm2, sm4, {}, where=str(directory))
        return cls(sm2=sm2, sm4=sm4, signing_key_id=signing_key_id, data_key_id=data_key_id)

    @property
    def signing_key_id(self) -> str | None:
        return self._signing_key_id

    @property
    def data_key_id(self) -> str | None:
        return self._data_key_id

    def public_keys(self) -> dict[str, Sm2PublicKey]:
        """Every verifying key by id: what partners need to check our signatures."""
        return {i: _public(k) for i, k in self._sm2.items()}

    def current_signer(self) -> Signer:
        if self._signing_key_id is None:
            raise ConfigurationError(
                f"no SM2 private key: set {SM2_PREFIX}<ID> or put sm2-<ID>.pem in {KEYS_DIR}"
            )
        key = self._sm2[self._signing_key_id]
        assert isinstance(key, Sm2PrivateKey)  # `_current` chose it among the private keys
        return Signer(self._signing_key_id, key)

    def verify(
        self, key_id: str, message: bytes, signature: bytes, user_id: bytes = DEFAULT_USER_ID
    ) -> bool:
        """Whether `signature` (DER) is key `key_id`'s over `message`; False for an unknown id."""
        key = self._sm2.get(key_id)
        return key is not None and verify(_public(key), message, signature, user_id)

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """SM4-GCM under the current data key, its id in a header the tag also covers."""
        if self._data_key_id is None:
            raise ConfigurationError(
                f"no SM4 data key: set {SM4_PREFIX}<ID> or put sm4-<ID>.hex in {KEYS_DIR}"
            )
        key_id = self._data_key_id.encode()
        header = bytes([_FORMAT, len(key_id)]) + key_id
        return header + sm4_gcm_encrypt(self._sm4[self._data_key_id], plaintext, header + aad)

    def decrypt(self, data: bytes, aad: bytes = b"") -> bytes:
        """The plaintext of `encrypt`'s output under whichever known key made it; UnknownKey
        for a key id not in the ring, DecryptionFailed for anything changed or foreign."""
        if len(data) < 2 or data[0] != _FORMAT or len(data) < 2 + data[1]:
            raise DecryptionFailed("not a key ring ciphertext (format 1)")
        header = data[: 2 + data[1]]
        key_id = header[2:].decode("ascii", errors="replace")
        key = self._sm4.get(key_id)
        if key is None:
            raise UnknownKey(f"encrypted under SM4 key {key_id!r}, which the key ring lacks")
        return sm4_gcm_decrypt(key, data[len(header) :], header + aad)

    def __repr__(self) -> str:
        return (
            f"KeyRing(sm2={sorted(self._sm2)}, signing={self._signing_key_id}, "
            f"sm4={sorted(self._sm4)}, data={self._data_key_id})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class NewKeys:
    """A fresh SM2 key pair and SM4 key under one id, for an operator to install (or a test)."""

    key_id: str
    sm2: Sm2PrivateKey
    sm4: bytes

    def __repr__(self) -> str:
        return f"NewKeys({self.key_id}, sm2={self.sm2!r})"

    def environ(self) -> dict[str, str]:
        """The two variables, one line each (the SM2 key as its hex scalar)."""
        return {
            f"{SM2_PREFIX}{self.key_id}": self.sm2.hex,
            f"{SM4_PREFIX}{self.key_id}": self.sm4.hex(),
        }

    def write(self, directory: Path) -> list[Path]:
        """`sm2-<ID>.pem` and `sm4-<ID>.hex` in `directory`, readable by the owner only; an
        existing file is never overwritten (FileExistsError)."""
        directory.mkdir(parents=True, exist_ok=True)
        files = [
            (directory / f"sm2-{self.key_id}.pem", self.sm2.pem),
            (directory / f"sm4-{self.key_id}.hex", self.sm4.hex() + "\n"),
        ]
        for path, text in files:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(text)
        return [path for path, _ in files]


def generate(key_id: str) -> NewKeys:
    """New keys under `key_id`; rotate by giving the next one a greater id (or naming it)."""
    if not _ID.fullmatch(key_id):
        raise ConfigurationError(f"key id {key_id!r}: 1-32 of A-Z a-z 0-9 _")
    return NewKeys(key_id, Sm2PrivateKey.generate(), new_key())


def _read_directory(
    directory: Path,
    sm2: dict[str, Sm2PrivateKey | Sm2PublicKey],
    sm4: dict[str, bytes],
    sources: dict[tuple[str, str], str],
    *,
    where: str,
) -> None:
    if not directory.is_dir():
        raise ConfigurationError(f"{where}: not a directory")
    for path in sorted(directory.iterdir()):
        if not path.name.startswith(("sm2-", "sm4-")):
            continue
        match = _FILE.fullmatch(path.name)
        if match is None or (match[1] == "sm4" and match[3] != "hex"):
            raise ConfigurationError(
                f"{path}: key files are sm2-<ID>.pem, sm2-<ID>.hex or sm4-<ID>.hex"
            )
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"{path}: cannot read it: {error}") from error
        _add(match[1], match[2], text, str(path), sm2, sm4, sources)


def _add(
    kind: str,
    key_id: str,
    text: str,
    source: str,
    sm2: dict[str, Sm2PrivateKey | Sm2PublicKey],
    sm4: dict[str, bytes],
    sources: dict[tuple[str, str], str],
) -> None:
    """Parse one key into its map; errors name `source` (a variable or a file), never the key."""
    if not _ID.fullmatch(key_id):
        raise ConfigurationError(f"{source}: the key id {key_id!r} is not 1-32 of A-Z a-z 0-9 _")
    if (kind, key_id) in sources:
        raise ConfigurationError(
            f"{source}: {kind} key {key_id} is also in {sources[kind, key_id]}"
        )
    sources[kind, key_id] = source
    try:
        if kind == "sm4":
            sm4[key_id] = _sm4_key(text)
        else:
            sm2[key_id] = _sm2_key(text)
    except InvalidKey as error:
        raise ConfigurationError(f"{source}: {error}") from error  # names no key material


def _sm2_key(text: str) -> Sm2PrivateKey | Sm2PublicKey:
    text = text.strip()
    if "-----BEGIN" in text:
        text = text.replace("\\n", "\n")  # a PEM on one line, as .env files and k8s carry it
    if "PRIVATE KEY-----" in text:
        return Sm2PrivateKey.from_pem(text)
    if "PUBLIC KEY-----" in text:
        return Sm2PublicKey.from_pem(text)
    if len(text) == 64:
        return Sm2PrivateKey.from_hex(text)
    if len(text) in (128, 130):
        return Sm2PublicKey.from_hex(text)
    raise InvalidKey("not an SM2 key: PEM, 64 hex digits (private) or 128/130 hex digits (public)")


def _sm4_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise InvalidKey("an SM4 key is 32 hex digits; this is not hex") from None
    if len(key) != KEY_SIZE:
        raise InvalidKey(f"an SM4 key is 32 hex digits, got {len(key) * 2}")
    return key


def _public(key: Sm2PrivateKey | Sm2PublicKey) -> Sm2PublicKey:
    return key.public_key if isinstance(key, Sm2PrivateKey) else key


def _current(chosen: str | None, candidates: list[str], variable: str, what: str) -> str | None:
    """The named id, which must be one of `candidates`, else the newest of them."""
    if chosen is not None:
        if chosen not in candidates:
            raise ConfigurationError(f"{variable}={chosen}: no {what} key has that id")
        return chosen
    return max(candidates, key=_newest_order, default=None)


def _newest_order(key_id: str) -> tuple[list[int | str], str]:
    parts = re.split(r"(\d+)", key_id)
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], key_id
