"""The per-matter rows of the ``matters`` view, as SQL that can be restricted to some matters
before the aggregate states are merged.

The view (migration 0003) merges the states of every matter on every query; a statistic for
one street needs only that street's matters. This is the same SELECT with a ``WHERE`` on
``matter_state``; a test keeps it equal to the view row for row, on both stores.
"""
from __future__ import annotations

# (column, merge function) in the order of the view
FACTS = (
    ("reported_at", "minIfMerge"), ("kind", "argMinIfMerge"), ("category", "argMinIfMerge"),
    ("priority", "argMinIfMerge"), ("channel", "argMinIfMerge"), ("place", "argMinIfMerge"),
    ("entry_level", "argMinIfMerge"), ("entry_unit", "argMinIfMerge"), ("holder_level", "argMaxIfMerge"),
    ("holder_unit", "argMaxIfMerge"), ("accepted_at", "minIfMerge"), ("first_resolved_at", "minIfMerge"),
    ("resolved_at", "argMaxIfMerge"), ("resolved_level", "argMaxIfMerge"), ("resolved_unit", "argMaxIfMerge"),
    ("verified_at", "maxIfMerge"), ("cancelled_at", "maxIfMerge"), ("cancel_reason", "argMaxIfMerge"),
    ("last_step", "argMaxIfMerge"), ("escalations", "uniqExactIfMerge"), ("reopened", "maxIfMerge"),
    ("verification_failed", "maxIfMerge"), ("breached", "maxIfMerge"), ("feedback_at", "maxIfMerge"),
    ("contacted", "argMaxIfMerge"), ("solved", "argMaxIfMerge"), ("satisfaction", "argMaxIfMerge"),
    ("last_event_at", "maxMerge"),
)

COLUMNS = (
    "matter_id", "reported_at", "kind", "category", "priority", "channel", "place", "entry_level", "entry_unit",
    "holder_level", "holder_unit", "accepted_at", "first_resolved_at", "resolved_at", "resolved_level",
    "resolved_unit", "verified_at", "cancelled_at", "cancel_reason", "last_step", "status", "escalations",
    "reopened", "verification_failed", "breached", "feedback_at", "contacted", "solved", "satisfaction",
    "last_event_at", "valid", "is_resolved", "is_closed", "on_time", "ever_resolved", "reworked",
    "accept_seconds", "resolve_seconds", "place_level", "l1", "l2", "l3", "l4", "l5", "l6",
)

_DERIVED = """
    status != 'cancelled' AS valid,
    status IN ('resolved', 'closed') AS is_resolved,
    status = 'closed' AS is_closed,
    status = 'closed' AND breached = 0 AS on_time,
    first_resolved_at > 0 AND status != 'cancelled' AS ever_resolved,
    reopened OR verification_failed AS reworked,
    if(accepted_at > 0, (toInt64(accepted_at) - toInt64(reported_at)) / 1000, 0) AS accept_seconds,
    if(status IN ('resolved', 'closed'), (toInt64(resolved_at) - toInt64(reported_at)) / 1000, 0) AS resolve_seconds"""

_STATUS = """multiIf(cancelled_at > 0, 'cancelled',
                last_step = 'verified', 'closed',
                last_step = 'resolved', 'resolved',
                last_step = 'suspended', 'suspended',
                'open') AS status"""


def matters_sql(db: str, matter_ids_sql: str | None = None) -> str:
    """The rows of ``{db}.matters``; with ``matter_ids_sql`` (a subquery of matter ids) only those."""
    facts = ",\n        ".join(f"{fn}({col}) AS {col}" for col, fn in FACTS)
    where = f"WHERE matter_id IN ({matter_ids_sql})" if matter_ids_sql else ""
    plain = [c for c in COLUMNS[:30]]
    return f"""
SELECT
    {", ".join(plain)},{_DERIVED},
    place_level, l1, l2, l3, l4, l5, l6
FROM
(
    SELECT *, {_STATUS}
    FROM
    (
        SELECT
        matter_id,
        {facts}
        FROM {db}.matter_state
        {where}
        GROUP BY matter_id
    )
) AS m
ANY LEFT JOIN
(
    SELECT unit_id AS place, level AS place_level, l1, l2, l3, l4, l5, l6
    FROM {db}.org_units FINAL
) AS o USING place"""
