"""The msgpack codec: the only module that imports msgpack.

An event on the wire is a msgpack map ``{id, matter, type, v, at, producer, data}``.
Decoding validates and upcasts; bytes that are not a record raise ``DecodeError``,
records that break the contract raise ``ValidationError`` naming the field.

A record is at most ``MAX_RECORD_BYTES``: the largest legitimate event, 2,000 characters of
text (at most 8,000 bytes of UTF-8) with 128-character ids, is about 9 KB, so 64 KiB leaves
room for growth and still bounds what a hostile or broken producer can make the pipeline hold.
"""
from __future__ import annotations

from typing import Any

import msgpack

from events.errors import DecodeError, RecordTooLarge, ValidationError
from events.orgtree import OrgUnit
from events.types import Event
from events.validation import Upcaster, from_wire, to_wire

# The largest intake record the pipeline accepts (bytes of one encoded event). The largest
# legitimate event, with 2,000 characters of text, is a few KB; anything bigger is dead-lettered.
MAX_RECORD_BYTES = 65536

# (type, from_version) -> function turning that version's data map into the next version's.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(type_name: str, from_version: int):
    """Register ``fn(data) -> data`` lifting ``type_name`` data from ``from_version`` to the next."""

    def wrap(fn: Upcaster) -> Upcaster:
        UPCASTERS[(type_name, from_version)] = fn
        return fn

    return wrap


# One packer for the process: ``msgpack.packb`` builds a Packer per call, a third of the cost
# of packing an event. ``Packer.pack`` runs in C without releasing the GIL, so sharing is safe.
_packer = msgpack.Packer(use_bin_type=True)


def pack(value: Any) -> bytes:
    return _packer.pack(value)


def unpack(data: bytes) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=True)
    except (msgpack.UnpackException, ValueError, TypeError) as exc:
        raise DecodeError(f"not a msgpack record: {exc}") from exc


def encode(event: Event) -> bytes:
    """The canonical bytes of an event. Events are immutable, so the bytes are kept on the event
    the first time: the state machine digests an applied event and the worker writes it to the
    log, one encoding for both."""
    attrs = event.__dict__
    data = attrs.get(_ENCODED)
    if data is None:
        data = attrs[_ENCODED] = pack(to_wire(event))  # not a field: equality and replace ignore it
    return data


_ENCODED = "_encoded"


def encode_bounded(event: Event) -> bytes:
    """``encode``, refusing an event larger than ``MAX_RECORD_BYTES`` (``RecordTooLarge``)."""
    data = encode(event)
    if len(data) > MAX_RECORD_BYTES:
        raise RecordTooLarge(event.event_id, len(data), MAX_RECORD_BYTES)
    return data


def decode(data: bytes, upcasters: dict[tuple[str, int], Upcaster] | None = None) -> Event:
    if isinstance(data, (bytes, bytearray, memoryview)) and len(data) > MAX_RECORD_BYTES:
        raise DecodeError(f"a record of {len(data)} bytes is larger than the maximum of {MAX_RECORD_BYTES} bytes")
    return from_wire(unpack(data), UPCASTERS if upcasters is None else upcasters)


def encode_org_unit(unit: OrgUnit) -> bytes:
    return pack(unit.to_record())


def decode_org_unit(data: bytes) -> OrgUnit:
    return OrgUnit.from_record(unpack(data))


def encode_deadletter(*, reason: str, original: bytes, topic: str, partition: int, offset: int,
                      stage: str, at: int, event_id: str | None = None) -> bytes:
    """A dead letter: why, where from, and the original bytes untouched."""
    return pack({"reason": reason, "stage": stage, "topic": topic, "partition": partition,
                 "offset": offset, "at": at, "event_id": event_id, "original": bytes(original)})


# A dead letter's fields and their types, as ``encode_deadletter`` writes them.
_DEADLETTER: dict[str, tuple[type, ...]] = {
    "reason": (str,), "stage": (str,), "topic": (str,), "partition": (int,), "offset": (int,),
    "at": (int,), "event_id": (str, type(None)), "original": (bytes,)}


def decode_deadletter(data: bytes) -> dict[str, Any]:
    """The map ``encode_deadletter`` wrote, every field checked (a reader trusts what it gets)."""
    record = unpack(data)
    if not isinstance(record, dict) or "original" not in record:
        raise DecodeError("not a dead-letter record")
    out = {}
    for name, types in _DEADLETTER.items():
        value = record.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValidationError(name, f"{expected} (a dead-letter field)", value)
        out[name] = value
    return out
