"""A record of the resources log as a row of ``resource_events`` (migration 0007).

The resources log holds only what the worker accepted, so the record is decoded with the
events package's decoder (it validates and upcasts) and its fields are taken as they are. No
personal data: resource ids, kinds, categories, covered units, capacities and the co-building
unit, points redeemed; the free-text reason of a withdrawal and note of a redemption stay in the
log, and so do the availability windows.
"""
from __future__ import annotations

from events import codec
from events.errors import DecodeError, EventError
from events.types import RESOURCE_TYPES
from projections.errors import RecordRejected

COLUMNS = ("event_id", "resource_id", "type", "occurred_at", "kind", "categories", "covers", "capacity", "points",
           "unit", "log_partition", "log_offset")


def decode(value: bytes, partition: int, offset: int) -> list:
    """The row for one record of the resources log; raises ``RecordRejected``."""
    try:
        event = codec.decode(value)
    except EventError as exc:
        reason = "decode_error" if isinstance(exc, DecodeError) else "validation_error"
        raise RecordRejected(reason, str(exc)) from exc
    if event.TYPE not in RESOURCE_TYPES:
        raise RecordRejected("not_a_log_event", f"{event.TYPE} does not belong in the resources log",
                             event.event_id)
    values = event.__dict__
    return [event.event_id, event.matter_id, event.TYPE, event.occurred_at, values.get("kind") or "",
            ",".join(values.get("categories") or ()), ",".join(values.get("covers") or ()),
            values.get("capacity") or 0, values.get("points") or 0, values.get("unit") or "", partition, offset]
