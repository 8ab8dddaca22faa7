-- Views for analysts and for `gridflow stats`. Plain views: computed when queried, so they
-- always agree with the tables underneath, including right after a rebuild.

-- Every event once (duplicates folded at query time).
CREATE VIEW IF NOT EXISTS {db}.event_log AS
SELECT * FROM {db}.events FINAL;

-- The org tree, newest version of each unit.
CREATE VIEW IF NOT EXISTS {db}.org AS
SELECT unit_id, level, level_name, parent_id, name, l1, l2, l3, l4, l5, l6
FROM {db}.org_units FINAL;

-- One row per matter: the facts every statistic is built from (see docs/statistics.md).
-- Times are UTC epoch ms, 0 when it never happened.
CREATE VIEW IF NOT EXISTS {db}.matter_facts AS
SELECT
    matter_id,
    minIfMerge(reported_at) AS reported_at,
    argMinIfMerge(kind) AS kind,
    argMinIfMerge(category) AS category,
    argMinIfMerge(priority) AS priority,
    argMinIfMerge(channel) AS channel,
    argMinIfMerge(place) AS place,
    argMinIfMerge(entry_level) AS entry_level,
    argMinIfMerge(entry_unit) AS entry_unit,
    argMaxIfMerge(holder_level) AS holder_level,
    argMaxIfMerge(holder_unit) AS holder_unit,
    minIfMerge(accepted_at) AS accepted_at,
    minIfMerge(first_resolved_at) AS first_resolved_at,
    argMaxIfMerge(resolved_at) AS resolved_at,
    argMaxIfMerge(resolved_level) AS resolved_level,
    argMaxIfMerge(resolved_unit) AS resolved_unit,
    maxIfMerge(verified_at) AS verified_at,
    maxIfMerge(cancelled_at) AS cancelled_at,
    argMaxIfMerge(cancel_reason) AS cancel_reason,
    argMaxIfMerge(last_step) AS last_step,
    uniqExactIfMerge(escalations) AS escalations,
    maxIfMerge(reopened) AS reopened,
    maxIfMerge(verification_failed) AS verification_failed,
    maxIfMerge(breached) AS breached,
    maxIfMerge(feedback_at) AS feedback_at,
    argMaxIfMerge(contacted) AS contacted,
    argMaxIfMerge(solved) AS solved,
    argMaxIfMerge(satisfaction) AS satisfaction,
    maxMerge(last_event_at) AS last_event_at
FROM {db}.matter_state
GROUP BY matter_id;

-- matter_facts plus the derived status and flags, and the ancestors of the reported place.
-- status: cancelled | closed (verified, not reopened since) | resolved (awaiting
-- verification) | suspended | open.
CREATE VIEW IF NOT EXISTS {db}.matters AS
SELECT
    matter_id, reported_at, kind, category, priority, channel, place,
    entry_level, entry_unit, holder_level, holder_unit,
    accepted_at, first_resolved_at, resolved_at, resolved_level, resolved_unit, verified_at,
    cancelled_at, cancel_reason, last_step, status,
    escalations, reopened, verification_failed, breached,
    feedback_at, contacted, solved, satisfaction, last_event_at,
    status != 'cancelled' AS valid,
    status IN ('resolved', 'closed') AS is_resolved,
    status = 'closed' AS is_closed,
    status = 'closed' AND breached = 0 AS on_time,
    first_resolved_at > 0 AND status != 'cancelled' AS ever_resolved,
    reopened OR verification_failed AS reworked,
    if(accepted_at > 0, (toInt64(accepted_at) - toInt64(reported_at)) / 1000, 0) AS accept_seconds,
    if(status IN ('resolved', 'closed'), (toInt64(resolved_at) - toInt64(reported_at)) / 1000, 0) AS resolve_seconds,
    place_level, l1, l2, l3, l4, l5, l6
FROM
(
    SELECT
        *,
        multiIf(cancelled_at > 0, 'cancelled',
                last_step = 'verified', 'closed',
                last_step = 'resolved', 'resolved',
                last_step = 'suspended', 'suspended',
                'open') AS status
    FROM {db}.matter_facts
) AS m
ANY LEFT JOIN
(
    SELECT unit_id AS place, level AS place_level, l1, l2, l3, l4, l5, l6
    FROM {db}.org_units FINAL
) AS o USING place
