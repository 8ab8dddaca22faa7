"""Settling: folding the partial rows of ``matter_changes`` into ``matter_rows``.

Statistics are exact whether or not this runs (``projections/matters.py`` merges the changes of
a matter with its settled row when it is read); settling keeps the changes few, so that merge
stays small. It writes, for every matter with changes, the merge of its settled rows and its
changes as a new settled row, then drops the minutes of ``matter_changes`` older than
``margin_seconds``: their rows are in the new settled rows, and so in those of any settle that
reads the table after this one.

The margin covers the inserts still running when a settle reads: a row lands in the minute its
insert began, so a minute is only dropped when no insert that began in it can still be running
(the projector's and the rebuild's inserts take seconds), and when any other settle running at
the same time has read it too. A settle that knows nothing else writes to the database (a
rebuild's new database, before the swap) passes ``exclusive=True`` and drops every minute it read.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from projections import facts
from projections.store import Store

MARGIN_SECONDS = 300


@dataclass(frozen=True)
class Settled:
    matters: int  # matters whose settled row was written again
    dropped: int  # minutes of matter_changes dropped
    seconds: float


def settle(store: Store, *, margin_seconds: int = MARGIN_SECONDS, exclusive: bool = False) -> Settled:
    started = time.monotonic()
    db = store.database
    now = int(store.scalar("SELECT toUInt32(now())"))
    minutes = [int(p) for (p,) in store.query("SELECT DISTINCT partition FROM system.parts WHERE database = %(db)s "
                                              "AND table = 'matter_changes' AND active", {"db": db})]
    if not minutes:
        return Settled(0, 0, time.monotonic() - started)
    changed = f"SELECT matter_id FROM {db}.matter_changes"
    store.execute(f"""INSERT INTO {db}.matter_rows ({", ".join(facts.NAMES)})
SELECT {facts.merge_sql()}
FROM
(
    SELECT {facts.prefixed()} FROM {db}.matter_rows WHERE matter_id IN ({changed})
    UNION ALL
    SELECT {facts.prefixed()} FROM {db}.matter_changes
)
GROUP BY matter_id""")
    matters = int(store.scalar(f"SELECT uniqExact(matter_id) FROM {db}.matter_changes") or 0)
    # the minutes listed before the merge were all read by it; later ones may not have been
    old = [m for m in minutes if exclusive or (m + 1) * 60 <= now - margin_seconds]
    for minute in old:
        store.execute(f"ALTER TABLE {db}.matter_changes DROP PARTITION {minute}")
    return Settled(matters, len(old), time.monotonic() - started)
