"""Rebuild: replay the event log from offset zero into fresh tables, then swap them in.

1. ``<db>_rebuild`` is created from the migrations and seeded with the current org dimension.
2. The log (and the org topic) is read from the beginning to the end offsets seen at start,
   by the same projector code, without a consumer group and without re-sending dead letters.
3. Swap: the materialized views are dropped, each data table moves ``<db>`` -> ``<db>_old``
   and ``<db>_rebuild`` -> ``<db>`` in one RENAME, the views are created again from the
   migrations; the analyst views resolve table names when queried, so they follow.

The live projector must be stopped during a rebuild (checked). When it starts again it reads
from its committed offsets; the events it writes a second time change nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from kafka.structs import TopicPartition

from projections import orgdim
from projections.app import batching, kafka_consumer, load_org_file
from projections.errors import ProjectionError
from projections.migrate import materialized_views, migrate
from projections.projector import Projector, Totals
from projections.sink import Sink
from projections.store import Store

VIEW_ENGINES = ("View", "MaterializedView")


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
            log: Callable[[str], None] = print, consumer=None) -> RebuildResult:
    started = time.monotonic()
    live = store.database
    shadow, old = f"{live}_rebuild", f"{live}_old"
    if not force and projector_active(settings):
        raise ProjectionError(f"the projector group {settings.projector_group!r} has active members: "
                              "stop `gridflow project` first (or pass --force)")
    migrate(store, live, log=log)
    store.execute(f"DROP DATABASE IF EXISTS {shadow}")
    migrate(store, shadow, log=lambda _: None)
    target = store.with_database(shadow)
    store.execute(f"INSERT INTO {shadow}.org_units SELECT * FROM {live}.org_units")

    topics = settings.topics
    consumer = consumer or kafka_consumer(settings, group=None, client_id="gridflow-rebuild")
    partitions = [TopicPartition(t, p) for t in (topics.events, topics.org)
                  for p in sorted(consumer.partitions_for_topic(t) or ())]
    if not any(tp.topic == topics.events for tp in partitions):
        raise ProjectionError(f"topic {topics.events} not found at {settings.kafka_bootstrap}")
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    begins, ends = consumer.beginning_offsets(partitions), consumer.end_offsets(partitions)
    stop_at = {tp: ends[tp] for tp in partitions if ends[tp] > begins[tp]}
    log(f"rebuild: replaying {sum(ends[tp] - begins[tp] for tp in stop_at)} records into {shadow}")
    sink = Sink(target, log=log, known_units=orgdim.load_units(target))
    projector = Projector(sink, consumer, events_topic=topics.events, org_topic=topics.org, producer=None,
                          group=None, log=log, **batching(settings))
    try:
        totals = projector.run(stop_at=stop_at)
    finally:
        consumer.close()
    if org_file:
        load_org_file(target, org_file, log)
    tables = swap(store, live, shadow, old)
    if not keep_old:
        store.execute(f"DROP DATABASE IF EXISTS {old}")
    store.execute(f"DROP DATABASE IF EXISTS {shadow}")
    seconds = time.monotonic() - started
    log(f"rebuild: {totals.written} events, {totals.deadletters} dead letters, swapped {', '.join(tables)} "
        f"into {live} in {seconds:.1f}s")
    return RebuildResult(totals, seconds, tables)


def swap(store: Store, live: str, shadow: str, old: str) -> list[str]:
    """Move the data tables of ``shadow`` into ``live`` (the live ones into ``old``)."""
    def tables(db: str) -> dict[str, str]:
        return dict(store.query("SELECT name, engine FROM system.tables WHERE database = %(db)s", {"db": db}))

    live_tables, shadow_tables = tables(live), tables(shadow)
    data = sorted(n for n, e in shadow_tables.items() if e not in VIEW_ENGINES and n != "schema_migrations")
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
    for statement in materialized_views(live).values():
        store.execute(statement)
    return data
