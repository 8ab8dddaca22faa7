"""The worker's Prometheus metrics (names and labels: docs/metrics.md), defined once here and
served at ``/metrics`` on the worker's web server. Labels are bounded: topics, partitions,
types, levels, categories, reason codes — never a matter, unit or person id."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from events.levels import LEVEL_NAMES

LEVELS = LEVEL_NAMES

EVENTS_IN = Counter("gridflow_events_in_total", "Records read by the worker, by event type (or dead-letter code)",
                    ["topic", "type"])
EVENTS_OUT = Counter("gridflow_events_out_total", "Events written to the log by the worker", ["topic", "type"])
LATENCY = Histogram("gridflow_processing_latency_seconds", "Event time to handled (wall clock only)", ["agent"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
EVENT_TIME_LAG = Gauge("gridflow_event_time_lag_seconds", "Wall clock minus the newest event time seen")
CONSUMER_LAG = Gauge("gridflow_consumer_lag_messages", "Messages between the position and the end offset",
                     ["group", "topic", "partition"])
DEADLETTERS = Counter("gridflow_deadletters_total", "Records sent to the dead-letter topic", ["stage", "reason"])
REDRIVEN = Counter("gridflow_redriven_total", "Re-driven dead letters read from the intake, by their dead letter's code",
                   ["code"])
DUPLICATES = Counter("gridflow_duplicates_dropped_total", "Events dropped as already applied", ["stage"])
OPEN_MATTERS = Gauge("gridflow_open_matters", "Open matters on this worker's partitions", ["level"])
SLA_WARNINGS = Counter("gridflow_sla_warnings_total", "SLA warnings emitted", ["level", "category"])
SLA_BREACHES = Counter("gridflow_sla_breaches_total", "SLA deadlines missed", ["level", "category", "deadline"])
ESCALATIONS = Counter("gridflow_escalations_total", "Matters escalated one level up", ["from_level", "reason"])
RESOLVED = Counter("gridflow_resolved_total", "Matters resolved", ["level"])
PROPOSALS = Counter("gridflow_scanner_proposals_total", "Due timers taken to their matter's state machine")
CALENDAR_FALLBACKS = Counter("gridflow_calendar_fallbacks_total",
                             "Days beyond the official holiday calendar, assumed Monday to Friday")
BATCH_RECORDS = Histogram("gridflow_worker_batch_records", "Intake records per batch",
                          buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
BATCH_SECONDS = Histogram("gridflow_worker_batch_seconds", "One batch: decided, written, acknowledged",
                          buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
WRITE_RETRIES = Counter("gridflow_worker_write_retries_total", "Batches written again after a Kafka error")
COMMIT_FAILURES = Counter("gridflow_worker_commit_failures_total", "Offset commits that failed")
PARTITIONS = Gauge("gridflow_worker_partitions", "Intake partitions this worker owns with their states loaded")
RESOURCES = Gauge("gridflow_worker_resources", "Resources on the resources list this worker follows (withdrawn included)")
RECOVERY_SECONDS = Histogram("gridflow_worker_recovery_seconds", "Reading a partition set's states back",
                             buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
REPAIRS = Counter("gridflow_worker_repairs_total", "Stalls the watchdog repaired without a restart", ["kind"])
ORG_UNITS = Gauge("gridflow_worker_org_units", "Org units in force in the worker's tree")
ORG_CHANGES = Counter("gridflow_worker_org_changes_total", "Org unit records the worker applied while running")
ORG_CATCH_UPS = Counter("gridflow_worker_org_catch_ups_total",
                        "Reads of the org topic to its end before deciding an event naming an unknown unit")


def exposition() -> tuple[bytes, str]:
    """The body and content type of ``/metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
