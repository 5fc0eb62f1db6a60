import json
import os
import re

import jsonschema

from canonical import MESSAGE_TYPES, Envelope
from canonical.envelope import new_message_id
from hub.schemas import export_schemas


def test_every_message_type_has_a_distinct_topic():
    topics = [cls.topic for cls in MESSAGE_TYPES.values()]
    assert len(topics) == len(set(topics))


def test_schema_export_writes_one_valid_schema_per_message_type(tmp_path):
    files = export_schemas(tmp_path)
    names = {p.name for p in files}
    expected = [*MESSAGE_TYPES, "Envelope", "QuoteRequest", "QuoteResult"]
    assert names == {f"{n}.schema.json" for n in expected}
    for path in files:
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)


def test_an_envelope_validates_against_its_exported_schema(tmp_path):
    export_schemas(tmp_path)
    schema = json.loads((tmp_path / "Envelope.schema.json").read_text())
    envelope = Envelope(
        correlation_id="FR1",
        tenant="t",
        source_system="kingdee",
        type="FinancingSubmitted",
        body={"request_id": "FR1"},
    )
    jsonschema.validate(json.loads(envelope.model_dump_json()), schema)
    assert envelope.message_id
    assert envelope.occurred_at.tzinfo is not None


def test_message_ids_are_unique_32_hex_digits_and_differ_after_a_fork():
    ids = {new_message_id() for _ in range(100_000)}
    assert len(ids) == 100_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in list(ids)[:1000])
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, new_message_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert from_child[:16] != new_message_id()[:16]
