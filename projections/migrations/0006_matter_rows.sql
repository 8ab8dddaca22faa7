-- One settled row per matter, and the partial rows of what changed since (docs/statistics.md,
-- "One row per matter"). Every column is a fact folded from the matter's events by a rule that
-- a repeated, reordered or regrouped event cannot change (projections/facts.py): the earliest or
-- latest event of some types by log offset (each *_key column keeps that event's log offset + 1,
-- 0 when there is none yet), the smallest or largest value, the set of distinct values. Folds of
-- parts of the log merge into the fold of the whole, so duplicates and updates stay exact.
--
-- matter_changes: one partial row per matter and insert into events, written by the materialized
-- view below (its SELECT is flat: ClickHouse 18.16 runs a view's outermost SELECT on the inserted
-- block). Partitioned by the minute of the insert, so settled minutes can be dropped whole.
-- matter_rows: the settled rows; `gridflow project` (and a rebuild) folds matter_changes into it
-- (projections/settle.py). version is the largest log offset folded in: a row that saw more of
-- the matter's log has a larger one, so FINAL keeps the most complete row.
CREATE TABLE IF NOT EXISTS {db}.matter_rows
(
    matter_id String,
    report_key UInt64,
    entry_key UInt64,
    holder_key UInt64,
    resolution_key UInt64,
    cancel_key UInt64,
    step_key UInt64,
    feedback_key UInt64,
    reported_at UInt64,
    kind String,
    category String,
    priority String,
    channel String,
    place String,
    entry_level String,
    entry_unit String,
    holder_level String,
    holder_unit String,
    accepted_at UInt64,
    first_resolved_at UInt64,
    resolved_at UInt64,
    resolved_level String,
    resolved_unit String,
    verified_at UInt64,
    cancelled_at UInt64,
    cancel_reason String,
    last_step String,
    escalation_marks Array(UInt64),
    reopened UInt8,
    verification_failed UInt8,
    breached UInt8,
    feedback_at UInt64,
    contacted UInt8,
    solved UInt8,
    satisfaction String,
    last_event_at UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY matter_id;

CREATE TABLE IF NOT EXISTS {db}.matter_changes
(
    matter_id String,
    report_key UInt64,
    entry_key UInt64,
    holder_key UInt64,
    resolution_key UInt64,
    cancel_key UInt64,
    step_key UInt64,
    feedback_key UInt64,
    reported_at UInt64,
    kind String,
    category String,
    priority String,
    channel String,
    place String,
    entry_level String,
    entry_unit String,
    holder_level String,
    holder_unit String,
    accepted_at UInt64,
    first_resolved_at UInt64,
    resolved_at UInt64,
    resolved_level String,
    resolved_unit String,
    verified_at UInt64,
    cancelled_at UInt64,
    cancel_reason String,
    last_step String,
    escalation_marks Array(UInt64),
    reopened UInt8,
    verification_failed UInt8,
    breached UInt8,
    feedback_at UInt64,
    contacted UInt8,
    solved UInt8,
    satisfaction String,
    last_event_at UInt64,
    version UInt64,
    changed_at DateTime
)
ENGINE = MergeTree()
PARTITION BY intDiv(toUInt32(changed_at), 60)
ORDER BY matter_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.matter_changes_mv TO {db}.matter_changes AS
SELECT
    matter_id,
    minIf(log_offset + 1, type = 'reported') AS report_key,
    minIf(log_offset + 1, type = 'routed') AS entry_key,
    maxIf(log_offset + 1, type IN ('routed', 'escalated', 'sla_started')) AS holder_key,
    maxIf(log_offset + 1, type = 'resolved') AS resolution_key,
    maxIf(log_offset + 1, type = 'cancelled') AS cancel_key,
    maxIf(log_offset + 1, type IN ('reported', 'routed', 'escalated', 'accepted', 'dispatched', 'claimed', 'suspended', 'resumed', 'resolved', 'verification_failed', 'verified', 'reopened', 'cancelled')) AS step_key,
    maxIf(log_offset + 1, type = 'feedback') AS feedback_key,
    minIf(occurred_at, type = 'reported') AS reported_at,
    argMinIf(kind, log_offset, type = 'reported') AS kind,
    argMinIf(category, log_offset, type = 'reported') AS category,
    argMinIf(priority, log_offset, type = 'reported') AS priority,
    argMinIf(channel, log_offset, type = 'reported') AS channel,
    argMinIf(place, log_offset, type = 'reported') AS place,
    argMinIf(level, log_offset, type = 'routed') AS entry_level,
    argMinIf(unit, log_offset, type = 'routed') AS entry_unit,
    argMaxIf(if(type = 'escalated', to_level, level), log_offset, type IN ('routed', 'escalated', 'sla_started')) AS holder_level,
    argMaxIf(if(type = 'escalated', to_unit, unit), log_offset, type IN ('routed', 'escalated', 'sla_started')) AS holder_unit,
    minIf(occurred_at, type = 'accepted') AS accepted_at,
    minIf(occurred_at, type = 'resolved') AS first_resolved_at,
    argMaxIf(occurred_at, log_offset, type = 'resolved') AS resolved_at,
    argMaxIf(level, log_offset, type = 'resolved') AS resolved_level,
    argMaxIf(unit, log_offset, type = 'resolved') AS resolved_unit,
    maxIf(occurred_at, type = 'verified') AS verified_at,
    maxIf(occurred_at, type = 'cancelled') AS cancelled_at,
    argMaxIf(reason, log_offset, type = 'cancelled') AS cancel_reason,
    argMaxIf(type, log_offset, type IN ('reported', 'routed', 'escalated', 'accepted', 'dispatched', 'claimed', 'suspended', 'resumed', 'resolved', 'verification_failed', 'verified', 'reopened', 'cancelled')) AS last_step,
    arraySort(groupUniqArrayIf(cycle * 8 + indexOf(['city', 'district', 'street', 'community', 'grid', 'compound'], from_level), type = 'escalated')) AS escalation_marks,
    maxIf(toUInt8(1), type = 'reopened') AS reopened,
    maxIf(toUInt8(1), type = 'verification_failed') AS verification_failed,
    maxIf(toUInt8(1), type = 'sla_breached') AS breached,
    maxIf(occurred_at, type = 'feedback') AS feedback_at,
    argMaxIf(contacted, log_offset, type = 'feedback') AS contacted,
    argMaxIf(solved, log_offset, type = 'feedback') AS solved,
    argMaxIf(satisfaction, log_offset, type = 'feedback') AS satisfaction,
    max(occurred_at) AS last_event_at,
    max(log_offset) AS version,
    now() AS changed_at
FROM {db}.events
GROUP BY matter_id;

-- The rows of the events already here (repeating it, after an interrupted run, adds equal rows).
INSERT INTO {db}.matter_rows
SELECT
    matter_id,
    minIf(log_offset + 1, type = 'reported') AS report_key,
    minIf(log_offset + 1, type = 'routed') AS entry_key,
    maxIf(log_offset + 1, type IN ('routed', 'escalated', 'sla_started')) AS holder_key,
    maxIf(log_offset + 1, type = 'resolved') AS resolution_key,
    maxIf(log_offset + 1, type = 'cancelled') AS cancel_key,
    maxIf(log_offset + 1, type IN ('reported', 'routed', 'escalated', 'accepted', 'dispatched', 'claimed', 'suspended', 'resumed', 'resolved', 'verification_failed', 'verified', 'reopened', 'cancelled')) AS step_key,
    maxIf(log_offset + 1, type = 'feedback') AS feedback_key,
    minIf(occurred_at, type = 'reported') AS reported_at,
    argMinIf(kind, log_offset, type = 'reported') AS kind,
    argMinIf(category, log_offset, type = 'reported') AS category,
    argMinIf(priority, log_offset, type = 'reported') AS priority,
    argMinIf(channel, log_offset, type = 'reported') AS channel,
    argMinIf(place, log_offset, type = 'reported') AS place,
    argMinIf(level, log_offset, type = 'routed') AS entry_level,
    argMinIf(unit, log_offset, type = 'routed') AS entry_unit,
    argMaxIf(if(type = 'escalated', to_level, level), log_offset, type IN ('routed', 'escalated', 'sla_started')) AS holder_level,
    argMaxIf(if(type = 'escalated', to_unit, unit), log_offset, type IN ('routed', 'escalated', 'sla_started')) AS holder_unit,
    minIf(occurred_at, type = 'accepted') AS accepted_at,
    minIf(occurred_at, type = 'resolved') AS first_resolved_at,
    argMaxIf(occurred_at, log_offset, type = 'resolved') AS resolved_at,
    argMaxIf(level, log_offset, type = 'resolved') AS resolved_level,
    argMaxIf(unit, log_offset, type = 'resolved') AS resolved_unit,
    maxIf(occurred_at, type = 'verified') AS verified_at,
    maxIf(occurred_at, type = 'cancelled') AS cancelled_at,
    argMaxIf(reason, log_offset, type = 'cancelled') AS cancel_reason,
    argMaxIf(type, log_offset, type IN ('reported', 'routed', 'escalated', 'accepted', 'dispatched', 'claimed', 'suspended', 'resumed', 'resolved', 'verification_failed', 'verified', 'reopened', 'cancelled')) AS last_step,
    arraySort(groupUniqArrayIf(cycle * 8 + indexOf(['city', 'district', 'street', 'community', 'grid', 'compound'], from_level), type = 'escalated')) AS escalation_marks,
    maxIf(toUInt8(1), type = 'reopened') AS reopened,
    maxIf(toUInt8(1), type = 'verification_failed') AS verification_failed,
    maxIf(toUInt8(1), type = 'sla_breached') AS breached,
    maxIf(occurred_at, type = 'feedback') AS feedback_at,
    argMaxIf(contacted, log_offset, type = 'feedback') AS contacted,
    argMaxIf(solved, log_offset, type = 'feedback') AS solved,
    argMaxIf(satisfaction, log_offset, type = 'feedback') AS satisfaction,
    max(occurred_at) AS last_event_at,
    max(log_offset) AS version
FROM {db}.events
GROUP BY matter_id;

-- matter_state merged ~28 aggregate states per matter on every query; nothing reads it now.
DROP TABLE IF EXISTS {db}.matter_state_mv;

DROP TABLE IF EXISTS {db}.matter_state
