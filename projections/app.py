"""Composition root of the projections: builds the store, Kafka clients, sink and projector
from one ``Settings``."""
from __future__ import annotations

from typing import Callable

from events import orgtree
from projections import orgdim
from projections.breaker import Breaker
from projections.projector import Projector
from projections.sink import Backoff, Sink
from projections.store import Store, open_store


def kafka_consumer(settings, *, group: str | None, client_id: str = "gridflow-projector"):
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, client_id=client_id,
                         enable_auto_commit=False, auto_offset_reset="earliest",
                         max_poll_records=settings.projector_batch_size,
                         # a live log trickles in: let the broker gather 64 KiB (or wait 0.5s)
                         # per fetch rather than answer each new record with a fetch of its own
                         fetch_min_bytes=64 << 10, fetch_max_wait_ms=500,
                         max_partition_fetch_bytes=4 << 20,
                         # a long ClickHouse outage is waited out with paused polls, not here
                         max_poll_interval_ms=300_000,
                         # a crashed projector's partitions move on after 10s, not the client's 45s
                         session_timeout_ms=10_000, heartbeat_interval_ms=3_000)


def kafka_producer(settings):
    from kafka import KafkaProducer

    return KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                         client_id="gridflow-projector")


def load_org_file(store: Store, path: str, log: Callable[[str], None] = print) -> int:
    """Write the units of an org file (CSV or JSON lines) into the org dimension."""
    tree = orgtree.load(path)
    units = list(tree)
    n = orgdim.write_units(store, units, {u.unit_id: u for u in units})
    log(f"org: {n} units from {path} into {store.database}.org_units")
    return n


def build_projector(settings, store: Store, *, consumer=None, producer=None, log: Callable[[str], None] = print,
                    progress_seconds: float = 10.0, backoff: Backoff | None = None) -> Projector:
    """The live projector: consumer group ``settings.projector_group`` on the event log, the org topic
    and the resources log."""
    topics = settings.topics
    if consumer is None:
        consumer = kafka_consumer(settings, group=settings.projector_group)
        consumer.subscribe([topics.events, topics.org, topics.resources])
    if producer is None:
        producer = kafka_producer(settings)
    sink = Sink(store, backoff=backoff, log=log, known_units=orgdim.load_units(store))
    return Projector(sink, consumer, events_topic=topics.events, org_topic=topics.org,
                     resources_topic=topics.resources,
                     deadletter_topic=topics.deadletter, producer=producer, group=settings.projector_group,
                     progress_seconds=progress_seconds, settle_seconds=settings.projector_settle_seconds, log=log,
                     **batching(settings))


def batching(settings) -> dict:
    """The projector's batch bounds and circuit breaker from the settings."""
    return {"batch_size": settings.projector_batch_size, "batch_bytes": settings.projector_batch_bytes,
            "batch_seconds": settings.projector_batch_seconds,
            "breaker": Breaker(settings.projector_breaker_window, settings.projector_breaker_share)}


__all__ = ["batching", "build_projector", "kafka_consumer", "kafka_producer", "load_org_file", "open_store"]
