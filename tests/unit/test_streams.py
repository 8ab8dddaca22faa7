"""The worker's parts without Kafka: the deadline index, the stream clock, the partitioner the
scanner relies on, and the intake and matter agents' handlers driven in-process over fake
topics and dict tables (the memory store's behaviour), checked against the pure state machine."""
from __future__ import annotations

import asyncio
import random
from types import SimpleNamespace

import pytest
from aiokafka.partitioner import DefaultPartitioner

from events import codec
from events.types import REGISTRY, Watermark
from gridflow.settings import Settings
from streams import intake, matters, scanner
from streams.app import Runtime, WorkerOptions
from streams.clock import StreamClock
from streams.deadlines import DeadlineIndex
from streams.errors import LogWriteError
from test_state import DEFAULTS, MIN, H, T0, World

# --- the deadline index -------------------------------------------------------------------


def test_the_index_pops_due_timers_earliest_first_and_keeps_the_rest():
    index = DeadlineIndex()
    index.set(0, "b", (300, 1, "resolve"))
    index.set(0, "a", (100, 1, "accept"))
    index.set(1, "c", (50, 2, "warning"))
    assert [d.matter_id for d in index.pop_due(0, 300)] == ["a", "b"]
    assert index.pop_due(0, 1000) == [] and len(index) == 1
    assert index.pop_due(1, 49) == [] and index.pop_due(1, 50)[0].deadline == "warning"


def test_a_matters_new_timer_replaces_its_old_one():
    index = DeadlineIndex()
    index.set(0, "a", (100, 1, "accept"))
    index.set(0, "a", (500, 2, "accept"))  # escalated: a new cycle
    assert index.pop_due(0, 200) == []
    assert [(d.due, d.cycle) for d in index.pop_due(0, 500)] == [(500, 2)]
    index.set(0, "b", (100, 1, "accept"))
    index.set(0, "b", None)  # resolved: no timer
    assert index.pop_due(0, 10_000) == [] and len(index) == 0


def test_the_index_stays_small_when_one_matter_changes_often():
    index = DeadlineIndex()
    for due in range(10_000):
        index.set(0, "a", (due, 1, "accept"))
    assert len(index._heap[0]) < 2000
    assert [d.due for d in index.pop_due(0, 20_000)] == [9_999]


def test_a_revoked_partition_is_dropped_and_the_limit_holds_the_rest_back():
    index = DeadlineIndex()
    for i in range(5):
        index.set(0, f"m{i}", (i, 1, "accept"))
    assert len(index.pop_due(0, 10, limit=2)) == 2 and len(index) == 3
    index.drop(0)
    assert index.partitions() == set() and len(index) == 0


# --- the stream clock ---------------------------------------------------------------------


def test_the_event_clock_waits_for_every_intake_partition_and_takes_the_lowest():
    clock = StreamClock("event", sources=2)
    assert clock.observe(0, 0, 1_000) and clock.now(0) is None
    assert clock.observe(0, 1, 700) and clock.now(0) == 699  # due strictly before the watermark
    assert not clock.observe(0, 1, 600)  # watermarks never go back
    clock.observe(0, 1, 5_000)
    assert clock.watermark(0) == 1_000 and clock.now(1) is None


def test_the_event_clock_is_restored_from_its_marks():
    clock = StreamClock("event", sources=2)
    clock.restore(3, {0: 10, 1: 20})
    assert clock.now(3) == 9 and clock.marks(3) == {0: 10, 1: 20}
    clock.forget(3)
    assert clock.now(3) is None


def test_the_wall_clock_is_the_wall_minus_the_grace():
    clock = StreamClock("wall", sources=2, grace_ms=2000, wall=lambda: 10_000)
    assert clock.now(0) == 8_000 and clock.now(7) == 8_000


def test_the_scanner_computes_the_partition_the_producer_chose():
    partitioner = DefaultPartitioner()
    rng = random.Random(7)
    for _ in range(500):
        key = f"m-{rng.getrandbits(64):x}".encode()
        assert scanner.partition_of(key, 4) == partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])


def test_clock_marks_round_trip_through_the_table_encoding():
    assert scanner.decode_marks(scanner.encode_marks({0: 5, 1: 7})) == {0: 5, 1: 7}


