"""The worker's Prometheus metrics (names and labels: docs/metrics.md), defined once here and
served at ``/metrics`` on the Faust web server. Labels are bounded: topics, partitions,
types, levels, categories, reason codes — never a matter, unit or person id."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from events.types import Event

EVENTS_IN = Counter("gridflow_events_in_total", "Events read by the worker's agents", ["topic", "type"])
EVENTS_OUT = Counter("gridflow_events_out_total", "Events written by the worker", ["topic", "type"])
LATENCY = Histogram("gridflow_processing_latency_seconds", "Event time to processed", ["agent"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
EVENT_TIME_LAG = Gauge("gridflow_event_time_lag_seconds", "Wall clock minus the newest event time seen")
CONSUMER_LAG = Gauge("gridflow_consumer_lag_messages", "Messages between the position and the end offset",
                     ["group", "topic", "partition"])
DEADLETTERS = Counter("gridflow_deadletters_total", "Records sent to the dead-letter topic", ["stage", "reason"])
DUPLICATES = Counter("gridflow_duplicates_dropped_total", "Events dropped as already seen", ["stage"])
OPEN_MATTERS = Gauge("gridflow_open_matters", "Open matters on this worker's partitions", ["level"])
SLA_WARNINGS = Counter("gridflow_sla_warnings_total", "SLA warnings emitted", ["level", "category"])
SLA_BREACHES = Counter("gridflow_sla_breaches_total", "SLA deadlines missed", ["level", "category", "deadline"])
ESCALATIONS = Counter("gridflow_escalations_total", "Matters escalated one level up", ["from_level", "reason"])
RESOLVED = Counter("gridflow_resolved_total", "Matters resolved", ["level"])
PROPOSALS = Counter("gridflow_scanner_proposals_total", "Deadline-reached proposals from the SLA scanner")
CALENDAR_FALLBACKS = Counter("gridflow_calendar_fallbacks_total",
                             "Days beyond the official holiday calendar, assumed Monday to Friday")


def count_emitted(emitted: tuple[Event, ...], category: str | None) -> None:
    """Count the SLA outcomes among what a decision wrote to the log (``EVENTS_OUT`` is
    counted where the writes are acknowledged)."""
    for event in emitted:
        if event.TYPE == "sla_warning":
            SLA_WARNINGS.labels(event.level, category or "unknown").inc()
        elif event.TYPE == "sla_breached":
            SLA_BREACHES.labels(event.level, category or "unknown", event.deadline).inc()
        elif event.TYPE == "escalated":
            ESCALATIONS.labels(event.from_level, event.reason).inc()
        elif event.TYPE == "resolved":
            RESOLVED.labels(event.level).inc()


def exposition() -> tuple[bytes, str]:
    """The body and content type of ``/metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
