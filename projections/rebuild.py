"""Rebuild: replay the event log from offset zero into fresh tables, then swap them in.

1. ``<db>_rebuild`` is created from the migrations and seeded with the current org dimension.
2. The log is read from the beginning to the end offsets seen at start by reader processes
   sharing its partitions (``readers.py``), with the projector's decode and sink, without a
   consumer group and without re-sending dead letters; the org topic by the projector itself.
3. The matters' changes are settled into one row per matter (``settle.py``).
4. Swap: the materialized views are dropped, each data table moves ``<db>`` -> ``<db>_old``
   and ``<db>_rebuild`` -> ``<db>`` in one RENAME, the views are created again from the
   migrations; the analyst views resolve table names when queried, so they follow.

The live projector must be stopped during a rebuild (checked). When it starts again it reads
from its committed offsets; the events it writes a second time change nothing.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable

from kafka.structs import TopicPartition

from projections import orgdim
from projections.app import batching, kafka_consumer, load_org_file
from projections.errors import ProjectionError
from projections.migrate import live_materialized_views, migrate
from projections.owner import claim
from projections.projector import Projector, Totals
from projections.readers import Slice, replay
from projections.settle import settle
from projections.sink import Sink
from projections.store import Store

VIEW_ENGINES = ("View", "MaterializedView")
LEDGERS = ("schema_migrations", "schema_views")  # of the database itself: they stay


@dataclass
class RebuildResult:
    totals: Totals
    seconds: float
    tables: list[str]


def projector_active(settings) -> bool:
    """True when the live projector's consumer group has members."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="gridflow-rebuild")
    try:
        groups = admin.describe_groups([settings.projector_group])
        return any(g.get("members") for g in groups.values() if g.get("group_state") not in ("Dead", "Empty"))
    finally:
        admin.close()


def rebuild(settings, store: Store, *, org_file: str | None = None, keep_old: bool = False, force: bool = False,
            log: Callable[[str], None] = print, consumer=None, readers: int | None = None) -> RebuildResult:
    """Replay the log into ``<db>_rebuild`` and swap it in; ``readers`` reader processes share the
    partitions of the log (default: one per CPU, at most one per partition)."""
    started = time.monotonic()
    live = store.database
    shadow, old = f"{live}_rebuild", f"{live}_old"
    if not force and projector_active(settings):
        raise ProjectionError(f"the projector group {settings.projector_group!r} has active members: "
                              "stop `gridflow project` first (or pass --force)")
    claim(store.with_database(live), settings.topic_prefix)
    migrate(store, live, log=log)
    store.execute(f"DROP DATABASE IF EXISTS {shadow}")
    migrate(store, shadow, log=lambda _: None)
    target = store.with_database(shadow)
    store.execute(f"INSERT INTO {shadow}.org_units SELECT * FROM {live}.org_units")
    # the resources list is not in the event log: kept as the projector wrote it, like the org tree
    store.execute(f"INSERT INTO {shadow}.resource_events SELECT * FROM {live}.resource_events")

    topics = settings.topics
    consumer = consumer or kafka_consumer(settings, group=None, client_id="gridflow-rebuild")
    try:
        slices = log_slices(consumer, topics.events)
        if slices is None:
            raise ProjectionError(f"topic {topics.events} not found at {settings.kafka_bootstrap}")
        readers = max(1, min(readers or os.cpu_count() or 1, len(slices) or 1))
        log(f"rebuild: replaying {sum(s.end - s.begin for s in slices)} records into {shadow} "
            f"with {readers} reader process(es)")
        sink = Sink(target, log=log, known_units=orgdim.load_units(target))
        options = batching(settings)
        org = replay_org(consumer, sink, topics, log, options)
        events = replay(settings, sink, topics.events, slices, readers, breaker=options["breaker"], log=log)
    finally:
        consumer.close()
    totals = Totals(events=events.events, written=events.written, org_units=org.org_units,
                    deadletters=events.deadletters + org.deadletters, batches=org.batches)
    if org_file:
        load_org_file(target, org_file, log)
    settled = settle(target, exclusive=True)  # nothing else writes to the new database
    log(f"rebuild: settled the rows of {settled.matters} matters in {settled.seconds:.1f}s")
    tables = swap(store, live, shadow, old)
    if not keep_old:
        store.execute(f"DROP DATABASE IF EXISTS {old}")
    store.execute(f"DROP DATABASE IF EXISTS {shadow}")
    seconds = time.monotonic() - started
    log(f"rebuild: {totals.written} events, {totals.deadletters} dead letters, swapped {', '.join(tables)} "
        f"into {live} in {seconds:.1f}s")
    return RebuildResult(totals, seconds, tables)


def log_slices(consumer, topic: str) -> list[Slice] | None:
    """Each non-empty partition of ``topic`` from its first offset to the end seen now."""
    found = consumer.partitions_for_topic(topic)
    if not found:
        return None
    tps = [TopicPartition(topic, p) for p in sorted(found)]
    begins, ends = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
    return [Slice(tp.partition, begins[tp], ends[tp]) for tp in tps if ends[tp] > begins[tp]]


def replay_org(consumer, sink: Sink, topics, log: Callable[[str], None], options: dict) -> Totals:
    """The compacted org topic, in this process (it is small)."""
    slices = log_slices(consumer, topics.org) or []
    if not slices:
        return Totals()
    stop_at = {TopicPartition(topics.org, s.partition): s.end for s in slices}
    consumer.assign(list(stop_at))
    consumer.seek_to_beginning(*stop_at)
    projector = Projector(sink, consumer, events_topic=topics.events, org_topic=topics.org, producer=None,
                          group=None, log=log, **options)
    return projector.run(stop_at=stop_at)


def swap(store: Store, live: str, shadow: str, old: str) -> list[str]:
    """Move the data tables of ``shadow`` into ``live`` (the live ones into ``old``)."""
    def tables(db: str) -> dict[str, str]:
        return dict(store.query("SELECT name, engine FROM system.tables WHERE database = %(db)s", {"db": db}))

    live_tables, shadow_tables = tables(live), tables(shadow)
    data = sorted(n for n, e in shadow_tables.items() if e not in VIEW_ENGINES and n not in LEDGERS)
    store.execute(f"DROP DATABASE IF EXISTS {old}")
    store.execute(f"CREATE DATABASE {old}")
    for db, found in ((shadow, shadow_tables), (live, live_tables)):
        for name, engine in found.items():
            if engine == "MaterializedView":
                store.execute(f"DROP TABLE IF EXISTS {db}.{name}")
    pairs = []
    for name in data:
        if name in live_tables:
            pairs.append(f"{live}.{name} TO {old}.{name}")
        pairs.append(f"{shadow}.{name} TO {live}.{name}")
    store.execute("RENAME TABLE " + ", ".join(pairs))
    for statement in live_materialized_views(live).values():
        store.execute(statement)
    return data
