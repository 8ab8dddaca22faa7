-- The event log as it reached ClickHouse: one row per event, no personal data.
-- Reporter, handler and verifier ids, free text (text, note, and the reason of suspended,
-- reopened and verification_failed) never get here; enumerated reasons do.
-- At-least-once delivery: the same event may be inserted twice. ReplacingMergeTree keyed by
-- (matter_id, event_id) folds duplicates on merge; every statistic is computed with
-- aggregates that ignore them before the merge (min, max, argMax, uniqExact of event_id).
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id String,
    matter_id String,
    type String,
    schema_version UInt16,
    occurred_at UInt64,                        -- UTC epoch milliseconds
    occurred DateTime DEFAULT toDateTime(intDiv(occurred_at, 1000)),
    producer String,
    kind String,
    category String,
    priority String,
    channel String,
    place String,
    unit String,
    level String,
    from_unit String,
    from_level String,
    to_unit String,
    to_level String,
    reason String,                             -- enumerated reasons only
    duplicate_of String,
    cycle UInt32,
    deadline String,
    due_at UInt64,
    accept_by UInt64,
    resolve_by UInt64,
    threshold Float32,
    contacted UInt8,
    solved UInt8,
    satisfaction String,
    policy_version String,
    log_partition UInt32,                      -- where the projector read it (first copy wins nothing:
    log_offset UInt64                          -- statistics never depend on these two)
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred)
ORDER BY (matter_id, event_id);

-- The org tree as a dimension: every unit with the ids of its ancestors at each level
-- (l1 city .. l6 compound; the unit itself at its own level, '' below it).
-- version: load time in ms; the newest row of a unit wins (FINAL, or argMax by version).
CREATE TABLE IF NOT EXISTS {db}.org_units
(
    unit_id String,
    level UInt8,
    level_name String,
    parent_id String,
    name String,
    l1 String,
    l2 String,
    l3 String,
    l4 String,
    l5 String,
    l6 String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY unit_id
