"""The stall watchdog: a worker that owns partitions with records waiting, yet has handled
none for ``stall_seconds``, exits with code 75 so that its supervisor starts it again.

Why: after a restart with a backlog, Faust 0.15 can finish recovery, report "Worker ready"
with every partition active, and never deliver a record to the agents (seen in the crash
test on a loaded machine: nothing fetched for minutes). Nothing past the last handled record
was committed, so a restart loses nothing; it costs the stall timeout. Waiting records are
measured with kafka-python, outside Faust: the end offsets of the owned input partitions
against the group's committed offsets and the worker's own positions.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time

log = logging.getLogger(__name__)
EXIT_STALLED = 75  # EX_TEMPFAIL: start me again


def waiting(ends: dict, committed: dict, positions: dict) -> dict:
    """Partition -> records not handled yet: the end offset past the furthest of the group's
    committed offset and this worker's own position."""
    out = {}
    for tp, end in ends.items():
        done = max(committed.get(tp) or 0, positions.get(tp) or 0)
        if end > done:
            out[tp] = end - done
    return out


def stalled(backlog: dict, idle_seconds: float, limit: float) -> bool:
    return limit > 0 and bool(backlog) and idle_seconds > limit


class Probe:
    """End offsets and committed offsets through kafka-python (blocking: run in a thread)."""

    def __init__(self, bootstrap: str, group: str):
        from kafka import KafkaAdminClient, KafkaConsumer

        self.group = group
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="gridflow-watchdog")
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                      client_id="gridflow-watchdog")

    def offsets(self, tps: list[tuple[str, int]]) -> tuple[dict, dict]:
        from kafka import TopicPartition

        kps = [TopicPartition(t, p) for t, p in tps]
        ends = {(tp.topic, tp.partition): off for tp, off in self.consumer.end_offsets(kps).items()}
        meta = self.admin.list_group_offsets({self.group: kps}).get(self.group, {})
        committed = {(tp.topic, tp.partition): m.offset for tp, m in meta.items() if m is not None and m.offset >= 0}
        return ends, committed


async def check(rt, offsets) -> dict:
    """The records waiting on a worker that has stalled ({} while it has not);
    ``offsets(tps)`` answers (end offsets, committed offsets), blocking."""
    if rt.app.rebalancing or rt.app.in_recovery or not rt.index_ready:
        rt.last_progress = time.monotonic()  # the clock starts when the worker can work
        return {}
    sources = {rt.topics["intake"].get_topic_name(), rt.topics["matters"].get_topic_name()}
    tps = sorted((tp.topic, tp.partition) for tp in rt.app.assignor.assigned_actives() if tp.topic in sources)
    idle = time.monotonic() - rt.last_progress
    if not tps or idle <= rt.options.stall_seconds:
        return {}
    ends, committed = await asyncio.to_thread(offsets, tps)
    backlog = waiting(ends, committed, rt.positions)
    return backlog if stalled(backlog, time.monotonic() - rt.last_progress, rt.options.stall_seconds) else {}


def register(rt) -> None:
    limit = rt.options.stall_seconds
    if limit <= 0:
        return
    probe: list[Probe] = []

    def offsets(tps):
        if not probe:
            probe.append(Probe(rt.settings.kafka_bootstrap, rt.app.conf.id))
        return probe[0].offsets(tps)

    @rt.app.timer(interval=max(1.0, limit / 4), name="stall_watchdog")
    async def stall_watchdog():
        try:
            backlog = await check(rt, offsets)
        except Exception as exc:  # the broker is away: that is not a stall of ours
            log.warning("stall watchdog: cannot read offsets (%s); trying again", exc)
            return
        if backlog:
            log.critical("stall watchdog: nothing handled for %.0fs while %d records wait on %s; exiting (%d) "
                         "without committing so that a restart resumes from the committed offsets",
                         time.monotonic() - rt.last_progress, sum(backlog.values()), sorted(backlog), EXIT_STALLED)
            logging.shutdown()
            os._exit(EXIT_STALLED)
