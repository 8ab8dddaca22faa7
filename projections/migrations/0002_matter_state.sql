-- One row per matter (after merges) holding idempotent aggregate states of its events,
-- fed by a materialized view on every insert into events. Only functions that give the
-- same answer when an event is seen twice: min, max, argMin/argMax and uniqExact of
-- event_id. So a replayed or duplicated event changes nothing here.
--
-- The view's SELECT is flat on purpose: ClickHouse 18.16 runs a view's outermost SELECT
-- directly on the inserted block, so a subquery in FROM would not see the new rows.
--
-- Order of a matter's events: the order of the log, (log_offset, occurred_at, step rank,
-- event_id). The matter agent is the one writer of a matter and keys its events by matter
-- id, so they sit in one partition in the order the state machine applied them; event time
-- is not that order (upstream clocks may lag by a few minutes and the agent still applies
-- the event). A crash of the agent may append a duplicate run of a matter's latest events;
-- it repeats them in the same order, so "latest by offset" still names the same event.
-- The other members only break ties where no offsets exist.
CREATE TABLE IF NOT EXISTS {db}.matter_state
(
    matter_id String,
    reported_at AggregateFunction(minIf, UInt64, UInt8),
    kind AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    category AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    priority AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    channel AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    place AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    entry_level AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    entry_unit AggregateFunction(argMinIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    holder_level AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    holder_unit AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    accepted_at AggregateFunction(minIf, UInt64, UInt8),
    first_resolved_at AggregateFunction(minIf, UInt64, UInt8),
    resolved_at AggregateFunction(argMaxIf, UInt64, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    resolved_level AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    resolved_unit AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    verified_at AggregateFunction(maxIf, UInt64, UInt8),
    cancelled_at AggregateFunction(maxIf, UInt64, UInt8),
    cancel_reason AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    last_step AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    escalations AggregateFunction(uniqExactIf, String, UInt8),
    reopens AggregateFunction(uniqExactIf, String, UInt8),
    verification_failures AggregateFunction(uniqExactIf, String, UInt8),
    breaches AggregateFunction(uniqExactIf, String, UInt8),
    feedback_at AggregateFunction(maxIf, UInt64, UInt8),
    contacted AggregateFunction(argMaxIf, UInt8, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    solved AggregateFunction(argMaxIf, UInt8, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    satisfaction AggregateFunction(argMaxIf, String, Tuple(UInt64, UInt64, UInt8, String), UInt8),
    last_event_at AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree()
ORDER BY matter_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.matter_state_mv TO {db}.matter_state AS
SELECT
    matter_id,
    minIfState(occurred_at, type = 'reported') AS reported_at,
    argMinIfState(kind, (log_offset, occurred_at,
                  -- lifecycle steps in the order they happen; 0: not a step (feedback, SLA timers, whistle)
                  toUInt8(transform(type,
                                    ['reported', 'routed', 'escalated', 'accepted', 'dispatched', 'claimed',
                                     'suspended', 'resumed', 'resolved', 'verification_failed', 'verified',
                                     'reopened', 'cancelled'],
                                    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], 0)) AS step,
                  event_id) AS k, type = 'reported') AS kind,
    argMinIfState(category, k, type = 'reported') AS category,
    argMinIfState(priority, k, type = 'reported') AS priority,
    argMinIfState(channel, k, type = 'reported') AS channel,
    argMinIfState(place, k, type = 'reported') AS place,
    argMinIfState(level, k, type = 'routed') AS entry_level,
    argMinIfState(unit, k, type = 'routed') AS entry_unit,
    argMaxIfState(if(type = 'escalated', to_level, level), k, type IN ('routed', 'escalated', 'sla_started')) AS holder_level,
    argMaxIfState(if(type = 'escalated', to_unit, unit), k, type IN ('routed', 'escalated', 'sla_started')) AS holder_unit,
    minIfState(occurred_at, type = 'accepted') AS accepted_at,
    minIfState(occurred_at, type = 'resolved') AS first_resolved_at,
    argMaxIfState(occurred_at, k, type = 'resolved') AS resolved_at,
    argMaxIfState(level, k, type = 'resolved') AS resolved_level,
    argMaxIfState(unit, k, type = 'resolved') AS resolved_unit,
    maxIfState(occurred_at, type = 'verified') AS verified_at,
    maxIfState(occurred_at, type = 'cancelled') AS cancelled_at,
    argMaxIfState(reason, k, type = 'cancelled') AS cancel_reason,
    argMaxIfState(type, k, step > 0) AS last_step,
    uniqExactIfState(event_id, type = 'escalated') AS escalations,
    uniqExactIfState(event_id, type = 'reopened') AS reopens,
    uniqExactIfState(event_id, type = 'verification_failed') AS verification_failures,
    uniqExactIfState(event_id, type = 'sla_breached') AS breaches,
    maxIfState(occurred_at, type = 'feedback') AS feedback_at,
    argMaxIfState(contacted, k, type = 'feedback') AS contacted,
    argMaxIfState(solved, k, type = 'feedback') AS solved,
    argMaxIfState(satisfaction, k, type = 'feedback') AS satisfaction,
    maxState(occurred_at) AS last_event_at
FROM {db}.events
GROUP BY matter_id
