"""The watchdog: committed offsets behind what the worker has done are committed again; records
waiting with nothing handled first restart their fetches, and only if that does not help is
the worker stopped for a restart. An idle worker, or one still recovering, is left alone."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from aiokafka import TopicPartition

from streams.errors import EXIT_STALLED
from streams.watchdog import Watchdog, behind, waiting

IN = "p.matters.intake"
T0, T1 = TopicPartition(IN, 0), TopicPartition(IN, 1)


def test_waiting_counts_records_past_what_is_done():
    assert waiting({T0: 10, T1: 5}, {T0: 8, T1: 5}) == {T0: 2}


def test_behind_names_partitions_whose_committed_offset_trails_what_is_done():
    assert behind({T0: 4, T1: 5}, {T0: 8, T1: 5}) == {T0: (4, 8)}
    assert behind({}, {T0: 3}) == {T0: (None, 3)}


class Consumer:
    def __init__(self, committed: dict, ends: dict):
        self._committed, self.ends = committed, ends
        self.resumed, self.seeks = [], []

    def assignment(self):
        return {T0, T1}

    async def committed(self, tp):
        return self._committed.get(tp)

    async def end_offsets(self, tps):
        return {tp: self.ends[tp] for tp in tps}

    def resume(self, *tps):
        self.resumed += tps

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))


class Processor:
    def __init__(self, consumer, *, idle: float, positions: dict, recovering=()):
        self.consumer, self.positions = consumer, positions
        self.ready = {0: object(), 1: object()}
        self.recovering = set(recovering)
        self.last_progress = time.monotonic() - idle
        self.committed = dict(positions)
        self.lock = asyncio.Lock()
        self.commits = 0

    async def commit(self):
        self.commits += 1
        self.consumer._committed.update(self.positions)
        return True


def dog(proc, exits):
    return Watchdog(proc, stall_seconds=10.0, exit=exits.append)


def test_a_worker_that_handled_records_lately_and_committed_them_is_left_alone():
    consumer = Consumer({T0: 5, T1: 5}, {T0: 9, T1: 5})
    proc, exits = Processor(consumer, idle=1, positions={T0: 5, T1: 5}), []
    assert asyncio.run(dog(proc, exits).check()) is None and proc.commits == 0 and not consumer.resumed


def test_commits_the_broker_does_not_have_are_made_again_once_they_stay_behind():
    consumer = Consumer({T0: 2}, {T0: 5, T1: 5})
    proc, exits = Processor(consumer, idle=1, positions={T0: 5, T1: 5}), []
    watchdog = dog(proc, exits)
    assert asyncio.run(watchdog.check()) is None  # behind once: it may be on its way
    watchdog.behind_since = {tp: t - 6 for tp, t in watchdog.behind_since.items()}
    assert asyncio.run(watchdog.check()) == "commit" and proc.commits == 1
    assert asyncio.run(consumer.committed(T0)) == 5 and asyncio.run(watchdog.check()) is None


def test_a_stalled_fetch_is_restarted_first_and_the_worker_exits_only_if_that_does_not_help():
    consumer = Consumer({T0: 5, T1: 5}, {T0: 9, T1: 5})
    proc, exits = Processor(consumer, idle=30, positions={T0: 5, T1: 5}), []
    watchdog = dog(proc, exits)
    assert asyncio.run(watchdog.check()) == "fetch"
    assert consumer.resumed == [T0] and consumer.seeks == [(T0, 5)] and not exits
    assert asyncio.run(watchdog.check()) is None  # give the repair its time
    watchdog.repaired_at -= 11
    assert asyncio.run(watchdog.check()) == "exit" and exits == [EXIT_STALLED]


def test_progress_after_a_repair_resets_it():
    consumer = Consumer({T0: 5, T1: 5}, {T0: 9, T1: 5})
    proc, exits = Processor(consumer, idle=30, positions={T0: 5, T1: 5}), []
    watchdog = dog(proc, exits)
    asyncio.run(watchdog.check())
    proc.last_progress = time.monotonic()
    assert asyncio.run(watchdog.check()) is None and watchdog.repaired_at is None


def test_a_recovering_worker_is_not_judged():
    consumer = Consumer({}, {T0: 9, T1: 9})
    proc, exits = Processor(consumer, idle=300, positions={}, recovering=[1]), []
    assert asyncio.run(dog(proc, exits).check()) is None and not consumer.resumed
