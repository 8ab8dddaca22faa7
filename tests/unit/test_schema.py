"""The JSON Schema in docs/ is generated from the code and accepts exactly what the codec accepts."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from events import REGISTRY
from events.schema import json_schema, render
from events.validation import to_wire

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"


def test_committed_schema_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), "run: python -m events.schema > docs/events.schema.json"


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_example_event_is_valid_under_the_schema(type_name):
    cls = REGISTRY[type_name]
    event = cls(event_id="e1", matter_id="m1", occurred_at=1_767_225_600_000, producer="p", **cls.EXAMPLE)
    jsonschema.validate(to_wire(event), json_schema())


@pytest.mark.parametrize("change", [
    lambda r: r["data"].update(priority="high"),
    lambda r: r["data"].update(phone="138"),
    lambda r: r.pop("producer"),
    lambda r: r.update(at=12),
])
def test_the_schema_rejects_what_the_codec_rejects(change):
    cls = REGISTRY["reported"]
    record = to_wire(cls(event_id="e1", matter_id="m1", occurred_at=1_767_225_600_000, producer="p", **cls.EXAMPLE))
    change(record)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, json_schema())


def test_the_schema_document_is_json():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["$defs"].keys() == REGISTRY.keys()
