"""The facts of one matter as a lattice: every fact is folded from its matter's events with a rule
that gives the same answer whatever the grouping, the order of arrival and the repetitions of
those events. So a fold of some events, folded again with a fold of others, equals the fold of
all of them; folding a duplicate changes nothing. That is what lets ClickHouse keep one settled
row per matter (``matter_rows``) next to small partial rows of what changed since
(``matter_changes``), and merge them exactly when a statistic is asked for (docs/statistics.md,
"One row per matter").

A rule is one of:
- ``first`` / ``last``: the value from the earliest / latest event (in log order) of the types a
  *slot* names. Each slot keeps the log offset + 1 of that event (0: none yet), so two folds
  merge by keeping the side with the smaller / larger offset.
- ``min`` / ``max``: the smallest non-zero / the largest value over the events of some types.
- ``set``: the distinct values over the events of some types, sorted.

The table DDL and the materialized view that fold the inserted events are schema: migration
``0006_matter_rows.sql`` holds them as they were when it was written, and a unit test holds them
to ``fold_sql`` and ``COLUMNS``. Changing a fact is a new migration.
"""
from __future__ import annotations

from dataclasses import dataclass

LIFECYCLE = ("reported", "routed", "escalated", "accepted", "dispatched", "claimed", "suspended", "resumed",
             "resolved", "verification_failed", "verified", "reopened", "cancelled")
LEVELS_SQL = "['city', 'district', 'street', 'community', 'grid', 'compound']"
MARK = 8  # an escalation is marked cycle * MARK + the number (1-6) of the level that handed it up


def _types(*names: str) -> str:
    return f"type = '{names[0]}'" if len(names) == 1 else "type IN (" + ", ".join(f"'{n}'" for n in names) + ")"


@dataclass(frozen=True)
class Slot:
    """The earliest (``first``) or latest (``last``) event of some types, by log offset."""

    key: str
    rule: str  # "first" | "last"
    when: str  # SQL condition on an event row


@dataclass(frozen=True)
class Fact:
    name: str
    type: str  # ClickHouse type
    rule: str  # "slot" | "min" | "max" | "set"
    value: str  # SQL expression on an event row
    when: str = ""  # SQL condition on an event row ("" = every event); for "slot", the slot's key


SLOTS = (
    Slot("report_key", "first", _types("reported")),
    Slot("entry_key", "first", _types("routed")),
    Slot("holder_key", "last", _types("routed", "escalated", "sla_started")),
    Slot("resolution_key", "last", _types("resolved")),
    Slot("cancel_key", "last", _types("cancelled")),
    Slot("step_key", "last", _types(*LIFECYCLE)),  # feedback, SLA timers and whistles are not steps
    Slot("feedback_key", "last", _types("feedback")),
)

FACTS = (
    Fact("reported_at", "UInt64", "min", "occurred_at", _types("reported")),
    Fact("kind", "String", "slot", "kind", "report_key"),
    Fact("category", "String", "slot", "category", "report_key"),
    Fact("priority", "String", "slot", "priority", "report_key"),
    Fact("channel", "String", "slot", "channel", "report_key"),
    Fact("place", "String", "slot", "place", "report_key"),
    Fact("entry_level", "String", "slot", "level", "entry_key"),
    Fact("entry_unit", "String", "slot", "unit", "entry_key"),
    Fact("holder_level", "String", "slot", "if(type = 'escalated', to_level, level)", "holder_key"),
    Fact("holder_unit", "String", "slot", "if(type = 'escalated', to_unit, unit)", "holder_key"),
    Fact("accepted_at", "UInt64", "min", "occurred_at", _types("accepted")),
    Fact("first_resolved_at", "UInt64", "min", "occurred_at", _types("resolved")),
    Fact("resolved_at", "UInt64", "slot", "occurred_at", "resolution_key"),
    Fact("resolved_level", "String", "slot", "level", "resolution_key"),
    Fact("resolved_unit", "String", "slot", "unit", "resolution_key"),
    Fact("verified_at", "UInt64", "max", "occurred_at", _types("verified")),
    Fact("cancelled_at", "UInt64", "max", "occurred_at", _types("cancelled")),
    Fact("cancel_reason", "String", "slot", "reason", "cancel_key"),
    Fact("last_step", "String", "slot", "type", "step_key"),
    # Every escalation opens a new arrival cycle at the level above: a duplicate has its
    # original's cycle, two escalations never share one (docs/statistics.md).
    Fact("escalation_marks", "Array(UInt64)", "set", f"cycle * {MARK} + indexOf({LEVELS_SQL}, from_level)",
         _types("escalated")),
    Fact("reopened", "UInt8", "max", "toUInt8(1)", _types("reopened")),
    Fact("verification_failed", "UInt8", "max", "toUInt8(1)", _types("verification_failed")),
    Fact("breached", "UInt8", "max", "toUInt8(1)", _types("sla_breached")),
    Fact("feedback_at", "UInt64", "max", "occurred_at", _types("feedback")),
    Fact("contacted", "UInt8", "slot", "contacted", "feedback_key"),
    Fact("solved", "UInt8", "slot", "solved", "feedback_key"),
    Fact("satisfaction", "String", "slot", "satisfaction", "feedback_key"),
    Fact("last_event_at", "UInt64", "max", "occurred_at"),
)

