"""Cheap looks at a document's head, for `--format auto` (never raise, never parse it all)."""

from __future__ import annotations

import re

__all__ = ["head_text", "json_mentions", "xml_root"]

_HEAD = 4096
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_ROOT = re.compile(r"\s*<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)[\s/>]")
_SKIPPED = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def head_text(raw: bytes, size: int = _HEAD) -> str:
    """The first `size` bytes as text: a BOM stripped, UTF-8 or else GB18030, errors replaced."""
    if not isinstance(raw, bytes | bytearray):
        return ""
    data = bytes(raw[: size + 3])
    for bom in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:  # a character cut by the window
            return data[: exc.start].decode("utf-8", "replace")
    return data.decode("gb18030", "replace")


def xml_root(raw: bytes) -> tuple[str, str] | None:
    """(prefix, local name) of the first element, or None when the head is not XML."""
    text = head_text(raw)
    position = 0
    while True:
        skipped = _SKIPPED.match(text, position)
        if skipped is None or skipped.end() == position:
            break
        position = skipped.end()
    found = _ROOT.match(text, position)
    if found is None:
        return None
    return found.group(1) or "", found.group(2)


def json_mentions(raw: bytes, *needles: str) -> bool:
    """Whether the head is a JSON object or array mentioning every one of `needles`."""
    text = head_text(raw).lstrip()
    return text[:1] in ("{", "[") and all(n in text for n in needles)
