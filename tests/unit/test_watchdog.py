"""The stall watchdog: a worker that owns records waiting and has handled none for the
stall timeout says so (and then exits for its supervisor); an idle worker with nothing
waiting, or one still recovering, does not."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

from streams.watchdog import check, stalled, waiting

IN, ACC = "p.matters.intake", "p.matters.accepted"


def test_waiting_counts_records_past_the_furthest_of_committed_and_handled():
    ends = {(IN, 0): 10, (IN, 1): 5, (ACC, 0): 7}
    committed = {(IN, 0): 4, (IN, 1): 5}
    positions = {(IN, 0): 8, (ACC, 0): 7}
    assert waiting(ends, committed, positions) == {(IN, 0): 2}


def test_a_stall_needs_records_waiting_and_the_timeout_passed():
    assert stalled({(IN, 0): 2}, idle_seconds=11, limit=10)
    assert not stalled({}, idle_seconds=1000, limit=10)  # idle, nothing to do
    assert not stalled({(IN, 0): 2}, idle_seconds=9, limit=10)
    assert not stalled({(IN, 0): 2}, idle_seconds=1000, limit=0)  # disabled


class Topic:
    def __init__(self, name):
        self.name = name

    def get_topic_name(self):
        return self.name


def runtime(*, idle: float, ready: bool = True, rebalancing: bool = False, positions=None):
    owned = [SimpleNamespace(topic=IN, partition=0), SimpleNamespace(topic=ACC, partition=0),
             SimpleNamespace(topic="p-streams-matters-changelog", partition=0)]
    app = SimpleNamespace(rebalancing=rebalancing, in_recovery=False,
                          assignor=SimpleNamespace(assigned_actives=lambda: owned))
    return SimpleNamespace(app=app, index_ready=ready, options=SimpleNamespace(stall_seconds=10.0),
                           topics={"intake": Topic(IN), "matters": Topic(ACC)}, positions=positions or {},
                           last_progress=time.monotonic() - idle)


def offsets(asked: list):
    def answer(tps):
        asked.append(tps)
        return {tp: 20 for tp in tps}, {(IN, 0): 20, (ACC, 0): 12}
    return answer


def test_a_worker_with_records_waiting_and_nothing_handled_is_stalled_on_its_input_partitions_only():
    asked = []
    assert asyncio.run(check(runtime(idle=30), offsets(asked))) == {(ACC, 0): 8}
    assert asked == [[(ACC, 0), (IN, 0)]]  # not the changelog


def test_a_worker_that_handled_records_lately_is_not_asked_about_offsets():
    asked = []
    assert asyncio.run(check(runtime(idle=1), offsets(asked))) == {} and asked == []


def test_a_recovering_worker_restarts_its_idle_clock():
    rt = runtime(idle=300, rebalancing=True)
    assert asyncio.run(check(rt, offsets([]))) == {}
    assert time.monotonic() - rt.last_progress < 5
