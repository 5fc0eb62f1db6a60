"""The catalogue of external formats: what `factorhub map`, `factorhub render`,
`factorhub bench map` and `POST /v1/ingest/{format}` offer.

Each mapper module describes its own formats as module-level `INBOUND` / `OUTBOUND` tuples of the
records below; this module only gathers them. A record carries everything a caller needs, so the
CLI and the ingress never special-case a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["InboundFormat", "OutboundFormat"]


@dataclass(frozen=True, slots=True)
class InboundFormat:
    """An external document we read into the canonical model."""

    name: str
    """Stable, lower-case, dash-separated (`kingdee-sales-invoice`); used in the CLI and URLs."""
    family: str
    """The source family the ingress groups it under (`kingdee`, `vat`, `customs`, ...)."""
    title: str
    """One line for `factorhub map --list`."""
    read: Callable[[bytes, datetime], object]
    """Raw bytes and the moment they were received -> a canonical object (a pydantic model or a
    frozen dataclass of them). Raises `canonical.MappingError` and nothing else."""
    recognise: Callable[[bytes], bool]
    """A cheap look at the content for `--format auto`; never raises."""


@dataclass(frozen=True, slots=True)
class OutboundFormat:
    """A document we write from the canonical model."""

    name: str
    title: str
    model: type[BaseModel]
    """What `factorhub render FORMAT FILE.json` validates FILE.json into."""
    write: Callable[[Any], bytes]
    """An instance of `model` -> the document's bytes. Raises `canonical.MappingError` only."""
