"""国密 primitives on native code: SM3 from OpenSSL (hashlib), SM2 and SM4 from tongsuopy.

The pure-Python `gmssl` is only the interoperability oracle in tests: it is ~100x slower.
"""

from __future__ import annotations

import hashlib

__all__ = ["sm3"]


def sm3(data: bytes) -> bytes:
    """The SM3 digest (GB/T 32905-2016) of `data`: 32 bytes."""
    return hashlib.new("sm3", data).digest()
