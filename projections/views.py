"""The views derived from definitions in code: ``matter_facts`` and ``matters`` from the facts of
a matter (``projections/matters.py``), ``unit_monthly`` from the figures
(``projections/figures.py``).

They hold no data, so unlike tables they are not versioned migrations: ``sync`` (run by
``gridflow migrate`` after the migrations) creates each one again whenever the SQL generated for
it differs from the SQL it was created with, which ``schema_views`` records by checksum. A new
figure reaches ``unit_monthly`` at the next ``gridflow migrate`` (or start of the projector).
"""
from __future__ import annotations

import hashlib
import time
from typing import Callable

from projections.figures import CATALOGUE, Catalogue
from projections.matters import facts_sql, matters_sql
from projections.store import Store

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS {db}.schema_views
(
    name String,
    checksum String,
    created_at UInt64
)
ENGINE = MergeTree()
ORDER BY (name, created_at)
"""


def unit_monthly_sql(db: str, catalogue: Catalogue = CATALOGUE) -> str:
    """One row per (unit at any of the six levels, report month in Asia/Shanghai, category, kind)
    with every count as ``n_<name>`` and every rate of that row."""
    columns = ",\n    ".join([*catalogue.aggregates(), *(catalogue.rate_sql(r) for r in catalogue.rates)])
    return f"""SELECT
    unit_id,
    unit_level,
    month,
    category,
    kind,
    {columns}
FROM
(
    SELECT
        *,
        arrayJoin([1, 2, 3, 4, 5, 6]) AS unit_level,
        [l1, l2, l3, l4, l5, l6][unit_level] AS unit_id,
        toYYYYMM(toDateTime(intDiv(reported_at, 1000), 'Asia/Shanghai')) AS month
    FROM {db}.matters
    WHERE reported_at > 0
)
WHERE unit_id != ''
GROUP BY unit_id, unit_level, month, category, kind"""


def derived(db: str, catalogue: Catalogue = CATALOGUE) -> dict[str, str]:
    """name -> the SELECT of each derived view, in the order they must be created."""
    return {"matter_facts": facts_sql(db), "matters": matters_sql(db, f"{db}.matter_facts"),
            "unit_monthly": unit_monthly_sql(db, catalogue)}


def checksum(select: str) -> str:
    return hashlib.sha256(select.encode("utf-8")).hexdigest()[:16]


def sync(store: Store, db: str, catalogue: Catalogue = CATALOGUE, log: Callable[[str], None] = print) -> list[str]:
    """Create again every derived view whose SQL changed (or that is missing); return their names."""
    store.execute(LEDGER_DDL.replace("{db}", db))
    recorded = dict(store.query(f"SELECT name, argMax(checksum, created_at) FROM {db}.schema_views GROUP BY name"))
    existing = {name for (name,) in store.query("SELECT name FROM system.tables WHERE database = %(db)s",
                                                {"db": db})}
    changed = []
    for name, select in derived(db, catalogue).items():
        digest = checksum(select)
        if recorded.get(name) == digest and name in existing:
            continue
        store.execute(f"DROP TABLE IF EXISTS {db}.{name}")
        store.execute(f"CREATE VIEW {db}.{name} AS {select}")
        store.with_database(db).insert("schema_views", ["name", "checksum", "created_at"], [(name, digest, time.time_ns())])
        changed.append(name)
    if changed:
        log(f"views {', '.join(changed)} created in {db}")
    return changed
