"""JSON Schemas of the bus messages, the envelope and the quote documents (`factorhub calc`,
`POST /v1/calc`), for partners and contract tests."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from canonical import MESSAGE_TYPES, Envelope

__all__ = ["export_schemas"]


def export_schemas(directory: Path) -> list[Path]:
    """Write `<Type>.schema.json` per message type plus the envelope; returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    models: dict[str, type[BaseModel]] = {"Envelope": Envelope, **MESSAGE_TYPES}
    for name, model in models.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"urn:factorhub:schema:{name}:v1"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        if topic := getattr(model, "topic", None):
            schema["x-factorhub-topic"] = topic
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    from routes.quote import QuoteRequest, QuoteResult

    for name, document, mode in (
        ("QuoteRequest", QuoteRequest, "validation"),
        ("QuoteResult", QuoteResult, "serialization"),
    ):
        schema = document.model_json_schema(mode=mode)  # type: ignore[arg-type]
        schema["$id"] = f"urn:factorhub:schema:{name}:v1"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written
