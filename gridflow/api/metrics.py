"""The API's metrics (catalogue: docs/metrics.md), on a registry of its own, served on
``GRIDFLOW_API_METRICS_PORT`` — not on the API's port, which upstream apps reach. Labels are
route names and status codes, never ids, keys or anything a resident sent."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

REQUESTS = Counter("gridflow_api_requests_total", "HTTP requests answered, by route, method and status",
                   ["route", "method", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("gridflow_api_request_seconds", "Time to answer an HTTP request",
                            ["route", "method"], registry=REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
KAFKA_ACK_SECONDS = Histogram("gridflow_api_kafka_ack_seconds", "Time from sending an event to Kafka's acks=all "
                              "acknowledgement", registry=REGISTRY,
                              buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
PUBLISHED = Counter("gridflow_api_events_published_total", "Events the API published and Kafka acknowledged",
                    ["type"], registry=REGISTRY)
REPLAYS = Counter("gridflow_api_idempotent_replays_total", "Requests answered from an earlier request with the "
                  "same Idempotency-Key, nothing published", ["route"], registry=REGISTRY)
READ_MODEL_MATTERS = Gauge("gridflow_api_read_model_matters", "Matters in the API's read model",
                           registry=REGISTRY)
READ_MODEL_LAG = Gauge("gridflow_api_read_model_lag_messages", "Event-log records not yet folded into the read "
                       "model", registry=REGISTRY)
READ_MODEL_READY = Gauge("gridflow_api_read_model_ready", "1 once the read model has caught up with the event "
                         "log as it was at start-up", registry=REGISTRY)
READ_MODEL_SKIPPED = Counter("gridflow_api_read_model_skipped_total", "Event-log records the read model could not "
                             "read (logged with topic, partition and offset)", registry=REGISTRY)
