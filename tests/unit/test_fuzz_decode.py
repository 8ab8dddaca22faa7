"""Hostile bytes and hostile maps: decoding either returns a valid event or raises one of
the contract's own errors (``DecodeError``, ``ValidationError``), never anything else.

Bounded: every property has an explicit number of examples and the module runs in seconds.
"""
from __future__ import annotations

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import REGISTRY, DecodeError, EventError, ValidationError, codec
from events.orgtree import OrgUnit
from events.levels import Level
from events.types import Event, event, spec
from events.validation import from_wire, to_wire

AT = 1_767_225_600_000
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SHORT = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def example(type_name: str) -> Event:
    cls = REGISTRY[type_name]
    return cls(event_id=f"e-{type_name}", matter_id="m-1", occurred_at=AT, producer="fuzz", **cls.EXAMPLE)


EXAMPLES = {t: codec.encode(example(t)) for t in REGISTRY}

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**64 - 1)
           | st.floats(allow_nan=True) | st.text(max_size=40) | st.binary(max_size=40))
keys = st.text(max_size=12) | st.binary(max_size=6)  # what msgpack's strict map keys allow
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(keys, inner, max_size=4), max_leaves=20)


def decodes_or_refuses(raw: bytes, decoder=codec.decode) -> None:
    try:
        decoder(raw)
    except (DecodeError, ValidationError):
        pass


# --- codec.decode ----------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_decode_or_fail_cleanly(raw):
    decodes_or_refuses(raw)


@FUZZ
@given(values)
def test_random_msgpack_values_decode_or_fail_cleanly(value):
    decodes_or_refuses(msgpack.packb(value, use_bin_type=True))


@FUZZ
@given(st.sampled_from(sorted(REGISTRY)), st.data())
def test_mutated_bytes_of_every_valid_event_decode_or_fail_cleanly(type_name, data):
    raw = bytearray(EXAMPLES[type_name])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(("flip", "insert", "delete", "truncate")))
        if action == "flip":
            raw[i] = data.draw(st.integers(0, 255))
        elif action == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        elif action == "delete" and len(raw) > 1:
            del raw[i]
        else:
            raw = raw[:i]
        if not raw:
            break
    decodes_or_refuses(bytes(raw))


@FUZZ
@given(st.sampled_from(sorted(REGISTRY)), st.data())
def test_any_field_of_a_valid_event_replaced_by_anything_fails_cleanly(type_name, data):
    record = to_wire(example(type_name))
    place = data.draw(st.sampled_from(["id", "matter", "type", "v", "at", "producer", "data", "data.*", "data+"]))
    junk = data.draw(values)
    if place == "data.*" and record["data"]:
        record["data"][data.draw(st.sampled_from(sorted(record["data"])))] = junk
    elif place == "data+":
        record["data"][data.draw(keys)] = junk
    elif place != "data.*":
        record[place] = junk
    decodes_or_refuses(msgpack.packb(record, use_bin_type=True))


@pytest.mark.parametrize("where", ["type", "id", "v", "at", "data.place", "data.text"])
@pytest.mark.parametrize("as_map", [False, True])
def test_a_value_nested_a_thousand_deep_is_a_validation_error(where, as_map):
    record = to_wire(example("reported"))
    sentinel = "@@deep@@"
    if where.startswith("data."):
        record["data"][where[5:]] = sentinel
    else:
        record[where] = sentinel
    # msgpack's packer refuses more than 511 levels: write the nested value's bytes by hand
    deep = (b"\x81\xa1a" if as_map else b"\x91") * 1000 + b"\x01"
    raw = msgpack.packb(record, use_bin_type=True).replace(msgpack.packb(sentinel), deep)
    with pytest.raises(ValidationError) as caught:
        codec.decode(raw)
    assert caught.value.field == where
    assert str(caught.value).endswith("got a map" if as_map else "got a list")


def test_an_unhashable_type_names_the_field_and_what_came():
    record = to_wire(example("reported")) | {"type": ["reported"]}
    with pytest.raises(ValidationError, match=r"^type: expected one of accepted, .*, got a list$"):
        codec.decode(msgpack.packb(record, use_bin_type=True))


