"""A log record becomes the same row as the full decoder would give, straight from its msgpack
map; what cannot become a row is rejected with a reason, never with a crash."""
from __future__ import annotations

import pytest

from events import codec
from events.types import REGISTRY
from events.validation import to_wire
from projections import logrow, rows
from projections.errors import RecordRejected

AT = 1_767_234_600_000


def example(type_name: str):
    cls = REGISTRY[type_name]
    return cls(event_id=f"e-{type_name}", matter_id="m1", occurred_at=AT, producer="app", **cls.EXAMPLE)


def wire(type_name: str, **changes) -> dict:
    record = to_wire(example(type_name))
    data = changes.pop("data", None)
    record.update(changes)
    if data is not None:
        record["data"] = {**record["data"], **data}
    return record


def rejection(record) -> RecordRejected:
    with pytest.raises(RecordRejected) as caught:
        logrow.decode(codec.pack(record), 0, 0)
    return caught.value


@pytest.mark.parametrize("type_name", sorted(logrow.PLANS))
def test_every_log_event_type_gives_the_row_of_the_full_decoder(type_name):
    value = codec.encode(example(type_name))
    assert tuple(logrow.decode(value, 3, 77)) == rows.to_row(codec.decode(value), 3, 77)


def test_a_type_sent_as_a_list_is_a_validation_error_not_a_crash():
    rejected = rejection(wire("accepted", type=["accepted"]))
    assert rejected.reason == "validation_error" and "type" in str(rejected)


def test_bytes_that_are_not_msgpack_are_a_decode_error():
    with pytest.raises(RecordRejected) as caught:
        logrow.decode(b"\xc1 not msgpack", 0, 0)
    assert caught.value.reason == "decode_error"


def test_a_missing_value_is_rejected_even_for_a_field_clickhouse_never_stores():
    record = wire("resolved")
    del record["data"]["handler"]
    rejected = rejection(record)
    assert rejected.reason == "validation_error" and "data.handler" in str(rejected)


def test_a_field_the_type_does_not_have_is_rejected():
    rejected = rejection(wire("accepted", data={"mood": "happy"}))
    assert "data.mood" in str(rejected)


@pytest.mark.parametrize("type_name, data, field", [
    ("sla_started", {"cycle": 1 << 32}, "data.cycle"),      # UInt32 would wrap it in chdb
    ("sla_started", {"cycle": -1}, "data.cycle"),
    ("sla_started", {"cycle": True}, "data.cycle"),
    ("sla_breached", {"due_at": "soon"}, "data.due_at"),
    ("sla_warning", {"threshold": float("nan")}, "data.threshold"),
    ("feedback", {"contacted": 1}, "data.contacted"),
    ("accepted", {"unit": 42}, "data.unit"),
])
def test_a_value_that_does_not_fit_its_column_is_rejected_naming_the_field(type_name, data, field):
    rejected = rejection(wire(type_name, data=data))
    assert rejected.reason == "validation_error" and str(rejected).startswith(field)


def test_an_event_time_outside_2000_to_2100_is_rejected():
    assert "at:" in str(rejection(wire("accepted", at=AT // 1000)))


def test_a_watermark_does_not_belong_in_the_log_and_keeps_its_id():
    rejected = rejection(wire("watermark"))
    assert (rejected.reason, rejected.event_id) == ("not_a_log_event", "e-watermark")


def test_another_version_goes_through_the_full_decoder():
    rejected = rejection(wire("accepted", v=7))
    assert rejected.reason == "validation_error" and str(rejected).startswith("v:")


def test_the_row_carries_where_the_record_was_read():
    row = dict(zip(rows.COLUMNS, logrow.decode(codec.encode(example("verified")), 2, 40)))
    assert (row["log_partition"], row["log_offset"], row["type"], row["schema_version"]) == (2, 40, "verified", 1)


def test_kafka_python_checks_record_crcs_with_the_crc32c_extension_not_in_python():
    from kafka.record import util

    assert util.crc32c_c is not None, "pip install crc32c (a dependency): without it reads are ~4x slower"


def test_a_record_over_the_size_limit_is_a_decode_error():
    with pytest.raises(RecordRejected) as err:
        logrow.decode(b"\x92" + b"x" * codec.MAX_RECORD_BYTES, 0, 0)
    assert err.value.reason == "decode_error" and "larger than the maximum" in str(err.value)
