"""kill -9 in the middle of the scenario: after restarts the event log holds exactly the events
of an uninterrupted run (same ids, same bytes; none missing, none extra, so no escalation
missed or doubled) and the table ends in the same states."""
from __future__ import annotations

import threading

import pytest

from streams_fixtures import (Log, Publisher, WorkerProcess, cleanup_topics, context, publish, reference_run,
                              scenario_steps, scenario_until, stream_settings, table_states)

pytestmark = pytest.mark.integration


@pytest.fixture
def crash_env(settings, kafka_bootstrap, tmp_path):
    made, things = [], []

    def make(name):
        (tmp_path / name).mkdir()
        s = stream_settings(settings, tmp_path / name, name, clock="event")
        made.append(s)
        return s, tmp_path / name

    yield make, things
    for thing in reversed(things):
        (thing.stop if isinstance(thing, WorkerProcess) else thing.close)()
    for s in made:
        cleanup_topics(s)


def run_uninterrupted(make, things) -> tuple[dict[str, bytes], dict]:
    settings, tmp = make("steady")
    worker = WorkerProcess(settings, tmp).start()
    pub, log = Publisher(settings), Log(settings, [worker])
    things += [worker, pub, log]
    publish(pub, scenario_steps())
    expected, states = reference_run(pub.sent, context(settings), scenario_until())
    log.wait_until(lambda l: expected.keys() <= l.ids(), "the uninterrupted run to finish", timeout=90)
    log.wait_until(lambda l: table_states(settings) == states, "its final states", 30)
    return log.by_id(), states


def test_a_worker_killed_twice_mid_scenario_writes_exactly_the_events_of_an_uninterrupted_run(crash_env):
    make, things = crash_env
    steady_log, steady_states = run_uninterrupted(make, things)

    settings, tmp = make("crashed")
    worker = WorkerProcess(settings, tmp).start()
    pub, log = Publisher(settings), Log(settings, [worker])
    things += [worker, pub, log]
    steps = scenario_steps()
    first, second, third = steps[:40], steps[40:80], steps[80:]

    publish(pub, first)
    log.wait_until(lambda l: any(e.TYPE == "escalated" for e in l.events), "a first escalation", timeout=60)
    for part in (second, third):
        seen = len(log.events)
        publisher = threading.Thread(target=publish, args=(pub, part))
        publisher.start()
        # kill while the worker is busy with this part: a few of its outputs written, more to come
        log.wait_until(lambda l: len(l.events) >= seen + 3, "the worker to be mid-part", timeout=60)
        worker.kill()
        publisher.join(timeout=120)
        worker.start()

    log.wait_until(lambda l: steady_log.keys() <= l.ids(), "the restarted worker to catch up", timeout=120)
    crashed_log = log.by_id()  # also checks that a repeated id always carries the same bytes
    missing = steady_log.keys() - crashed_log.keys()
    extra = {codec_type(crashed_log[i]) for i in crashed_log.keys() - steady_log.keys()}
    assert not missing and not extra, (missing, extra)
    assert crashed_log == steady_log
    escalations = [e.event_id for e in log.events if e.TYPE == "escalated"]
    assert set(escalations) == {i for i, raw in steady_log.items() if codec_type(raw) == "escalated"}
    assert worker.starts - worker.stall_restarts == 3  # two kills (and any restart after a stall)

    reference, states = reference_run(pub.sent, context(settings), scenario_until())
    assert crashed_log == reference and states == steady_states
    log.wait_until(lambda l: table_states(settings) == steady_states, "the same final states", 30)


def codec_type(raw: bytes) -> str:
    from events import codec

    return codec.decode(raw).TYPE
