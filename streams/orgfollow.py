"""The worker follows the org topic while it runs.

An aiokafka consumer without a group is assigned the org topic from where the start-up read
ended; its fetcher runs in the background. Between batches the processor calls ``poll``,
which takes what was fetched without waiting (a dict lookup when nothing changed) and, when
units changed, returns the new tree in force. Before an event naming a unit the tree lacks is
dead-lettered, the processor calls ``catch_up``: the topic is read to the end offsets asked
*after* the event was fetched, so a unit published before its events is known when they
are decided. A broker that does not answer is retried for ``timeout`` seconds, then
``OrgTopicError`` stops the worker (exit 70): a failure that is not the record's never
dead-letters it.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from events import codec
from events.errors import EventError
from events.orgchanges import in_force
from events.orgtree import OrgTree, OrgUnit
from streams import metrics
from streams.errors import OrgTopicError

log = logging.getLogger(__name__)


class OrgFollower:
    def __init__(self, consumer, topic: str, records: dict[str, OrgUnit], ends: dict[int, int], *,
                 timeout: float = 30.0) -> None:
        self.consumer, self.topic = consumer, topic
        self.records = dict(records)  # the latest record of every unit, retired ones included
        self.ends = dict(ends)  # partition -> where the start-up read stopped
        self.timeout = timeout
        self.waiting: dict[str, str] = {}  # units not in force yet, and why
        self._changed = False
        self._tps: list[TopicPartition] = []

    async def start(self) -> None:
        parts = self.consumer.partitions_for_topic(self.topic) or set(self.ends)
        self._tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
        self.consumer.assign(self._tps)
        for tp in self._tps:
            self.consumer.seek(tp, self.ends.get(tp.partition, 0))

    async def poll(self) -> OrgTree | None:
        """What the background fetcher has: the new tree if a unit changed, else None."""
        batch = await self.consumer.getmany(timeout_ms=0)
        if batch:
            self._absorb(batch)
        return self._tree() if self._changed else None

    async def catch_up(self) -> OrgTree | None:
        """Read to the topic's current end; the new tree if a unit changed, else None."""
        give_up = time.monotonic() + self.timeout
        while True:
            try:
                ends = await self.consumer.end_offsets(self._tps)
                while True:
                    behind = [tp for tp in self._tps if await self.consumer.position(tp) < ends[tp]]
                    if not behind:
                        break
                    if time.monotonic() > give_up:
                        raise asyncio.TimeoutError
                    self._absorb(await self.consumer.getmany(*behind, timeout_ms=200))
                break
            except (KafkaError, asyncio.TimeoutError) as exc:
                if time.monotonic() > give_up:
                    raise OrgTopicError(f"could not read the org topic {self.topic} to its end in "
                                        f"{self.timeout:.0f}s: {exc!r}") from exc
                log.warning("org topic %s: reading to its end failed (%r); trying again", self.topic, exc)
                await asyncio.sleep(0.5)
        metrics.ORG_CATCH_UPS.inc()
        return self._tree() if self._changed else None

    def _absorb(self, batch: dict) -> None:
        for records in batch.values():
            for record in records:
                key = record.key.decode("utf-8", "replace") if record.key else ""
                if record.value is None:  # a tombstone: the unit is forgotten (retire it instead)
                    self._changed |= self.records.pop(key, None) is not None
                    continue
                try:
                    unit = codec.decode_org_unit(record.value)
                except EventError as exc:
                    log.warning("org topic %s[%d]@%d: skipped a bad unit record: %s",
                                record.topic, record.partition, record.offset, exc)
                    continue
                if self.records.get(unit.unit_id) != unit:
                    self.records[unit.unit_id] = unit
                    self._changed = True
                    metrics.ORG_CHANGES.inc()

    def _tree(self) -> OrgTree:
        tree, waiting = in_force(self.records)
        self._changed = False
        for unit_id in waiting.keys() - self.waiting.keys():
            log.warning("org tree: unit %r is not in force yet: %s", unit_id, waiting[unit_id])
        self.waiting = waiting
        metrics.ORG_UNITS.set(len(tree))
        log.info("org tree: %d units in force, %d retired, %d waiting for their parent", len(tree),
                 sum(u.retired for u in self.records.values()), len(waiting))
        return tree
