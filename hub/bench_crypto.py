"""`factorhub bench crypto`: 国密 operations per second on native code beside gmssl's.

Each operation runs for `seconds` on one core, ours (Tongsuo, OpenSSL) then gmssl's (pure
Python) on the same 1 KB input; gmssl has no GCM and no HMAC, so those rows have one column.
gmssl is a dev dependency: where it is not installed only our column is filled.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.security.gm import hmac_sm3, sm3
from hub.security.sm2 import Sm2PrivateKey, sign, signature_to_raw, verify
from hub.security.sm4 import new_key, sm4_cbc_encrypt, sm4_gcm_encrypt

__all__ = ["CryptoRate", "bench_crypto", "render"]

MESSAGE_BYTES = 1024


@dataclass(frozen=True, slots=True)
class CryptoRate:
    """One operation's operations per second: ours, and gmssl's (None: it has none)."""

    operation: str
    ours: float
    gmssl: float | None

    @property
    def ratio(self) -> float | None:
        return self.ours / self.gmssl if self.gmssl else None


def bench_crypto(seconds: float = 1.0) -> list[CryptoRate]:
    """Measure every operation, `seconds` each per library."""
    message = os.urandom(MESSAGE_BYTES)
    key, data_key = Sm2PrivateKey.generate(), new_key()
    signature = sign(key, message)
    ours: dict[str, Callable[[], object]] = {
        "SM2 sign": lambda: sign(key, message),
        "SM2 verify": lambda: verify(key.public_key, message, signature),
        "SM4-GCM encrypt": lambda: sm4_gcm_encrypt(data_key, message),
        "SM4-CBC encrypt": lambda: sm4_cbc_encrypt(data_key, message),
        "SM3": lambda: sm3(message),
        "HMAC-SM3": lambda: hmac_sm3(data_key, message),
    }
    theirs = _gmssl_operations(key, data_key, message, signature)
    return [
        CryptoRate(
            name,
            _per_second(operation, seconds),
            _per_second(theirs[name], seconds) if name in theirs else None,
        )
        for name, operation in ours.items()
    ]


def render(rates: list[CryptoRate], seconds: float) -> str:
    """A plain-text table, one row per operation, with ours/gmssl."""
    lines = [
        f"国密 operations per second, one core, {MESSAGE_BYTES} byte messages, {seconds:g} s each",
        f"  {'operation':<16} {'ours/s':>10} {'gmssl/s':>10} {'ours/gmssl':>11}",
    ]
    for rate in rates:
        theirs = "-" if rate.gmssl is None else f"{rate.gmssl:,.0f}"
        ratio = "-" if rate.ratio is None else f"{rate.ratio:,.0f}x"
        lines.append(f"  {rate.operation:<16} {rate.ours:>10,.0f} {theirs:>10} {ratio:>11}")
    if all(rate.gmssl is None for rate in rates):
        lines.append("  (gmssl is not installed: `pip install gmssl` for its column)")
    return "\n".join(lines)


def _per_second(operation: Callable[[], object], seconds: float) -> float:
    """Calls per second over at least `seconds`, in batches that grow while they are short,
    so the clock is read rarely for fast operations and slow ones do not overshoot."""
    operation()  # warm up: first-call setup is not what is measured
    count, batch = 0, 1
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        began = time.perf_counter()
        for _ in range(batch):
            operation()
        count += batch
        if time.perf_counter() - began < 0.01:
            batch *= 2
    return count / (time.perf_counter() - start)


def _gmssl_operations(
    key: Sm2PrivateKey, data_key: bytes, message: bytes, signature: bytes
) -> dict[str, Callable[[], object]]:
    try:  # imported by name: gmssl ships no type information, and may be absent
        func: Any = importlib.import_module("gmssl.func")
        gm_sm2: Any = importlib.import_module("gmssl.sm2")
        gm_sm3: Any = importlib.import_module("gmssl.sm3")
        gm_sm4: Any = importlib.import_module("gmssl.sm4")
    except ImportError:
        return {}
    signer = gm_sm2.CryptSM2(private_key=key.hex, public_key=key.public_key.hex)
    raw = signature_to_raw(signature).hex()
    cbc = gm_sm4.CryptSM4()
    cbc.set_key(data_key, gm_sm4.SM4_ENCRYPT)
    return {
        "SM2 sign": lambda: signer.sign_with_sm3(message, func.random_hex(64)),
        "SM2 verify": lambda: signer.verify_with_sm3(raw, message),
        "SM4-CBC encrypt": lambda: cbc.crypt_cbc(os.urandom(16), message),
        "SM3": lambda: gm_sm3.sm3_hash(func.bytes_to_list(message)),
    }
