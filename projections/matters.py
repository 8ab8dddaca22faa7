"""One row per matter, as SQL: the settled rows and what changed since, merged exactly.

``matter_rows`` holds a settled row per matter (FINAL keeps the newest version), and
``matter_changes`` the partial rows of every insert since (``projections/facts.py``). A matter
that has no changes is its settled row; one that has is the merge of its settled rows and its
changes. Both parts read plain columns, so a statistic over a million matters reads a million
narrow rows instead of merging a million sets of aggregate states.

The views ``matter_facts`` and ``matters`` (``projections/views.py``) are these SELECTs;
``gridflow stats`` runs the same SELECT restricted to its scope.
"""
from __future__ import annotations

from projections import facts

# The per-matter facts analysts see (docs/statistics.md, "One row per matter"), in view order.
FACTS = ("reported_at", "kind", "category", "priority", "channel", "place", "entry_level", "entry_unit",
         "holder_level", "holder_unit", "accepted_at", "first_resolved_at", "resolved_at", "resolved_level",
         "resolved_unit", "verified_at", "cancelled_at", "cancel_reason", "last_step", "escalations", "reopened",
         "verification_failed", "breached", "feedback_at", "contacted", "solved", "satisfaction", "last_event_at",
         "escalation_marks")
ESCALATIONS = f"length(arrayDistinct(arrayMap(x -> intDiv(x, {facts.MARK}), escalation_marks)))"

# Status, flags and durations of a matter: (column, SQL on its facts); later ones use earlier ones.
DERIVED = (
    ("status", "multiIf(cancelled_at > 0, 'cancelled', last_step = 'verified', 'closed', "
               "last_step = 'resolved', 'resolved', last_step = 'suspended', 'suspended', 'open')"),
    ("valid", "status != 'cancelled'"),
    ("is_resolved", "status IN ('resolved', 'closed')"),
    ("is_closed", "status = 'closed'"),
    ("on_time", "status = 'closed' AND breached = 0"),
    ("ever_resolved", "first_resolved_at > 0 AND status != 'cancelled'"),
    ("reworked", "reopened OR verification_failed"),
    ("accept_seconds", "if(accepted_at > 0, (toInt64(accepted_at) - toInt64(reported_at)) / 1000, 0)"),
    ("resolve_seconds", "if(status IN ('resolved', 'closed'), (toInt64(resolved_at) - toInt64(reported_at)) / 1000, 0)"),
)
ORG = ("place_level", "l1", "l2", "l3", "l4", "l5", "l6")
# The columns of the ``matters`` view, in order.
COLUMNS = ("matter_id", *FACTS[:19], "status", *FACTS[19:], *(name for name, _ in DERIVED[1:]), *ORG)


def rows_sql(db: str, fixed: str = "", merged: str = "") -> str:
    """Every lattice column (``facts.NAMES``), one row per matter. ``fixed``: a condition on
    columns that never change once set (place, category, kind: from the first ``reported``
    event), tested before FINAL so fewer rows are merged; ``merged``: any condition, tested on
    the merged row."""
    names = ", ".join(facts.NAMES)
    changed = f"SELECT matter_id FROM {db}.matter_changes"
    settled = f"matter_id NOT IN ({changed})" + (f" AND {fixed}" if fixed else "")
    after = f"\n    WHERE {merged}" if merged else ""
    return f"""
    SELECT * FROM
    (
        SELECT {names}
        FROM {db}.matter_rows FINAL
        WHERE {settled}
    ){after}
    UNION ALL
    SELECT * FROM
    (
        SELECT {facts.merge_sql()}
        FROM
        (
            SELECT {facts.prefixed()} FROM {db}.matter_rows WHERE matter_id IN ({changed})
            UNION ALL
            SELECT {facts.prefixed()} FROM {db}.matter_changes
        )
        GROUP BY matter_id
    )
    WHERE {" AND ".join(c for c in (fixed, merged) if c) or "1"}"""


def facts_sql(db: str) -> str:
    """The ``matter_facts`` view: the facts analysts see, one row per matter."""
    columns = ", ".join(f"{ESCALATIONS} AS escalations" if n == "escalations" else n for n in ("matter_id", *FACTS))
    return f"SELECT {columns}\nFROM ({rows_sql(db)})"


def matters_sql(db: str, source: str) -> str:
    """The ``matters`` columns over ``source``: a table, view or subquery with one row per
    matter and the facts of ``matter_facts``."""
    derived = ",\n        ".join(f"{sql} AS {name}" for name, sql in DERIVED)
    columns = ", ".join(COLUMNS)
    return f"""
SELECT {columns}
FROM
(
    SELECT *,
        {derived}
    FROM {source}
) AS m
ANY LEFT JOIN
(
    SELECT unit_id AS place, level AS place_level, l1, l2, l3, l4, l5, l6
    FROM {db}.org_units FINAL
) AS o USING place"""


def scoped_sql(db: str, fixed: str = "", merged: str = "") -> str:
    """The rows of ``matters`` for the matters that satisfy the conditions (see ``rows_sql``)."""
    return matters_sql(db, f"(SELECT *, {ESCALATIONS} AS escalations FROM ({rows_sql(db, fixed, merged)}))")
