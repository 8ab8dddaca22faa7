"""Kafka for the suites: a fresh topic prefix per measurement (its own topics, consumer groups and
worker state), publishing prepared records, and watching a group drain from outside."""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from deploy.topics import TopicSpec, delete_topics, ensure_topics, topic_specs
from gridflow.demo import Bar
from gridflow.settings import Settings

Record = tuple[bytes, bytes, "int | None"]  # key, value, partition (None: by key, murmur2)


class BenchError(Exception):
    """A measurement could not be taken (a child died, a drain timed out); says where to look."""


def scratch_topic(settings: Settings, name: str) -> str:
    return f"{settings.topic_prefix}.bench.{name}"


@contextmanager
def fresh(base: Settings, suite: str, *, scratch: Iterable[str] = (), **changes) -> Iterator[Settings]:
    """Settings with a prefix of their own and its topics created; everything deleted afterwards."""
    prefix = f"bench-{suite}-{uuid.uuid4().hex[:8]}"
    settings = base.with_(topic_prefix=prefix, **changes)
    specs = topic_specs(settings) + [TopicSpec(scratch_topic(settings, s), settings.partitions) for s in scratch]
    ensure_topics(settings, specs)
    try:
        yield settings
    finally:
        cleanup(settings)


def cleanup(settings: Settings) -> None:
    """Delete the prefix's topics and consumer groups (the groups once their members left)."""
    from kafka.errors import KafkaError

    from deploy.topics import admin_client

    delete_topics(settings)
    admin = admin_client(settings)
    try:
        groups = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(settings.topic_prefix + "-")]
        if groups:
            admin.delete_groups(groups)
    except KafkaError:
        pass  # a group whose member has not left yet: the broker expires it
    finally:
        admin.close()


def publish(settings: Settings, records: Iterable[Record], *, topic: str | None = None, total: int = 0,
            what: str = "publishing", chunk: int = 20_000) -> int:
    """Send every record with acks=all; every acknowledgement is checked. Returns the count."""
    from kafka import KafkaProducer

    topic = topic or settings.topics.intake
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20,
                             batch_size=1024 * 1024, max_request_size=8 * 1024 * 1024, client_id="gridflow-bench")
    bar, sent, futures = Bar(), 0, []
    try:
        for key, value, partition in records:
            futures.append(producer.send(topic, key=key, value=value, partition=partition))
            sent += 1
            if len(futures) >= chunk:
                _settle(producer, futures, topic)
                bar.show(what, sent / total if total else 0.0, f"{sent:,} records")
        _settle(producer, futures, topic)
        bar.show(what, 1.0, f"{sent:,} records", force=True)
        bar.end()
    finally:
        producer.close(timeout=30)
    return sent


def _settle(producer, futures: list, topic: str) -> None:
    producer.flush(timeout=60)
    failed = [f for f in futures if not (f.is_done and f.succeeded())]
    if failed:
        raise BenchError(f"{len(failed)} records to {topic} not acknowledged: {failed[0].exception!r}")
    futures.clear()


class GroupWatch:
    """How far a consumer group's committed offsets are behind the end of a topic."""

    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        self.group = group
        self.admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="gridflow-bench")
        self.consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                      enable_auto_commit=False, client_id="gridflow-bench")
        self.tps = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())]

    def ends(self) -> int:
        return sum(self.consumer.end_offsets(self.tps).values())

    def committed(self) -> int:
        from kafka.errors import KafkaError

        try:
            found = self.admin.list_group_offsets({self.group: self.tps}).get(self.group, {})
        except KafkaError:
            return 0  # the group's coordinator is not ready yet
        return sum(m.offset for m in found.values() if m is not None and m.offset > 0)

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


def wait_drained(watch: GroupWatch, total: int, *, what: str, alive: Callable[[], None],
                 timeout: float, poll: float = 0.1, on_poll: Callable[[], None] | None = None) -> float:
    """Wait until the group committed ``total`` records; returns when it was seen (monotonic).
    ``alive()`` raises when a child died; ``on_poll()`` runs after each look."""
    bar, started = Bar(), time.monotonic()
    while True:
        done = watch.committed()
        now = time.monotonic()
        if done >= total:
            bar.show(what, 1.0, f"{done:,}/{total:,} committed in {now - started:.1f}s", force=True)
            bar.end()
            return now
        alive()
        if on_poll is not None:
            on_poll()
        if now - started > timeout:
            bar.end()
            raise BenchError(f"{what}: {done:,} of {total:,} committed after {timeout:.0f}s")
        bar.show(what, done / total if total else 1.0, f"{done:,}/{total:,} committed, {now - started:.0f}s")
        time.sleep(poll)


def workdir(root: Path, name: str) -> Path:
    path = root / f"{name}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True, exist_ok=True)
    return path
