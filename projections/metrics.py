"""The projector's metrics (names in docs/CONVENTIONS.md), on a registry of its own so the
projector and the worker can share a process (tests) without clashing."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry()

EVENTS = Counter("gridflow_projector_events_total", "Event-log records the projector consumed",
                 registry=REGISTRY)
ROWS_WRITTEN = Counter("gridflow_projector_rows_written_total", "Rows inserted into ClickHouse", ["table"],
                       registry=REGISTRY)
BATCH_SECONDS = Histogram("gridflow_projector_batch_seconds", "Time to write one batch, retries included",
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=REGISTRY)
INSERT_ERRORS = Counter("gridflow_projector_insert_errors_total",
                        "ClickHouse inserts that failed because ClickHouse was away or not ready (each is retried)",
                        registry=REGISTRY)
REJECTED_INSERTS = Counter("gridflow_projector_rejected_inserts_total",
                           "ClickHouse inserts refused for the rows in them (split in halves, not retried as they were)",
                           registry=REGISTRY)
SETTLE_SECONDS = Histogram("gridflow_projector_settle_seconds",
                           "Time to fold the matters' changes into their settled rows",
                           buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=REGISTRY)
SETTLE_ERRORS = Counter("gridflow_projector_settle_errors_total",
                        "Settles that failed (statistics stay exact; the changes wait for the next one)",
                        registry=REGISTRY)
RETRIES = Counter("gridflow_projector_retries_total", "Batch write retries after a ClickHouse error",
                  registry=REGISTRY)
CLICKHOUSE_UP = Gauge("gridflow_projector_clickhouse_up",
                      "1 when ClickHouse answered the last write (even with an error), 0 when it could not be reached",
                      registry=REGISTRY)
PROJECTION_DELAY = Gauge("gridflow_projection_delay_seconds",
                         "Newest event time seen in the log minus newest event time written to ClickHouse",
                         registry=REGISTRY)
CONSUMER_LAG = Gauge("gridflow_consumer_lag_messages", "Messages between the consumer position and the log end",
                     ["group", "topic", "partition"], registry=REGISTRY)
DEADLETTERS = Counter("gridflow_deadletters_total", "Records sent to the dead-letter topic",
                      ["stage", "reason"], registry=REGISTRY)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on ``host:port`` from a daemon thread."""
    start_http_server(port, addr=host, registry=REGISTRY)
