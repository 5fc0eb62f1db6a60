import json

import jsonschema

from canonical import MESSAGE_TYPES, Envelope
from hub.schemas import export_schemas


def test_every_message_type_has_a_distinct_topic():
    topics = [cls.topic for cls in MESSAGE_TYPES.values()]
    assert len(topics) == len(set(topics))


def test_schema_export_writes_one_valid_schema_per_message_type(tmp_path):
    files = export_schemas(tmp_path)
    names = {p.name for p in files}
    assert names == {f"{n}.schema.json" for n in [*MESSAGE_TYPES, "Envelope"]}
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
