"""The worker's Kafka loop: read intake records in batches, decide them partition by partition,
write what the batch produced, and only then let the offsets move.

One batch:
1. ``getmany`` returns up to ``batch_size`` records, grouped by partition;
2. each record goes through its ``Partition`` (classify, ``decide``, timers) in order;
3. the events for the log and the dead letters are sent, and their acknowledgements awaited
   once for the whole batch;
4. then the changed states (and event clocks) are sent to the state topic and awaited once;
5. then, at most every ``commit_interval``, the offsets of what is done are committed.

So a crash at any point leaves a state that is never older than its committed input: either
the old state with the records redone (the same deterministic ids again: duplicates that every
consumer drops), or the new state with its outputs already in Kafka. A write Kafka does not
acknowledge is retried for ``kafka_timeout`` seconds (streams/writer.py), then the
worker exits 70 without committing. A failure that is about the worker and not the record
never dead-letters the record.

The org tree follows the org topic (streams/orgfollow.py): changes fetched in the background
are applied between batches; an event naming a unit the tree lacks waits until the org topic
is read to its end before it is decided (and dead-lettered only if the unit is still unknown).

Partitions move between workers by Kafka's consumer-group protocol. Revoked: the batch in flight
finishes, everything is committed. Assigned: a partition this worker just held, that nobody
wrote to since, is kept; any other is paused while its states are read back from the state
topic, then resumed (streams/recovery.py).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from streams import metrics
from streams.breaker import Breaker
from streams.errors import CircuitOpen, OrgBehind
from streams.intake import Bad
from streams.partition import STAGE, Partition, Rules
from streams.pending import Pending
from streams.recovery import read_legacy, read_states
from streams.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tuning:
    batch_size: int = 2000  # records per batch, over all partitions
    poll_ms: int = 200  # how long an empty poll waits
    commit_interval: float = 1.0  # seconds between offset commits
    scan_interval: float = 5.0  # seconds between timer scans of every partition
    kafka_timeout: float = 120.0  # how long unacknowledged writes are retried before exiting 70
    breaker_window: int = 1000  # recent records the circuit breaker looks at
    breaker_share: float = 0.1  # stop when more than this share of them failed on an internal error
    breaker_min: int = 10  # ... and at least this many
    faults: frozenset[str] = frozenset()  # test-only: skip-commits, pause-fetch


@dataclass(frozen=True)
class Names:
    intake: str
    events: str
    deadletter: str
    state: str
    group: str
    resources: str = ""  # the resources log
    holds: str = ""  # resources' claimed orders


class Processor:
    def __init__(self, rules: Rules, names: Names, consumer, producer, *, bootstrap: str, worker_id: str,
                 tuning: Tuning = Tuning(), org=None) -> None:
        self.rules, self.names, self.tuning = rules, names, tuning
        self.org = org  # an OrgFollower, or None for a tree from a file
        self.consumer, self.producer = consumer, producer
        self.bootstrap, self.worker_id = bootstrap, worker_id
        self.ready: dict[int, Partition] = {}  # partitions whose states are loaded: the loop handles them
        self.kept: dict[int, Partition] = {}  # revoked; kept in case the next assignment gives them back
        self.recovering: set[int] = set()
        self._recoveries: set[asyncio.Task] = set()
        self.positions: dict[TopicPartition, int] = {}  # next offset to read: everything before is written
        self.committed: dict[TopicPartition, int] = {}  # what this worker last committed
        self.last_commit = time.monotonic()
        self.last_progress = time.monotonic()  # when a record was last handled (the watchdog reads it)
        self.lock = asyncio.Lock()  # one batch or one rebalance step at a time
        self.breaker = Breaker(tuning.breaker_window, tuning.breaker_share, tuning.breaker_min)
        self.writer = BatchWriter(producer, names, tuning.kafka_timeout)
        self.stopping = False
        self.resources = None  # the ResourceFollower (streams/resourcesource.py), when the app has one
        self._next_scan = 0.0
        self._next_gauges = 0.0
        self._faulted = False

    # --- lifecycle --------------------------------------------------------------------------

    def subscribe(self) -> None:
        self.consumer.subscribe([self.names.intake], listener=_Listener(self))

    @property
    def is_ready(self) -> bool:
        """Every assigned partition's states are loaded (and at least one is assigned)."""
        assigned = {tp.partition for tp in self.consumer.assignment()}
        return bool(assigned) and assigned <= set(self.ready)

    async def run(self) -> None:
        """The loop, until ``stop``; returns after the last batch is written and committed."""
        while not self.stopping:
            wait_ms = max(0, min(self.tuning.poll_ms, int((self._next_scan - time.monotonic()) * 1000)))
            try:
                batch = await self.consumer.getmany(timeout_ms=wait_ms, max_records=self.tuning.batch_size)
            except KafkaError as exc:  # the broker is away: not about any record
                log.warning("reading %s failed (%s); trying again", self.names.intake, exc)
                await asyncio.sleep(1.0)
                continue
            now = time.monotonic()
            scan = now >= self._next_scan
            if batch or scan:
                async with self.lock:
                    if self.org is not None:
                        self._set_tree(await self.org.poll())
                    await self._batch(batch, scan)
                if scan:
                    self._next_scan = now + self.tuning.scan_interval
                self._scan_at_next_due()
            if now >= self._next_gauges:
                self._gauges()
                self._next_gauges = now + 1.0
            await self._maybe_commit()
        async with self.lock:
            await self.commit()

    def stop(self) -> None:
        self.stopping = True

    def _scan_at_next_due(self) -> None:
        """On the wall clock, scan again when the earliest timer is due, not a whole interval later:
        a deadline's escalation then follows it by the grace period and a poll, not by the interval."""
        if self.rules.clock != "wall":
            return
        dues = [d for p in self.ready.values() if (d := p.timers.next_due()) is not None]
        if dues:
            seconds = (min(dues) + self.rules.grace_ms) / 1000 - time.time()
            self._next_scan = min(self._next_scan, time.monotonic() + max(0.0, seconds))

    # --- one batch --------------------------------------------------------------------------

    async def _batch(self, batch: dict, scan: bool) -> None:
        out = Pending()
        started = time.perf_counter()
        gate = self.org is not None  # until the org topic is read to its end for this batch
        for part in self.ready.values():
            part.org_gate = gate
        for tp, records in batch.items():
            part = self.ready.get(tp.partition)
            if part is None:  # not recovered yet, or no longer ours: read them again once it is
                if tp in self.consumer.assignment():
                    self.consumer.seek(tp, records[0].offset)
                continue
            for record in records:
                try:
                    self._handle(part, record, out)
                except OrgBehind as behind:  # read the org topic to its end, then decide the record
                    await self._catch_up_org(behind.unit_id)
                    self._handle(part, record, out)
            out.offsets[tp] = records[-1].offset + 1
            out.records += len(records)
        if scan:
            for part in self.ready.values():
                part.fire_due(part.now(), out)
        await self.writer.write(out, self.ready.values())
        self.positions.update(out.offsets)
        if out.records:
            self.last_progress = time.monotonic()
            metrics.BATCH_RECORDS.observe(out.records)
            metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        if "pause-fetch" in self.tuning.faults and out.records and not self._faulted:
            self._faulted = True  # once: a fetcher that stops delivering, for the watchdog to notice
            self.consumer.pause(*self.consumer.assignment())

    def _handle(self, part: Partition, record, out: Pending) -> None:
        try:
            part.handle(record, out)
            failed = False
        except OrgBehind:
            raise
        except Exception as exc:  # our bug, not the record's: dead-letter it, keep the partition going
            log.exception("internal error on %s[%d]@%d", record.topic, record.partition, record.offset)
            out.count(metrics.DEADLETTERS, STAGE, "internal")
            out.deadletter(record, Bad(STAGE, "internal", repr(exc)[:500]))
            out.internal += 1
            failed = True
        if self.breaker.record(failed):
            raise CircuitOpen(f"{self.breaker.failures} of the last {len(self.breaker.recent)} records failed on "
                              "an internal error (last at "
                              f"{record.topic}[{record.partition}]@{record.offset}): stopping instead of "
                              "dead-lettering the stream; nothing past the last good batch is committed")

    # --- the org tree -----------------------------------------------------------------------

    async def _catch_up_org(self, unit_id: str) -> None:
        self._set_tree(await self.org.catch_up())
        for part in self.ready.values():
            part.org_gate = False  # read to an end newer than every record of this batch
        if unit_id not in self.rules.ctx.tree:
            log.info("org tree: unit %r is not on the org topic either", unit_id)

    def _set_tree(self, tree) -> None:
        """Decide with ``tree`` from the next record on (call with the lock held)."""
        if tree is None:
            return
        self.rules = replace(self.rules, ctx=replace(self.rules.ctx, tree=tree))
        for part in (*self.ready.values(), *self.kept.values()):
            part.rules = self.rules

    # --- offsets ----------------------------------------------------------------------------

    async def _maybe_commit(self) -> None:
        if time.monotonic() - self.last_commit >= self.tuning.commit_interval:
            if "skip-commits" in self.tuning.faults:
                self.last_commit = time.monotonic()
                return
            async with self.lock:
                await self.commit()

    async def commit(self) -> bool:
        """Commit what is done and not committed yet (call with the lock held)."""
        assigned = self.consumer.assignment()
        todo = {tp: off for tp, off in self.positions.items() if tp in assigned and self.committed.get(tp) != off}
        self.last_commit = time.monotonic()
        if not todo:
            return True
        try:
            await self.consumer.commit(todo)
        except KafkaError as exc:  # a rebalance took the partitions: the new owner redoes a few records
            log.warning("committing %s failed: %r", {f"{tp.topic}[{tp.partition}]": o for tp, o in todo.items()}, exc)
            metrics.COMMIT_FAILURES.inc()
            return False
        self.committed.update(todo)
        return True

    # --- rebalances -------------------------------------------------------------------------

    async def revoked(self, revoked: list[TopicPartition]) -> None:
        for task in list(self._recoveries):
            task.cancel()
        async with self.lock:  # the batch in flight is written first
            await self.commit()
            for tp in revoked:
                part = self.ready.pop(tp.partition, None)
                if part is not None:
                    self.kept[tp.partition] = part
                self.positions.pop(tp, None)
                self.committed.pop(tp, None)
            self.recovering.clear()
        metrics.PARTITIONS.set(len(self.ready))

    async def assigned(self, assigned: list[TopicPartition]) -> None:
        mine = {tp.partition for tp in assigned if tp.topic == self.names.intake}
        async with self.lock:
            # Whatever this worker holds is suspect until the state topic says nobody wrote since
            # (a revoke normally moved it there already; a worker dropped from the group may not
            # have heard of one).
            self.kept.update(self.ready)
            self.ready.clear()
            self.positions.clear()  # a new generation reads from the group's committed offsets
            self.committed.clear()
            for number in list(self.kept):
                if number not in mine:
                    del self.kept[number]
            ends = {}
            if self.kept:
                tps = [TopicPartition(self.names.state, p) for p in self.kept]
                ends = {tp.partition: off for tp, off in (await self.consumer.end_offsets(tps)).items()}
            for number, part in list(self.kept.items()):
                if part.changelog_next >= 0 and ends.get(number) == part.changelog_next:
                    self.ready[number] = part  # nobody wrote to it since: still the newest
            self.kept.clear()
            need = sorted(mine - set(self.ready))
            metrics.PARTITIONS.set(len(self.ready))
            if need:
                self.recovering = set(need)
                self.consumer.pause(*[TopicPartition(self.names.intake, p) for p in need])
                task = asyncio.ensure_future(self._recover(need))
                self._recoveries.add(task)
                task.add_done_callback(self._recoveries.discard)
        log.info("partitions assigned: %s (kept %s, recovering %s)", sorted(mine),
                 sorted(mine - set(need)), need)

    async def _recover(self, numbers: list[int]) -> None:
        started = time.monotonic()
        client_id = f"{self.worker_id}-recovery"
        reading = read_states(self.bootstrap, self.names.state, numbers, client_id=client_id)
        if self.resources is not None:  # meanwhile: what the previous owners wrote to the resources list
            saved, _ = await asyncio.gather(reading, self.resources.loaded())
        else:
            saved = await reading
        empty = [n for n in numbers if saved[n].end == 0]
        legacy = await read_legacy(self.bootstrap, self.names.group, empty, self.rules.partitions,
                                   client_id=client_id) if empty else {}
        loaded = {}
        for number in numbers:
            part = Partition(number, self.rules)
            old = legacy.get(number)
            sources = [(saved[number].records, False)] + ([(old.records, True)] if old else [])
            count = 0
            for records, adopt in sources:
                for key, value in records.items():
                    try:
                        part.restore(key, value, adopt=adopt)
                    except (ValueError, TypeError, KeyError) as exc:
                        log.error("recovery: partition %d: unreadable state %r, no timers for it: %s", number, key, exc)
                    count += 1
                    if count % 2000 == 0:
                        await asyncio.sleep(0)  # heartbeats and the other partitions go on meanwhile
            if old is not None and old.watermark is not None:
                part.adopt_clock(old.watermark)
            part.changelog_next = saved[number].end
            loaded[number] = part
            saved[number].records.clear()
        async with self.lock:
            assigned = {tp.partition for tp in self.consumer.assignment()}
            mine = [n for n in numbers if n in assigned and n in self.recovering]
            for number in mine:
                loaded[number].rules = self.rules  # the tree may have changed while it loaded
                self.ready[number] = loaded[number]
                self.recovering.discard(number)
            self.consumer.resume(*[TopicPartition(self.names.intake, n) for n in mine])
        seconds = time.monotonic() - started
        metrics.RECOVERY_SECONDS.observe(seconds)
        metrics.PARTITIONS.set(len(self.ready))
        log.info("recovery: partitions %s ready in %.1fs: %s matters, %s timers", mine, seconds,
                 sum(len(loaded[n].states) for n in mine), sum(len(loaded[n].timers) for n in mine))

    # --- gauges -----------------------------------------------------------------------------

    def _gauges(self) -> None:
        opened = {}
        for part in self.ready.values():
            for level, n in part.open.items():
                opened[level] = opened.get(level, 0) + n
        for level in metrics.LEVELS:
            metrics.OPEN_MATTERS.labels(level).set(opened.get(level, 0))
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            position = self.positions.get(tp)
            if high is not None and position is not None:
                metrics.CONSUMER_LAG.labels(self.names.group, tp.topic, str(tp.partition)).set(max(0, high - position))
        if self.rules.clock == "event":
            marks = [p.watermark for p in self.ready.values() if p.watermark is not None]
            newest = max(marks) if marks else None
        else:
            newest = max((p.newest_at for p in self.ready.values()), default=0) or None
        if newest:
            metrics.EVENT_TIME_LAG.set(time.time() - newest / 1000)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, processor: Processor) -> None:
        self.processor = processor

    async def on_partitions_revoked(self, revoked):
        await self.processor.revoked(list(revoked))

    async def on_partitions_assigned(self, assigned):
        await self.processor.assigned(list(assigned))