# --- the agents' handlers, in process ------------------------------------------------------


class FakeTopic:
    def __init__(self, name: str, partitions: int, bus: list):
        self.name, self.partitions, self.bus = name, partitions, bus

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, key, value, partition=None, headers=None):
        if partition is None:
            partition = scanner.partition_of(key, self.partitions)
        self.bus.append((self.name, partition, key, value, dict(headers or {})))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class FakeTable(dict):
    """A table whose changelog is the bus: records how many outputs were sent when each key
    was set, and counts the confirmations the agent waited for."""

    def __init__(self, bus: list):
        super().__init__()
        self.bus, self.set_after, self.confirms, self.fail = bus, {}, 0, None

    def __setitem__(self, key, value):
        self.set_after[key] = len(self.bus)
        super().__setitem__(key, value)

    async def confirm(self):
        if self.fail:
            raise self.fail
        self.confirms += 1


class Pipeline:
    """The worker's topology with lists for topics and dicts for tables."""

    PARTITIONS = 2

    def __init__(self, clock: str = "event"):
        settings = Settings(topic_prefix="unit", partitions=self.PARTITIONS, clock=clock)
        world = World()
        self.ctx = world.ctx
        self.rt = Runtime(settings, WorkerOptions(store="memory"), None, self.ctx,
                          StreamClock(clock, sources=self.PARTITIONS))
        self.bus: list = []
        t = settings.topics
        self.names = {"intake": t.intake, "matters": t.matters, "events": t.events, "deadletter": t.deadletter}
        self.rt.topics = {k: FakeTopic(v, self.PARTITIONS, self.bus) for k, v in self.names.items()}
        self.rt.tables = {"seen": {}, "clocks": {}, "matters": FakeTable(self.bus)}
        self.offsets: dict = {}
        self.log: list = []
        self.deadletters: list = []

    def publish(self, event_or_bytes, key: str | None = None, partition: int | None = None):
        raw = event_or_bytes if isinstance(event_or_bytes, bytes) else codec.encode(event_or_bytes)
        key = key or event_or_bytes.matter_id
        asyncio.run(self.rt.topics["intake"].send(key.encode(), raw, partition))
        self.run()

    def run(self):
        async def loop():
            while self.bus:
                topic, partition, key, value, headers = self.bus.pop(0)
                offset = self.offsets[(topic, partition)] = self.offsets.get((topic, partition), -1) + 1
                ev = SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, offset=offset,
                                                             key=key), key=key, value=value, headers=headers)
                if topic == self.names["intake"]:
                    await intake.handle(self.rt, ev)
                elif topic == self.names["matters"]:
                    await matters.handle(self.rt, ev)
                elif topic == self.names["events"]:
                    self.log.append(codec.decode(value))
                else:
                    self.deadletters.append(codec.decode_deadletter(value))

        asyncio.run(loop())

    def watermark(self, at: int, partitions: tuple[int, ...] = (0, 1)):
        """As the SDK does: a copy on every intake partition."""
        for p in partitions:
            self.publish(Watermark(event_id=f"wm-{at}.p{p}", matter_id="clock", occurred_at=at, producer="t"),
                         partition=p)


def make(type_name: str, matter: str, n: int, at: int, **data):
    payload = {**DEFAULTS.get(type_name, {}), **data}
    return REGISTRY[type_name](event_id=f"{matter}-{n}", matter_id=matter, occurred_at=at, producer="t", **payload)


def test_watermarks_drive_escalations_through_the_scanners_proposals():
    p = Pipeline("event")
    p.publish(make("reported", "m1", 0, T0))
    p.publish(make("reported", "m2", 0, T0 + MIN))
    p.publish(make("accepted", "m2", 1, T0 + 2 * MIN, unit="g1"))
    for hour in range(4):
        p.watermark(T0 + hour * H)
    escalated = [e for e in p.log if e.TYPE == "escalated"]
    assert [(e.matter_id, e.from_level, e.to_level) for e in escalated] == [("m1", "grid", "community")]
    assert escalated[0].occurred_at == T0 + 2 * H
    # the same log as the pure state machine over the same events with the same timers
    ref = World("m1")
    ref.send("reported", T0)
    ref.send("deadline_reached", T0 + 2 * H, cycle=1, deadline="accept", due_at=T0 + 2 * H)
    assert [e for e in p.log if e.matter_id == "m1" and e.DERIVED] == [e for e in ref.log if e.DERIVED]


