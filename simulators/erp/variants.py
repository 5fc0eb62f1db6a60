"""Seed-free, per-document choices of wire quirks (a hash of the document number decides)."""

from __future__ import annotations

import hashlib


def one_in(n: int, quirk: str, document_no: str) -> bool:
    """True for about one document in `n`, always the same documents for the same quirk."""
    digest = hashlib.sha256(f"{quirk}:{document_no}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == 0
