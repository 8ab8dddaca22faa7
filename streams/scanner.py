"""The SLA scanner: "the scanner proposes, the owner decides".

Per partition this worker owns, the deadline index holds each open matter's next timer.
A scan pops the timers due by the partition's clock and writes a ``deadline_reached``
proposal to the accepted topic, on the matter's partition; the matter agent checks the
current state and fires at most once per (matter, level, cycle, deadline). The periodic
timer scans in both clock modes; in event mode every watermark also scans its partition.

The index is rebuilt from the matter table after each recovery (new assignment, restart),
and no scan runs while the app is rebalancing or recovering. A proposal lost in a crash is
proposed again from the rebuilt index: a missed scan delays an escalation, never loses it.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiokafka.partitioner import murmur2

from events import codec
from events.ids import derived_id
from events.levels import LEVEL_NAMES
from events.types import DeadlineReached
from streams import metrics
from streams.deadlines import DeadlineIndex, Due
from streams.errors import LogWriteError
from streams.output import Out, exit_on_log_write_failure, send_all

log = logging.getLogger(__name__)
MAX_PROPOSALS_PER_SCAN = 10_000  # per partition; the rest wait for the next scan


def register(rt) -> None:
    @rt.app.timer(interval=rt.settings.scan_interval_seconds, name="sla_scanner")
    async def sla_scanner():
        if rt.app.rebalancing or rt.app.in_recovery or not rt.index_ready:
            return
        try:
            for partition in sorted(owned(rt)):
                await scan_partition(rt, partition)
            update_gauges(rt)
        except LogWriteError as exc:
            exit_on_log_write_failure(exc)
        except Exception:  # keep the timer alive; the next scan tries again
            log.exception("sla scanner: scan failed")

    @rt.app.on_partitions_revoked.connect
    async def on_revoked(sender, revoked, **kwargs):
        rt.index_ready = False


def owned(rt) -> set[int]:
    """Partitions of the accepted topic this worker is the active owner of."""
    name = rt.topics["matters"].get_topic_name()
    return {tp.partition for tp in rt.app.assignor.assigned_actives() if tp.topic == name}


def partition_of(key: bytes, partitions: int) -> int:
    """The partition the default Kafka partitioner (murmur2) gives a key: where the intake put it."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def clock_key(partition: int) -> bytes:
    return f"clock/{partition}".encode()


def encode_marks(marks: dict[int, int]) -> bytes:
    return codec.pack({str(source): w for source, w in marks.items()})


def decode_marks(raw: bytes) -> dict[int, int]:
    return {int(source): int(w) for source, w in codec.unpack(raw).items()}


def proposal(rt, due: Due) -> DeadlineReached:
    return DeadlineReached(event_id=derived_id(due.matter_id, "deadline_reached", due.cycle, due.deadline, due.due),
                           matter_id=due.matter_id, occurred_at=due.due, producer=rt.ctx.producer,
                           cycle=due.cycle, deadline=due.deadline, due_at=due.due)


async def scan_partition(rt, partition: int, ev=None) -> int:
    """Propose every timer of ``partition`` due by its clock; returns how many."""
    now = rt.clock.now(partition)
    if now is None:
        return 0
    due = rt.index.pop_due(partition, now, limit=MAX_PROPOSALS_PER_SCAN)
    if not due:
        return 0
    topic = rt.topics["matters"]
    await send_all(ev, [Out(topic, d.matter_id.encode("utf-8"), codec.encode(proposal(rt, d)), partition,
                            type=DeadlineReached.TYPE) for d in due])
    metrics.PROPOSALS.inc(len(due))
    return len(due)


async def rebuild(rt) -> None:
    """Rebuild the deadline index, the open-matters counts and the clocks from the tables."""
    from streams.matters import load_state, track

    started = time.monotonic()
    rt.index_ready = False
    mine = owned(rt)
    rt.index, rt.open_matters = DeadlineIndex(), {}
    for level in LEVEL_NAMES:
        metrics.OPEN_MATTERS.labels(level).set(0)
    count = 0
    for key, raw in rt.tables["matters"].items():
        partition = partition_of(key, rt.partitions)
        if partition not in mine or not raw:
            continue
        try:
            state = load_state(raw)
        except (ValueError, TypeError, KeyError) as exc:
            log.error("sla scanner: matter %r has an unreadable state, no timers for it: %s", key, exc)
            continue
        track(rt, partition, state.matter_id, None, state)
        count += 1
        if count % 5000 == 0:
            await asyncio.sleep(0)  # let heartbeats through on a big table
    for partition in range(rt.partitions):
        rt.clock.forget(partition)
        raw = rt.tables["clocks"].get(clock_key(partition)) if partition in mine else None
        if raw:
            rt.clock.restore(partition, decode_marks(raw))
    rt.index_ready = True
    log.info("sla scanner: index rebuilt for partitions %s: %d matters, %d timers, in %.2fs",
             sorted(mine), count, len(rt.index), time.monotonic() - started)


def update_gauges(rt) -> None:
    newest = rt.clock.newest() or rt.newest_event_at
    if newest:
        metrics.EVENT_TIME_LAG.set(time.time() - newest / 1000)
    consumer, group = rt.app.consumer, rt.app.conf.id
    sources = {rt.topics["intake"].get_topic_name(), rt.topics["matters"].get_topic_name()}
    for tp in consumer.assignment():
        if tp.topic not in sources:
            continue
        position = rt.positions.get((tp.topic, tp.partition))
        highwater = consumer.highwater(tp)
        if position is not None and highwater is not None:
            metrics.CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(0, highwater - position))
