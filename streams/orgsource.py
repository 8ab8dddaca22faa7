"""Where the worker's org tree comes from: ``settings.org_path`` (CSV or JSON lines, fixed for
the process), or else the compacted org topic, read from the beginning to its end at start-up
and then followed while the worker runs (streams/orgfollow.py)."""
from __future__ import annotations

import logging
import time

from events import codec, orgtree
from events.errors import EventError
from events.orgchanges import in_force
from events.orgtree import OrgTree, OrgUnit
from gridflow.settings import Settings
from streams.errors import NoOrgTree

log = logging.getLogger(__name__)


def load_org_tree(settings: Settings, timeout: float = 30.0, wait: float = 0.0) -> OrgTree:
    """The tree from the file, or from the topic; waits up to ``wait`` seconds for a topic
    that has no units yet (a worker started before the org tree was published)."""
    if settings.org_path:
        tree = orgtree.load(settings.org_path)
        log.info("org tree: %d units from %s", len(tree), settings.org_path)
        return tree
    return load_org_records(settings, timeout, wait)[0]


def load_org_records(settings: Settings, timeout: float = 30.0,
                     wait: float = 0.0) -> tuple[OrgTree, dict[str, OrgUnit], dict[int, int]]:
    """The tree in force on the org topic, the latest record of every unit (retired ones too)
    and the end offsets the read stopped at (where following it goes on)."""
    give_up = time.monotonic() + wait
    ends: dict[int, int] = {}
    while not (units := read_org_topic(settings, timeout, ends)) and time.monotonic() < give_up:
        log.warning("org tree: no units on %s yet; waiting up to %.0fs more (or set GRIDFLOW_ORG_PATH)",
                    settings.topics.org, give_up - time.monotonic())
        time.sleep(min(5.0, max(0.0, give_up - time.monotonic())))
    if not units:
        raise NoOrgTree(f"no org tree: GRIDFLOW_ORG_PATH is empty and topic {settings.topics.org} has no units "
                        "(publish them with the SDK's publish_org, or point GRIDFLOW_ORG_PATH at a CSV)")
    tree, waiting = in_force(units)
    if not len(tree):
        raise NoOrgTree(f"no org tree in force on topic {settings.topics.org}: no city with its units "
                        f"({len(units)} records, e.g. {next(iter(waiting.items()), ('', ''))})")
    for unit_id, why in list(waiting.items())[:20]:
        log.warning("org tree: unit %r is not in force: %s", unit_id, why)
    log.info("org tree: %d units in force from topic %s (%d retired, %d waiting for their parent)", len(tree),
             settings.topics.org, sum(u.retired for u in units.values()), len(waiting))
    return tree, units, ends


def read_org_topic(settings: Settings, timeout: float, ends_out: dict[int, int] | None = None) -> dict[str, OrgUnit]:
    """Every unit on the org topic, latest record per key; an empty value deletes the unit.
    ``ends_out`` receives the end offset of each partition (where the read stopped)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             group_id=None, client_id=f"{settings.worker_id}-org")
    try:
        parts = consumer.partitions_for_topic(settings.topics.org) or set()
        tps = [TopicPartition(settings.topics.org, p) for p in sorted(parts)]
        if not tps:
            return {}
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        if ends_out is not None:
            ends_out.update({tp.partition: off for tp, off in ends.items()})
        units: dict[str, OrgUnit] = {}
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise NoOrgTree(f"reading {settings.topics.org} took longer than {timeout:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    key = record.key.decode("utf-8") if record.key else ""
                    if record.value is None:
                        units.pop(key, None)
                        continue
                    try:
                        unit = codec.decode_org_unit(record.value)
                    except EventError as exc:
                        log.warning("org topic %s[%d]@%d: skipped a bad unit record: %s",
                                    record.topic, record.partition, record.offset, exc)
                        continue
                    units[unit.unit_id] = unit
        return units
    finally:
        consumer.close()
