"""Events as rows of ``events``: what ClickHouse may hold, and what it must never hold.

Every payload field of every event type is either mapped to a column here or named in
``NEVER_STORED`` (a unit test checks it), so a new field forces a decision about personal
data instead of leaking by default.
"""
from __future__ import annotations

from typing import Any, Iterable

from events.types import REGISTRY, Event, payload_fields

# Personal data and free text (DESIGN property 8): stays in the log, never in ClickHouse.
PERSONAL = frozenset({"reporter", "handler", "verifier"})
FREE_TEXT = frozenset({"text", "note"})
# reason is free text on these types and an enumerated code on the others.
FREE_TEXT_REASON = frozenset({"suspended", "reopened", "verification_failed", "resource_withdrawn"})
NOT_NEEDED = frozenset({"warn_at",  # SLA warning instants: sla_warning events carry what matters
                        "summoned_at",  # report_in_missed: the summons is its own `summoned` row
                        "on_time"})  # points_awarded: its points include the bonus
# The resources list: resource events never enter the matters' log (they travel on the
# resources topic, projected into ``resource_events``), and the lists a proposal carries are not
# columns of ``events``; ``resource`` (of dispatched and claimed) is, since migration 0007.
RESOURCE_FIELDS = frozenset({"categories", "covers", "capacity", "availability", "candidates", "scores"})
NEVER_STORED = PERSONAL | FREE_TEXT | NOT_NEEDED | RESOURCE_FIELDS

COLUMNS: tuple[str, ...] = (
    "event_id", "matter_id", "type", "schema_version", "occurred_at", "producer",
    "kind", "category", "priority", "channel", "place", "unit", "level",
    "from_unit", "from_level", "to_unit", "to_level", "reason", "duplicate_of",
    "cycle", "deadline", "due_at", "accept_by", "resolve_by", "threshold",
    "contacted", "solved", "satisfaction", "policy_version", "log_partition", "log_offset",
    "resource", "points",  # added by migration 0007 (ClickHouse appends columns after the others)
)
OCCURRED_AT = COLUMNS.index("occurred_at")
ENVELOPE_COLUMNS = ("event_id", "matter_id", "type", "schema_version", "occurred_at", "producer")
SOURCE_COLUMNS = ("log_partition", "log_offset")
PAYLOAD_COLUMNS = tuple(c for c in COLUMNS if c not in ENVELOPE_COLUMNS + SOURCE_COLUMNS)
# The ClickHouse type of each numeric column (migrations/0001_events.sql); the others are String.
UINT_BITS = {"schema_version": 16, "occurred_at": 64, "cycle": 32, "due_at": 64, "accept_by": 64,
             "resolve_by": 64, "contacted": 8, "solved": 8, "log_partition": 32, "log_offset": 64, "points": 32}
FLOAT32 = frozenset({"threshold"})
# One Python type per column: chdb's Python() table function refuses a column mixing int and float.
DEFAULTS = {c: (0.0 if c in FLOAT32 else 0 if c in UINT_BITS else "") for c in PAYLOAD_COLUMNS}


def payload_columns(event: Event) -> dict[str, Any]:
    """The storable payload of an event, by column name (absent fields take the default)."""
    out = {}
    for name, value in event.payload().items():
        if name in NEVER_STORED or value is None:
            continue
        if name == "reason" and event.TYPE in FREE_TEXT_REASON:
            continue
        if isinstance(value, bool):
            value = int(value)
        elif name in FLOAT32:
            value = float(value)
        out[name] = value
    return out


def to_row(event: Event, partition: int = 0, offset: int = 0) -> tuple:
    values = {**DEFAULTS, **payload_columns(event), "event_id": event.event_id, "matter_id": event.matter_id,
              "type": event.TYPE, "schema_version": event.VERSION, "occurred_at": event.occurred_at,
              "producer": event.producer, "log_partition": partition, "log_offset": offset}
    return tuple(values[c] for c in COLUMNS)


def to_columns(rows: Iterable[tuple]) -> list[list]:
    """Rows as one list per column, for columnar inserts."""
    columns: list[list] = [[] for _ in COLUMNS]
    for row in rows:
        for column, value in zip(columns, row):
            column.append(value)
    return columns


def unmapped_fields() -> dict[str, set[str]]:
    """Payload fields that are neither a column nor deliberately left out (should be empty)."""
    missing = {}
    for type_name, cls in REGISTRY.items():
        names = {f.name for f in payload_fields(cls)}
        gap = names - set(PAYLOAD_COLUMNS) - NEVER_STORED - {"reason"}
        if gap:
            missing[type_name] = gap
    return missing
