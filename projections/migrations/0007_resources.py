"""The resources list (三张清单) in ClickHouse: ``events.resource`` and ``events.points``,
``resource_events`` and the
``resource_list`` view (docs/statistics.md, "The three lists").

ClickHouse 18.16 has no ``ADD COLUMN IF NOT EXISTS``, so the column is added only when
``system.columns`` does not show it; the tables and the view are ``IF NOT EXISTS``. Each step
checks the state it leaves: a run stopped half-way is finished by the next one.
"""

RESOURCE_EVENTS = """
CREATE TABLE IF NOT EXISTS {db}.resource_events
(
    event_id String,
    resource_id String,
    type String,                               -- resource_registered | resource_updated | resource_withdrawn
    occurred_at UInt64,                        -- UTC epoch milliseconds
    kind String,                               -- unit | member | service (registered only)
    categories String,                         -- comma-separated; '' when the event leaves them as they were
    covers String,                             -- comma-separated org unit ids; '' likewise
    capacity UInt32,                           -- 0 when the event leaves it as it was
    points UInt32,                             -- points_redeemed: points spent
    unit String,                               -- co-building unit of a member or service
    log_partition UInt32,
    log_offset UInt64
)
ENGINE = ReplacingMergeTree()
ORDER BY (resource_id, event_id)
"""

# One row per resource, as the worker's directory holds it: each field from the newest event
# that gave it (a resource's events share one partition, so the offset orders them).
RESOURCE_LIST = """
CREATE VIEW IF NOT EXISTS {db}.resource_list AS
SELECT
    resource_id,
    argMaxIf(kind, log_offset, type = 'resource_registered') AS kind,
    argMaxIf(categories, log_offset, categories != '') AS categories,
    argMaxIf(covers, log_offset, covers != '') AS covers,
    argMaxIf(capacity, log_offset, capacity > 0) AS capacity,
    argMaxIf(unit, log_offset, type = 'resource_registered') AS unit,
    minIf(occurred_at, type = 'resource_registered') AS registered_at,
    maxIf(occurred_at, type = 'resource_withdrawn') AS withdrawn_at
FROM {db}.resource_events
GROUP BY resource_id
HAVING registered_at > 0
"""


def apply(store, db: str) -> None:
    have = {name for (name,) in store.query("SELECT name FROM system.columns WHERE database = %(db)s "
                                            "AND table = 'events'", {"db": db})}
    if "resource" not in have:  # dispatched / claimed / points_awarded: the resource named
        store.execute(f"ALTER TABLE {db}.events ADD COLUMN resource String DEFAULT ''")
    if "points" not in have:  # points_awarded
        store.execute(f"ALTER TABLE {db}.events ADD COLUMN points UInt32 DEFAULT 0")
    store.execute(RESOURCE_EVENTS.replace("{db}", db))
    store.execute(RESOURCE_LIST.replace("{db}", db))