def test_data_keys_that_are_bytes_are_refused_naming_data():
    record = to_wire(example("reported"))
    record["data"][b"kind"] = "incident"
    with pytest.raises(ValidationError, match=r"^data: expected a map with string keys, got b'kind'$"):
        codec.decode(msgpack.packb(record, use_bin_type=True))


def test_more_nesting_than_msgpack_allows_is_a_decode_error():
    with pytest.raises(DecodeError):
        codec.decode(b"\x91" * 100_000 + b"\x01")


@pytest.fixture
def renamed_v2():
    """A made-up event at version 2 whose field was renamed, registered for one test."""

    @event("test_renamed", version=2)
    class Renamed(Event):
        unit: str = spec(str, doc="was old_unit in v1")

    yield {("test_renamed", 1): lambda d: {"unit": d.pop("old_unit")}}  # KeyError on malformed old data
    del REGISTRY["test_renamed"]


def test_a_failing_upcaster_is_a_validation_error_on_data(renamed_v2):
    record = msgpack.packb({"id": "e-1", "matter": "m-1", "type": "test_renamed", "v": 1, "at": AT,
                            "producer": "old-app", "data": {"unit": "u-1"}})
    with pytest.raises(ValidationError, match=r"^data: expected a valid v1 'test_renamed' payload"):
        codec.decode(record, renamed_v2)


def test_a_lone_surrogate_in_text_is_refused_before_it_reaches_the_codec():
    record = to_wire(example("reported"))
    record["data"]["text"] = "leak \ud800"
    with pytest.raises(ValidationError, match="^data.text: expected valid Unicode text"):
        from_wire(record)


# --- validation.from_wire on Python values (the JSON-lines and SDK path) ---------------------------


@FUZZ
@given(values | st.dictionaries(st.sampled_from(["id", "matter", "type", "v", "at", "producer", "data"]), values))
def test_from_wire_takes_any_value_and_fails_cleanly(record):
    try:
        from_wire(record)
    except ValidationError:
        pass


# --- org units and dead letters ----------------------------------------------------------------

UNIT = codec.encode_org_unit(OrgUnit("u-beijiang-g02", Level.GRID, "u-beijiang", "北江社区第2网格"))
LETTER = codec.encode_deadletter(reason="invalid: x", original=b"\xc1", topic="t", partition=0, offset=1,
                                 stage="intake", at=AT, event_id=None)


@SHORT
@given(st.binary(max_size=200) | values.map(lambda v: msgpack.packb(v, use_bin_type=True)))
def test_random_org_unit_records_decode_or_fail_cleanly(raw):
    decodes_or_refuses(raw, codec.decode_org_unit)


@SHORT
@given(st.sampled_from(["unit", "level", "parent", "name", "v"]), values)
def test_any_field_of_an_org_unit_replaced_by_anything_fails_cleanly(field, junk):
    record = codec.unpack(UNIT) | {field: junk}
    decodes_or_refuses(msgpack.packb(record, use_bin_type=True), codec.decode_org_unit)


@SHORT
@given(st.binary(max_size=200) | values.map(lambda v: msgpack.packb(v, use_bin_type=True)))
def test_random_dead_letters_decode_or_fail_cleanly(raw):
    decodes_or_refuses(raw, codec.decode_deadletter)


@SHORT
@given(st.sampled_from(["reason", "stage", "topic", "partition", "offset", "at", "event_id", "original"]), values)
def test_any_field_of_a_dead_letter_replaced_by_anything_fails_cleanly(field, junk):
    record = codec.unpack(LETTER) | {field: junk}
    try:
        letter = codec.decode_deadletter(msgpack.packb(record, use_bin_type=True))
    except (DecodeError, ValidationError):
        return
    assert isinstance(letter["original"], bytes) and isinstance(letter["offset"], int)


def test_every_error_here_is_an_event_error():
    assert issubclass(DecodeError, EventError) and issubclass(ValidationError, EventError)
