"""The watchdog on the real broker: a worker whose commits never land, and one whose fetches
stop delivering, are both repaired in place — the log gets everything, the group's committed
offsets reach the end, and the worker never exits."""
from __future__ import annotations

import pytest

from streams_fixtures import (Log, Publisher, WorkerProcess, cleanup_topics, context, publish, reference_run,
                              scenario_steps, scenario_until, stream_settings)

pytestmark = pytest.mark.integration


@pytest.fixture
def env(settings, kafka_bootstrap, tmp_path):
    made, things = [], []
    yield settings, made, things, tmp_path
    for thing in reversed(things):
        (thing.stop if isinstance(thing, WorkerProcess) else thing.close)()
    for s in made:
        cleanup_topics(s)


def committed_behind(settings) -> int:
    from gridflow.pipeline import PipelineWatch
    from streams.app import app_id

    watch = PipelineWatch(settings, worker_group=app_id(settings), projector_group="nobody")
    try:
        return watch.backlog().worker
    finally:
        watch.close()


def repairs(text: str, kind: str) -> float:
    line = next((x for x in text.splitlines() if x.startswith(f'gridflow_worker_repairs_total{{kind="{kind}"}}')), None)
    return float(line.split()[-1]) if line else 0.0


@pytest.mark.parametrize("fault, kind", [("skip-commits", "commit"), ("pause-fetch", "fetch")])
def test_a_stall_is_repaired_in_place_without_a_restart(env, fault, kind):
    base, made, things, tmp = env
    settings = stream_settings(base, tmp, fault, clock="event")
    made.append(settings)
    worker = WorkerProcess(settings, tmp, "--fault", fault, "--stall-timeout", "4").start()  # the last one wins
    pub, log = Publisher(settings), Log(settings, [worker])
    things += [worker, pub, log]
    steps = scenario_steps()
    publish(pub, steps[:40])
    log.wait_until(lambda l: len(l.events) > 0, "a first batch (after which the fault strikes)", timeout=60)
    publish(pub, steps[40:])
    expected, _ = reference_run(pub.sent, context(settings), scenario_until())
    log.wait_until(lambda l: expected.keys() <= l.ids(), "every event in the log", timeout=90)
    log.wait_until(lambda l: committed_behind(settings) == 0, "the group's commits to reach the end", timeout=60)
    assert log.by_id() == expected
    assert worker.alive() and worker.starts == 1  # repaired in place: no exit, no restart
    assert repairs(worker.metrics(), kind) >= 1
