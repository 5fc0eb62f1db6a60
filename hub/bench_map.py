"""`factorhub bench map`: a mapper's documents/s on one core beside the raw parse of the same bytes.

The raw parse is what the format needs before any mapping (`json.loads` for JSON, lxml's
`fromstring` for XML), so the ratio says what the mapping itself costs: the target is a ratio
of at least 0.25 (mapping within 4x of parsing).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from lxml import etree

from mappings.catalogue import InboundFormat

__all__ = ["MapBench", "bench_map", "generated_documents"]

RECEIVED_AT = datetime(2026, 11, 20, 10, 30, tzinfo=timezone(timedelta(hours=8)))
_GENERATED = {"kingdee-sales-invoice": "kingdee", "yonbip-sales-invoice": "yonyou"}


@dataclass(frozen=True, slots=True)
class MapBench:
    format: str
    documents: int
    average_bytes: float
    raw_name: str
    raw_per_second: float
    map_per_second: float

    @property
    def ratio(self) -> float:
        return self.map_per_second / self.raw_per_second if self.raw_per_second else 0.0


def generated_documents(format_name: str, count: int, seed: int = 3) -> list[bytes]:
    """`count` distinct ERP pushes from the simulators' generator (ERP formats only)."""
    from simulators.erp.dataset import generate_companies, generate_invoices
    from simulators.erp.payloads import render

    vendor = _GENERATED.get(format_name)
    if vendor is None:
        raise LookupError(
            f"no generator for {format_name!r}: give sample files "
            f"(generated: {', '.join(_GENERATED)})"
        )
    companies = generate_companies(seed, sellers=8, buyers=32)
    cases = generate_invoices(
        seed, count * 2, companies, {"order_amount_mismatch": 0, "quantity_over_delivery": 0}
    )
    return [render(c) for c in cases if c.vendor == vendor][:count]


def documents_from(paths: Sequence[Path], count: int) -> list[bytes]:
    """`count` documents cycling over the sample files."""
    samples = [p.read_bytes() for p in paths]
    return [samples[i % len(samples)] for i in range(count)]


def bench_map(fmt: InboundFormat, documents: Sequence[bytes], *, rounds: int = 3) -> MapBench:
    """Best of `rounds` passes of the raw parse and of the mapper over the same documents."""
    raw_name, parse = _raw_parser(documents[0])
    read = fmt.read
    fmt.read(documents[0], RECEIVED_AT)  # fail fast (MappingError) on a bad sample
    return MapBench(
        format=fmt.name,
        documents=len(documents),
        average_bytes=sum(map(len, documents)) / len(documents),
        raw_name=raw_name,
        raw_per_second=_best(parse, documents, rounds),
        map_per_second=_best(lambda raw: read(raw, RECEIVED_AT), documents, rounds),
    )


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _xml(raw: bytes) -> object:
    return etree.fromstring(raw, _PARSER)


def _framed_xml(raw: bytes) -> object:
    return etree.fromstring(raw[raw.index(b"<") :], _PARSER)


def _raw_parser(sample: bytes) -> tuple[str, Callable[[bytes], object]]:
    """The bare parse the format needs: XML, JSON, or the XML body of a framed message
    (a CNAPS2 header in front of it)."""
    head = sample.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "lxml.etree.fromstring", _xml
    try:
        json.loads(head)
    except ValueError:
        if b"<" in head:
            return "lxml.etree.fromstring (body)", _framed_xml
        raise
    return "json.loads", json.loads


def _best(work: Callable[[bytes], object], documents: Sequence[bytes], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for raw in documents:
            work(raw)
        best = max(best, len(documents) / (time.perf_counter() - started))
    return best
