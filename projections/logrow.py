"""A record of the event log as a row of ``events``, straight from its msgpack map.

The event log is written by the pipeline alone: upstream events after the intake validated
them, derived events by the matter agent. Validating every record again on its way to
ClickHouse repeated that work (13% of the projector's time) and built an event object only to
take it apart again. Here a record of a known type at its current version becomes a row
directly, checking only what a row needs: every required field of the type is there and no
other, and each stored value has its column's Python type and fits the column's range (chdb
would wrap an out-of-range integer silently). Choices, lengths and cross-field rules are the
intake's business and are trusted. A record that fails raises ``RecordRejected`` with the
reason, like any bad record; an older version goes through the events package's decoder,
whose upcasters lift it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from events import codec
from events.errors import DecodeError, EventError
from events.types import REGISTRY, RESOURCE_TYPES, Event, payload_fields
from events.validation import AT_MAX, AT_MIN
from projections import rows
from projections.errors import RecordRejected

Check = Callable[[str, Any], Any]
FLOAT32_MAX = 3.4028234663852886e38
_INDEX = {c: i for i, c in enumerate(rows.COLUMNS)}
_PARTITION, _OFFSET = _INDEX["log_partition"], _INDEX["log_offset"]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _invalid(name: str, expected: str, got: Any) -> RecordRejected:
    return RecordRejected("validation_error", f"{name}: expected {expected}, got {_shown(got)}")


def _string(name: str, value: Any) -> str:
    if type(value) is not str:
        raise _invalid(name, "a string", value)
    return value


def _uint(bits: int) -> Check:
    limit = 1 << bits

    def check(name: str, value: Any) -> int:
        if type(value) is not int or not 0 <= value < limit:
            raise _invalid(name, f"an integer from 0 to {limit - 1} (UInt{bits})", value)
        return value

    return check


def _flag(name: str, value: Any) -> int:
    if type(value) is not bool:
        raise _invalid(name, "true or false", value)
    return int(value)


def _float32(name: str, value: Any) -> float:
    if type(value) not in (float, int) or not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise _invalid(name, "a finite number (Float32)", value)
    return float(value)


def _kept(name: str, value: Any) -> Any:
    return value  # not stored: present is all a row needs


@dataclass(frozen=True)
class Plan:
    """How one event type at its current version becomes a row."""

    version: int
    template: tuple  # the row with the type, version and every default filled in
    fields: tuple[tuple[str, int, Check, bool], ...]  # name, column index (-1: not stored), check, required
    names: frozenset[str]


def _check_for(cls: type[Event], name: str, kind: type) -> tuple[int, Check]:
    if name in rows.NEVER_STORED or (name == "reason" and cls.TYPE in rows.FREE_TEXT_REASON):
        return -1, _kept
    if kind is str:
        return _INDEX[name], _string
    if kind is bool:
        return _INDEX[name], _flag
    if kind is float and name in rows.FLOAT32:
        return _INDEX[name], _float32
    if kind is int and name in rows.UINT_BITS:
        return _INDEX[name], _uint(rows.UINT_BITS[name])
    raise TypeError(f"{cls.TYPE}.{name}: no column type for a {kind.__name__}")


def compile_plan(cls: type[Event]) -> Plan:
    template = [rows.DEFAULTS.get(c, 0) for c in rows.COLUMNS]
    template[_INDEX["type"]], template[_INDEX["schema_version"]] = cls.TYPE, cls.VERSION
    fields = []
    for f in payload_fields(cls):
        index, check = _check_for(cls, f.name, f.metadata["kind"])
        fields.append((f.name, index, check, not f.metadata["optional"]))
    return Plan(cls.VERSION, tuple(template), tuple(fields), frozenset(f[0] for f in fields))


PLANS: dict[str, Plan] = {t: compile_plan(c) for t, c in REGISTRY.items()
                          if not c.INTERNAL and t != "watermark" and t not in RESOURCE_TYPES}
NOT_IN_LOG = frozenset(t for t in REGISTRY if t not in PLANS)


def _envelope(wire: dict, row: list) -> None:
    for key, index in (("id", 0), ("matter", 1), ("producer", 5)):
        row[index] = _string(key, wire.get(key))
    at = wire.get("at")
    if type(at) is not int or not AT_MIN <= at < AT_MAX:
        raise _invalid("at", "UTC epoch milliseconds between 2000 and 2100", at)
    row[rows.OCCURRED_AT] = at


def decode(value: bytes, partition: int, offset: int) -> list:
    """The row of ``events`` for one record of the log; raises ``RecordRejected``."""
    if value is not None and len(value) > codec.MAX_RECORD_BYTES:  # the pipeline never writes one
        raise RecordRejected("decode_error", f"a record of {len(value)} bytes is larger than the maximum of "
                                             f"{codec.MAX_RECORD_BYTES} bytes")
    try:
        wire = codec.unpack(value)
    except DecodeError as exc:
        raise RecordRejected("decode_error", str(exc)) from exc
    if type(wire) is not dict:
        raise _invalid("record", "a map with id, matter, type, v, at, producer, data", type(wire).__name__)
    type_name = wire.get("type")
    if type(type_name) is not str:
        raise _invalid("type", "the name of an event type", type_name)
    plan = PLANS.get(type_name)
    if plan is None:
        if type_name in NOT_IN_LOG:
            event_id = wire.get("id")
            raise RecordRejected("not_a_log_event", f"{type_name} does not belong in the event log",
                                 event_id if type(event_id) is str else None)
        raise _invalid("type", "one of " + ", ".join(sorted(PLANS)), type_name)
    if wire.get("v") != plan.version:
        return _upcast(value, partition, offset)
    data = wire.get("data", {})
    if type(data) is not dict:
        raise _invalid("data", "a map", data)
    row = list(plan.template)
    _envelope(wire, row)
    for name, index, check, required in plan.fields:
        field_value = data.get(name)
        if field_value is None:
            if required:
                raise _invalid(f"data.{name}", "a value (required)", None)
        elif index >= 0:
            row[index] = check(f"data.{name}", field_value)
    if not data.keys() <= plan.names:
        extra = sorted(str(k) for k in data.keys() - plan.names)[0]
        raise _invalid(f"data.{extra}", f"only the fields of {type_name!r}", "an unknown field")
    row[_PARTITION], row[_OFFSET] = partition, offset
    return row


def _upcast(value: bytes, partition: int, offset: int) -> list:
    """Another version than the current one: the full decoder validates and upcasts it."""
    try:
        event = codec.decode(value)
    except EventError as exc:
        reason = "decode_error" if isinstance(exc, DecodeError) else "validation_error"
        raise RecordRejected(reason, str(exc)) from exc
    return list(rows.to_row(event, partition, offset))
