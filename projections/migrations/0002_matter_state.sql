-- One row per matter (after merges) holding idempotent aggregate states of its events,
-- fed by a materialized view on every insert into events. Only functions that give the
-- same answer when an event is seen twice: min, max, argMin/argMax and uniqExact of
-- event_id. So a replayed or duplicated event changes nothing here.
--
-- The view's SELECT is flat on purpose: ClickHouse 18.16 runs a view's outermost SELECT
-- directly on the inserted block, so a subquery in FROM would not see the new rows.
--
-- Order of a matter's events: their order in the log (log_offset). The matter agent is the
-- one writer of a matter and keys its events by matter id, so they sit in one partition in
-- the order the state machine applied them. Event time is not that order: the agent applies
-- an upstream event stamped up to a few minutes before the previous one. A crash of the
-- agent may append a duplicate run of a matter's latest events; it repeats them in the same
-- order, so "latest by offset" still names the same event.
--
-- States are kept small (a UInt64 order key, booleans where a yes/no is all a statistic
-- needs): a statistic over a million matters merges a million of these rows.
CREATE TABLE IF NOT EXISTS {db}.matter_state
(
    matter_id String,
    reported_at AggregateFunction(minIf, UInt64, UInt8),
    kind AggregateFunction(argMinIf, String, UInt64, UInt8),
    category AggregateFunction(argMinIf, String, UInt64, UInt8),
    priority AggregateFunction(argMinIf, String, UInt64, UInt8),
    channel AggregateFunction(argMinIf, String, UInt64, UInt8),
    place AggregateFunction(argMinIf, String, UInt64, UInt8),
    entry_level AggregateFunction(argMinIf, String, UInt64, UInt8),
    entry_unit AggregateFunction(argMinIf, String, UInt64, UInt8),
    holder_level AggregateFunction(argMaxIf, String, UInt64, UInt8),
    holder_unit AggregateFunction(argMaxIf, String, UInt64, UInt8),
    accepted_at AggregateFunction(minIf, UInt64, UInt8),
    first_resolved_at AggregateFunction(minIf, UInt64, UInt8),
    resolved_at AggregateFunction(argMaxIf, UInt64, UInt64, UInt8),
    resolved_level AggregateFunction(argMaxIf, String, UInt64, UInt8),
    resolved_unit AggregateFunction(argMaxIf, String, UInt64, UInt8),
    verified_at AggregateFunction(maxIf, UInt64, UInt8),
    cancelled_at AggregateFunction(maxIf, UInt64, UInt8),
    cancel_reason AggregateFunction(argMaxIf, String, UInt64, UInt8),
    last_step AggregateFunction(argMaxIf, String, UInt64, UInt8),
    escalations AggregateFunction(uniqExactIf, UInt32, UInt8),
    reopened AggregateFunction(maxIf, UInt8, UInt8),
    verification_failed AggregateFunction(maxIf, UInt8, UInt8),
    breached AggregateFunction(maxIf, UInt8, UInt8),
    feedback_at AggregateFunction(maxIf, UInt64, UInt8),
    contacted AggregateFunction(argMaxIf, UInt8, UInt64, UInt8),
    solved AggregateFunction(argMaxIf, UInt8, UInt64, UInt8),
    satisfaction AggregateFunction(argMaxIf, String, UInt64, UInt8),
    last_event_at AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree()
ORDER BY matter_id;

-- escalations counts distinct arrival cycles of `escalated` events: every escalation opens a
-- new cycle (its `cycle` is the arrival number at the level above), so a duplicate escalation
-- has the cycle of the original and distinct escalations have distinct cycles.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.matter_state_mv TO {db}.matter_state AS
SELECT
    matter_id,
    minIfState(occurred_at, type = 'reported') AS reported_at,
    argMinIfState(kind, log_offset, type = 'reported') AS kind,
    argMinIfState(category, log_offset, type = 'reported') AS category,
    argMinIfState(priority, log_offset, type = 'reported') AS priority,
    argMinIfState(channel, log_offset, type = 'reported') AS channel,
    argMinIfState(place, log_offset, type = 'reported') AS place,
    argMinIfState(level, log_offset, type = 'routed') AS entry_level,
    argMinIfState(unit, log_offset, type = 'routed') AS entry_unit,
    argMaxIfState(if(type = 'escalated', to_level, level), log_offset,
                  type IN ('routed', 'escalated', 'sla_started')) AS holder_level,
    argMaxIfState(if(type = 'escalated', to_unit, unit), log_offset,
                  type IN ('routed', 'escalated', 'sla_started')) AS holder_unit,
    minIfState(occurred_at, type = 'accepted') AS accepted_at,
    minIfState(occurred_at, type = 'resolved') AS first_resolved_at,
    argMaxIfState(occurred_at, log_offset, type = 'resolved') AS resolved_at,
    argMaxIfState(level, log_offset, type = 'resolved') AS resolved_level,
    argMaxIfState(unit, log_offset, type = 'resolved') AS resolved_unit,
    maxIfState(occurred_at, type = 'verified') AS verified_at,
    maxIfState(occurred_at, type = 'cancelled') AS cancelled_at,
    argMaxIfState(reason, log_offset, type = 'cancelled') AS cancel_reason,
    -- lifecycle steps; feedback, SLA timers and whistles are not steps
    argMaxIfState(type, log_offset,
                  type IN ('reported', 'routed', 'escalated', 'accepted', 'dispatched', 'claimed', 'suspended',
                           'resumed', 'resolved', 'verification_failed', 'verified', 'reopened',
                           'cancelled')) AS last_step,
    uniqExactIfState(cycle, type = 'escalated') AS escalations,
    maxIfState(toUInt8(1), type = 'reopened') AS reopened,
    maxIfState(toUInt8(1), type = 'verification_failed') AS verification_failed,
    maxIfState(toUInt8(1), type = 'sla_breached') AS breached,
    maxIfState(occurred_at, type = 'feedback') AS feedback_at,
    argMaxIfState(contacted, log_offset, type = 'feedback') AS contacted,
    argMaxIfState(solved, log_offset, type = 'feedback') AS solved,
    argMaxIfState(satisfaction, log_offset, type = 'feedback') AS satisfaction,
    maxState(occurred_at) AS last_event_at
FROM {db}.events
GROUP BY matter_id
