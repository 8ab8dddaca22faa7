"""Several workers in one consumer group, on the one broker: workers join, leave cleanly and are
killed with SIGKILL while a simulated city streams in, and the event log still holds exactly the
events one writer per matter gives (ids and bytes), the states end where the pure state machine
ends, and nothing is dead-lettered."""
from __future__ import annotations

import threading
import uuid

import pytest

from events import orgtree
from events import policy as policy_mod
from events.calendar import Calendar
from events.state import Context
from events.types import Watermark
from gridflow.city import generate
from gridflow.sdk import Publisher
from gridflow.simulate import plan
from expected import replay
from streams_fixtures import Log, WorkerProcess, cleanup_topics, table_states

pytestmark = pytest.mark.integration


@pytest.fixture
def city(settings, kafka_bootstrap, tmp_path):
    from deploy.topics import ensure_topics

    tree = generate(grids=80, seed=11)
    orgtree.dump_csv(tree, tmp_path / "city.csv")
    ours = settings.with_(topic_prefix=f"{settings.topic_prefix}-workers-{uuid.uuid4().hex[:6]}", partitions=6,
                          clock="event", scan_interval_seconds=0.5, org_path=str(tmp_path / "city.csv"))
    ensure_topics(ours)
    things: list = []
    yield ours, tree, things
    for thing in reversed(things):
        (thing.stop if isinstance(thing, WorkerProcess) else thing.close)()
    cleanup_topics(ours)


def chunks(events: list, n: int) -> list[list]:
    """``n`` pieces of the stream, each ending with a watermark."""
    marks = [i for i, e in enumerate(events) if isinstance(e, Watermark)]
    cuts = [marks[len(marks) * k // n] + 1 for k in range(1, n)] + [len(events)]
    out, start = [], 0
    for cut in cuts:
        out.append(events[start:cut])
        start = cut
    return out


def publish(pub: Publisher, events: list) -> None:
    with pub.batch(flush_every=2000, check=False) as batch:
        for event in events:
            batch.add(event)


def owns_partitions(worker: WorkerProcess) -> bool:
    status = worker.status()
    return bool(status and status["ready"] and status["partitions"])


def test_workers_joining_leaving_and_killed_write_exactly_the_log_of_one_writer_per_matter(city, tmp_path):
    settings, tree, things = city
    policy = policy_mod.load()
    events = list(plan(tree, policy, Calendar(), days=12, seed=5, matters_per_day=400,
                       watermark_every=__import__("datetime").timedelta(minutes=30)))
    expected, states = replay(events, Context(policy, tree, Calendar()))
    parts = chunks(events, 6)

    pub = Publisher(settings, producer="sim", check_categories=False)
    w1 = WorkerProcess(settings, tmp_path, worker_id="w1").start()
    workers = [w1]
    log = Log(settings, workers)
    things += [pub, w1, log]

    publish(pub, parts[0])
    log.wait_until(lambda l: len(l.events) > 100, "the first worker to write", timeout=60)

    # two more join: the partitions spread over three workers
    w2 = WorkerProcess(settings, tmp_path, worker_id="w2").start()
    w3 = WorkerProcess(settings, tmp_path, worker_id="w3").start()
    workers += [w2, w3]
    things += [w2, w3]
    publish(pub, parts[1])
    log.wait_until(lambda l: all(owns_partitions(w) for w in workers), "three workers owning partitions", 90)

    # one is killed in the middle of a part: its partitions move, their states are read back
    seen = len(log.events)
    publisher = threading.Thread(target=publish, args=(pub, parts[2]))
    publisher.start()
    log.wait_until(lambda l: len(l.events) > seen + 50, "the workers to be mid-part", timeout=60)
    w2.kill()
    publisher.join(timeout=120)
    publish(pub, parts[3])

    # one leaves cleanly; the killed one comes back
    w3.stop()
    workers.remove(w3)
    publish(pub, parts[4])
    w2.start()
    publish(pub, parts[5])

    log.wait_until(lambda l: expected.keys() <= l.ids(), f"all {len(expected):,} events of the stream", timeout=180)
    by_id = log.by_id()  # a repeated id always carries the very same bytes
    assert by_id.keys() - expected.keys() == set(), "events one writer per matter would not have written"
    assert by_id == expected
    assert not log.deadletters, log.deadletters[:3]
    log.wait_until(lambda l: table_states(settings) == states, "the final states on the state topic", 60)
    assert any(e.TYPE == "escalated" for e in log.events)  # the timers really ran
