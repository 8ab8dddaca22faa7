"""The watchdog: what the worker's loop cannot see from inside.

- **Commits behind.** The group's committed offset, as the broker has it, stays behind what the
  worker has handled and written (a commit lost in a rebalance or a broker restart): commit
  again now (``gridflow_worker_repairs_total{kind="commit"}``). A lag alert never fires forever.
- **A stalled fetch.** Records wait on partitions whose states are loaded and none has been
  handled for ``stall_seconds``: resume those partitions and seek each to the worker's position,
  which restarts their fetches (``kind="fetch"``). If that does not help within another
  ``stall_seconds``, exit 75 for the supervisor to restart the worker; nothing past the last
  written batch was committed, so a restart loses nothing.
"""
from __future__ import annotations

import logging
import os
import time

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from streams import metrics
from streams.errors import EXIT_STALLED

log = logging.getLogger(__name__)


def waiting(ends: dict, done: dict) -> dict:
    """Partition -> records not handled yet (end offset past what is done)."""
    return {tp: end - done.get(tp, 0) for tp, end in ends.items() if end > done.get(tp, 0)}


def behind(committed: dict, done: dict) -> dict:
    """Partition -> (committed, done) where the broker's committed offset is behind what is done."""
    return {tp: (committed.get(tp), off) for tp, off in done.items() if (committed.get(tp) or 0) < off}


class Watchdog:
    def __init__(self, processor, stall_seconds: float, *, exit=os._exit) -> None:
        self.proc, self.stall_seconds, self._exit = processor, stall_seconds, exit
        self.repaired_at: float | None = None
        self.behind_since: dict[TopicPartition, float] = {}

    async def check(self) -> str | None:
        """One look; returns what it did: None, "commit", "fetch" or "exit"."""
        proc = self.proc
        consumer = proc.consumer
        mine = [tp for tp in consumer.assignment() if tp.partition in proc.ready]
        if not mine or proc.recovering:
            self.repaired_at = None
            return None
        done = {tp: proc.positions[tp] for tp in mine if tp in proc.positions}
        try:
            committed = {tp: await consumer.committed(tp) for tp in done}
        except KafkaError as exc:  # the broker is away: not a stall of ours
            log.warning("watchdog: cannot read committed offsets (%s)", exc)
            return None
        action = await self._commits(behind(committed, done))
        if time.monotonic() - proc.last_progress <= self.stall_seconds:
            self.repaired_at = None
            return action
        try:
            ends = await consumer.end_offsets(mine)
        except KafkaError as exc:
            log.warning("watchdog: cannot read end offsets (%s)", exc)
            return action
        stuck = waiting(ends, {tp: proc.positions.get(tp, committed_or_zero(committed, tp)) for tp in mine})
        if not stuck:
            return action
        idle = time.monotonic() - proc.last_progress
        if self.repaired_at is None:
            log.warning("watchdog: nothing handled for %.0fs while %d records wait on %s; restarting their fetches",
                        idle, sum(stuck.values()), _names(stuck))
            consumer.resume(*stuck)
            for tp in stuck:
                if tp in proc.positions:
                    consumer.seek(tp, proc.positions[tp])
            metrics.REPAIRS.labels("fetch").inc()
            self.repaired_at = time.monotonic()
            return "fetch"
        if time.monotonic() - self.repaired_at > self.stall_seconds:
            log.critical("watchdog: still nothing handled %.0fs after restarting the fetches, %d records wait on %s; "
                         "exiting (%d) for a restart: nothing unwritten was committed", idle, sum(stuck.values()),
                         _names(stuck), EXIT_STALLED)
            logging.shutdown()
            self._exit(EXIT_STALLED)
            return "exit"
        return action

    async def _commits(self, lagging: dict) -> str | None:
        now = time.monotonic()
        for tp in list(self.behind_since):
            if tp not in lagging:
                del self.behind_since[tp]
        overdue = [tp for tp in lagging if now - self.behind_since.setdefault(tp, now) >= self.stall_seconds / 2]
        if not overdue:
            return None
        log.warning("watchdog: committed offsets behind what is done on %s; committing again",
                    ", ".join(f"{tp.topic}[{tp.partition}] {c}<{d}" for tp, (c, d) in sorted(lagging.items())))
        async with self.proc.lock:
            for tp in overdue:
                self.proc.committed.pop(tp, None)  # forget what we believe is committed: the broker says no
            ok = await self.proc.commit()
        if ok:
            metrics.REPAIRS.labels("commit").inc()
            for tp in overdue:
                self.behind_since.pop(tp, None)
        return "commit"


def committed_or_zero(committed: dict, tp) -> int:
    return committed.get(tp) or 0


def _names(tps) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(tps))