def test_the_event_clock_moves_only_when_every_intake_partition_passed_the_watermark():
    p = Pipeline("event")
    p.publish(make("reported", "m1", 0, T0))
    p.watermark(T0 + 3 * H, partitions=(0,))
    assert p.rt.clock.now(0) is None and not [e for e in p.log if e.TYPE == "escalated"]
    p.watermark(T0 + 3 * H, partitions=(1,))
    assert [e.TYPE for e in p.log if e.TYPE == "escalated"] == ["escalated"]
    for partition in range(Pipeline.PARTITIONS):
        assert p.rt.clock.marks(partition) == {0: T0 + 3 * H, 1: T0 + 3 * H}
        assert scanner.decode_marks(p.rt.tables["clocks"][scanner.clock_key(partition)]) == {0: T0 + 3 * H,
                                                                                             1: T0 + 3 * H}


def test_the_intake_drops_a_resent_event_and_dead_letters_bad_input_with_where_it_came_from():
    p = Pipeline()
    report = make("reported", "m1", 0, T0)
    p.publish(report)
    p.publish(report)  # same id again
    p.publish(b"\xc1 not msgpack", key="m-junk")
    p.publish(make("accepted", "m-ghost", 1, T0))
    p.publish(make("routed", "m1", 9, T0))
    assert [e.TYPE for e in p.log] == ["reported", "routed", "sla_started"]
    letters = [(d["stage"], d["reason"].split(":")[0]) for d in p.deadletters]
    assert letters == [("intake", "undecodable"), ("matters", "unknown_matter"), ("intake", "not_upstream")]
    junk = p.deadletters[0]
    assert junk["original"] == b"\xc1 not msgpack" and junk["topic"] == "unit.matters.intake" and junk["offset"] >= 0


def test_a_replayed_input_writes_nothing_new_and_keeps_the_state():
    p = Pipeline()
    accepted = make("accepted", "m1", 1, T0 + MIN, unit="g1")
    p.publish(make("reported", "m1", 0, T0))
    p.publish(accepted)
    before = dict(p.rt.tables["matters"])
    asyncio.run(p.rt.topics["matters"].send(b"m1", codec.encode(accepted)))  # as after a crash
    p.run()
    assert p.rt.tables["matters"] == before and [e.TYPE for e in p.log].count("accepted") == 1
    assert not p.deadletters


def test_the_state_is_written_after_its_outputs_and_confirmed_before_the_input_counts():
    p = Pipeline()
    p.publish(make("reported", "m1", 0, T0))
    table = p.rt.tables["matters"]
    assert [e.TYPE for e in p.log] == ["reported", "routed", "sla_started"]
    assert table.set_after[b"m1"] == 3  # the three log events were sent (and acknowledged) first
    assert table.confirms == 1


def test_a_state_kafka_did_not_acknowledge_fails_the_input_instead_of_counting_it():
    p = Pipeline()
    p.rt.tables["matters"].fail = OSError("broker gone")
    with pytest.raises(LogWriteError, match=r"unit\.matters\.accepted\[\d\]@0 failed: OSError"):
        p.publish(make("reported", "m1", 0, T0))


def test_open_matters_and_the_index_follow_the_state():
    p = Pipeline()
    p.publish(make("reported", "m1", 0, T0))
    assert p.rt.open_matters[scanner.partition_of(b"m1", 2)] == {"grid": 1}
    assert len(p.rt.index) == 1
    p.publish(make("cancelled", "m1", 1, T0 + MIN))
    assert p.rt.open_matters[scanner.partition_of(b"m1", 2)] == {"grid": 0} and len(p.rt.index) == 0


@pytest.mark.parametrize("clock", ["wall", "event"])
def test_in_wall_mode_watermarks_do_not_scan(clock):
    p = Pipeline(clock)
    p.publish(make("reported", "m1", 0, T0))
    p.watermark(T0 + 10 * H)
    escalations = [e for e in p.log if e.TYPE == "escalated"]
    assert bool(escalations) == (clock == "event")
