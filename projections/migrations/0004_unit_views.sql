-- Per-unit rollups for analysts, computed when queried (plain views over `matters` and
-- `events`). Every count is idempotent: duplicates in the log never count twice.
-- Months are calendar months of the report time in Asia/Shanghai, the same on every
-- server and in chdb whatever their own time zone.

-- One row per (unit at any of the six levels, report month, category, kind): the counts
-- behind every rate of docs/statistics.md. Sum the n_ columns over months or categories and
-- divide as the doc says; the ready-made rates hold for the row itself.
CREATE VIEW IF NOT EXISTS {db}.unit_monthly AS
SELECT
    unit_id,
    unit_level,
    month,
    category,
    kind,
    count() AS n_matters,
    countIf(status = 'cancelled') AS n_cancelled,
    countIf(valid) AS n_valid,
    countIf(status IN ('open', 'suspended')) AS n_open,
    countIf(is_resolved) AS n_resolved,
    countIf(is_resolved AND resolved_level = 'compound') AS n_resolved_compound,
    countIf(is_resolved AND resolved_level = 'grid') AS n_resolved_grid,
    countIf(is_resolved AND resolved_level = 'community') AS n_resolved_community,
    countIf(is_resolved AND resolved_level = 'street') AS n_resolved_street,
    countIf(is_resolved AND resolved_level = 'district') AS n_resolved_district,
    countIf(is_resolved AND resolved_level = 'city') AS n_resolved_city,
    countIf(is_closed) AS n_closed,
    countIf(on_time) AS n_closed_on_time,
    countIf(ever_resolved) AS n_ever_resolved,
    countIf(ever_resolved AND reworked) AS n_reworked,
    sumIf(escalations, valid) AS n_escalations,
    countIf(valid AND escalations > 0) AS n_escalated_matters,
    countIf(valid AND feedback_at > 0) AS n_with_feedback,
    countIf(valid AND feedback_at > 0 AND contacted = 1) AS n_contacted,
    countIf(valid AND feedback_at > 0 AND contacted = 1 AND solved = 1) AS n_solved,
    countIf(valid AND feedback_at > 0 AND contacted = 1 AND satisfaction IN ('satisfied', 'basically_satisfied')) AS n_satisfied,
    if(n_resolved = 0, nan, (n_resolved_grid + n_resolved_compound) / n_resolved) AS grid_rate,
    if(n_resolved = 0, nan, (n_resolved_community + n_resolved_grid + n_resolved_compound) / n_resolved) AS community_rate,
    if(n_closed = 0, nan, n_closed_on_time / n_closed) AS on_time_rate,
    if(n_valid = 0, nan, n_closed / n_valid) AS closure_rate,
    if(n_ever_resolved = 0, nan, n_reworked / n_ever_resolved) AS rework_rate,
    if(n_with_feedback = 0, nan, n_contacted / n_with_feedback) AS response_rate,
    if(n_contacted = 0, nan, n_solved / n_contacted) AS resolution_rate,
    if(n_contacted = 0, nan, n_satisfied / n_contacted) AS satisfaction_rate
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
GROUP BY unit_id, unit_level, month, category, kind;

-- Escalations out of each unit: one row per (unit handing over, its level, the level above,
-- reason, month of the escalation in Asia/Shanghai), counting each escalation event once.
CREATE VIEW IF NOT EXISTS {db}.escalations_by_unit AS
SELECT
    from_unit,
    from_level,
    to_level,
    reason,
    toYYYYMM(toDateTime(intDiv(occurred_at, 1000), 'Asia/Shanghai')) AS month,
    uniqExact(event_id) AS n_escalations,
    uniqExact(matter_id) AS n_matters
FROM {db}.events
WHERE type = 'escalated'
GROUP BY from_unit, from_level, to_level, reason, month
