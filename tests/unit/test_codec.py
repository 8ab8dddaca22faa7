"""The msgpack codec: every event type round-trips; bad bytes and bad fields fail naming the field."""
from __future__ import annotations

import msgpack
import pytest

from events import REGISTRY, DecodeError, ValidationError, codec
from events.types import MatterReported, payload_fields
from events.validation import to_wire

AT = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def example(type_name: str):
    cls = REGISTRY[type_name]
    return cls(event_id=f"e-{type_name}", matter_id="m-1", occurred_at=AT, producer="test", **cls.EXAMPLE)


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_event_type_round_trips_through_msgpack(type_name):
    event = example(type_name)
    assert codec.decode(codec.encode(event)) == event


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_every_example_names_every_required_field(type_name):
    cls = REGISTRY[type_name]
    required = {f.name for f in payload_fields(cls) if not f.metadata["optional"]}
    assert required <= set(cls.EXAMPLE), f"{type_name} example lacks {required - set(cls.EXAMPLE)}"


def test_optional_fields_are_left_out_of_the_wire_and_come_back_as_none():
    event = REGISTRY["dispatched"](event_id="e", matter_id="m", occurred_at=AT, producer="p", handler="h1")
    assert to_wire(event)["data"] == {"handler": "h1"}
    assert codec.decode(codec.encode(event)).unit is None


def wire(**changes):
    record = to_wire(example("reported"))
    data = changes.pop("data", None)
    if data:
        record["data"].update(data)
    record.update(changes)
    return msgpack.packb(record, use_bin_type=True)


@pytest.mark.parametrize("changes, field, expected", [
    ({"data": {"priority": "high"}}, "data.priority", "one of low, normal, urgent"),
    ({"data": {"kind": None}}, "data.kind", "required"),
    ({"data": {"place": ""}}, "data.place", "a non-empty string"),
    ({"data": {"place": 17}}, "data.place", "a string"),
    ({"data": {"text": "x" * 2001}}, "data.text", "at most 2000 characters"),
    ({"data": {"phone": "13800000000"}}, "data.phone", "only the fields of 'reported'"),
    ({"at": 1_767_225_600}, "at", "milliseconds"),
    ({"at": "2026-01-01"}, "at", "an integer"),
    ({"id": ""}, "id", "a non-empty string"),
    ({"matter": None}, "matter", "a string"),
    ({"type": "exploded"}, "type", "one of"),
    ({"v": 2}, "v", "between 1 and 1"),
    ({"v": True}, "v", "an integer"),
])
def test_validation_names_the_field_what_was_expected_and_what_came(changes, field, expected):
    with pytest.raises(ValidationError) as caught:
        codec.decode(wire(**changes))
    assert caught.value.field == field
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"{field}: expected")


def test_cross_field_rules_name_the_missing_field():
    cancelled = REGISTRY["cancelled"](event_id="e", matter_id="m", occurred_at=AT, producer="p", reason="duplicate")
    with pytest.raises(ValidationError, match="data.duplicate_of"):
        codec.decode(codec.encode(cancelled))
    empty_dispatch = REGISTRY["dispatched"](event_id="e", matter_id="m", occurred_at=AT, producer="p")
    with pytest.raises(ValidationError, match="data.unit: expected a unit, a handler or a resource"):
        codec.decode(codec.encode(empty_dispatch))


@pytest.mark.parametrize("raw", [b"", b"\xc1", b"\x92\x01", msgpack.packb([1, 2]), msgpack.packb("hello")])
def test_bytes_that_are_not_a_record_fail_clearly(raw):
    with pytest.raises((DecodeError, ValidationError)):
        codec.decode(raw)


def test_bools_are_not_integers_and_integers_are_not_bools():
    feedback = to_wire(example("feedback"))
    feedback["data"]["contacted"] = 1
    with pytest.raises(ValidationError, match="data.contacted: expected true or false"):
        codec.decode(msgpack.packb(feedback))
    started = to_wire(example("sla_started"))
    started["data"]["cycle"] = True
    with pytest.raises(ValidationError, match="data.cycle: expected an integer"):
        codec.decode(msgpack.packb(started))


def test_deadletter_keeps_the_original_bytes_and_where_they_came_from():
    raw = b"\x00garbage\xff"
    record = codec.decode_deadletter(codec.encode_deadletter(
        reason="decode: not a msgpack record", original=raw, topic="t", partition=3, offset=42,
        stage="intake", at=AT))
    assert record["original"] == raw
    assert (record["topic"], record["partition"], record["offset"], record["stage"]) == ("t", 3, 42, "intake")


def test_reported_event_carries_no_field_for_names_phones_or_addresses():
    names = {f.name for f in payload_fields(MatterReported)}
    assert not names & {"name", "phone", "address", "contact"}