_SLOT = {s.key: s for s in SLOTS}
# The columns of matter_rows and matter_changes; ``version`` is the largest log offset folded in.
COLUMNS: tuple[tuple[str, str], ...] = (("matter_id", "String"), *((s.key, "UInt64") for s in SLOTS),
                                        *((f.name, f.type) for f in FACTS), ("version", "UInt64"))
NAMES = tuple(name for name, _ in COLUMNS)


def fold_sql() -> str:
    """The SELECT list folding event rows (``events`` columns) into one partial row per matter."""
    out = ["matter_id"]
    for s in SLOTS:
        out.append(f"{'minIf' if s.rule == 'first' else 'maxIf'}(log_offset + 1, {s.when}) AS {s.key}")
    for f in FACTS:
        if f.rule == "slot":
            slot = _SLOT[f.when]
            fn = "argMinIf" if slot.rule == "first" else "argMaxIf"
            out.append(f"{fn}({f.value}, log_offset, {slot.when}) AS {f.name}")
        elif f.rule == "set":
            out.append(f"arraySort(groupUniqArrayIf({f.value}, {f.when})) AS {f.name}")
        else:
            out.append(f"{f.rule}If({f.value}, {f.when}) AS {f.name}" if f.when else f"{f.rule}({f.value}) AS {f.name}")
    out.append("max(log_offset) AS version")
    return ",\n    ".join(out)


def merge_sql(prefix: str = "_") -> str:
    """The SELECT list merging rows of these columns, each read as ``prefix + name``, into one row
    per matter (with ``GROUP BY matter_id``). The prefix keeps ClickHouse 18.16 from reading a
    column name as the same-named alias of the result, which would nest one aggregate in another."""
    p = prefix
    out = ["matter_id"]
    for s in SLOTS:
        out.append(f"minIf({p}{s.key}, {p}{s.key} > 0) AS {s.key}" if s.rule == "first" else f"max({p}{s.key}) AS {s.key}")
    for f in FACTS:
        if f.rule == "slot":
            key = f"{p}{f.when}"
            out.append(f"argMinIf({p}{f.name}, {key}, {key} > 0) AS {f.name}" if _SLOT[f.when].rule == "first"
                       else f"argMax({p}{f.name}, {key}) AS {f.name}")
        elif f.rule == "set":
            out.append(f"arraySort(groupUniqArrayArray({p}{f.name})) AS {f.name}")
        elif f.rule == "min":
            out.append(f"minIf({p}{f.name}, {p}{f.name} > 0) AS {f.name}")
        else:
            out.append(f"max({p}{f.name}) AS {f.name}")
    out.append(f"max({p}version) AS version")
    return ",\n    ".join(out)


def prefixed(prefix: str = "_") -> str:
    """The columns renamed for ``merge_sql``."""
    return ", ".join("matter_id" if n == "matter_id" else f"{n} AS {prefix}{n}" for n in NAMES)


def table_columns() -> str:
    return ",\n    ".join(f"{name} {kind}" for name, kind in COLUMNS)
