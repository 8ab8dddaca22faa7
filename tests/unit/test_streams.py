"""The worker's parts without Kafka: the timers, the intake's classification, one partition
deciding records and firing timers (checked against the pure state machine), bounded dead
letters, and the circuit breaker."""
from __future__ import annotations

import hashlib
import random
from types import SimpleNamespace

import pytest
from aiokafka.partitioner import DefaultPartitioner

from events import codec
from events.codec import MAX_RECORD_BYTES
from events.types import REGISTRY, Watermark
from streams import metrics, states
from streams.deadlines import Timers
from streams.intake import Bad, classify, partition_of
from streams.partition import Partition, Rules
from streams.pending import EXCERPT, Pending, deadletter_value
from streams.breaker import Breaker
from test_state import DEFAULTS, MIN, H, T0, World

PARTITIONS = 2
INTAKE = "unit.matters.intake"

# --- the timers -----------------------------------------------------------------------------


def test_the_timers_pop_what_is_due_earliest_first_and_keep_the_rest():
    timers = Timers()
    timers.set("b", (300, 1, "resolve"))
    timers.set("a", (100, 1, "accept"))
    timers.set("c", (400, 2, "warning"))
    assert [d.matter_id for d in timers.pop_due(300)] == ["a", "b"]
    assert timers.pop_due(399) == [] and len(timers) == 1 and timers.next_due() == 400


def test_a_matters_new_timer_replaces_its_old_one():
    timers = Timers()
    timers.set("a", (100, 1, "accept"))
    timers.set("a", (500, 2, "accept"))  # escalated: a new cycle
    assert timers.pop_due(200) == []
    assert [(d.due, d.cycle) for d in timers.pop_due(500)] == [(500, 2)]
    timers.set("b", (100, 1, "accept"))
    timers.set("b", None)  # resolved: no timer
    assert timers.pop_due(10_000) == [] and len(timers) == 0 and timers.next_due() is None


def test_the_heap_stays_small_when_one_matter_changes_often_and_the_limit_holds_the_rest_back():
    timers = Timers()
    for due in range(10_000):
        timers.set("a", (due, 1, "accept"))
    assert len(timers._heap) < 2000
    for i in range(5):
        timers.set(f"m{i}", (i, 1, "accept"))
    assert len(timers.pop_due(10, limit=2)) == 2 and len(timers) == 4


# --- classifying intake records ---------------------------------------------------------------


def make(type_name: str, matter: str, n: int, at: int, **data):
    payload = {**DEFAULTS.get(type_name, {}), **data}
    return REGISTRY[type_name](event_id=f"{matter}-{n}", matter_id=matter, occurred_at=at, producer="t", **payload)


def home(matter: str) -> int:
    return partition_of(matter.encode(), PARTITIONS)


def test_the_partition_of_a_matter_is_the_one_kafkas_default_partitioner_chose():
    partitioner = DefaultPartitioner()
    rng = random.Random(7)
    for _ in range(500):
        key = f"m-{rng.getrandbits(64):x}".encode()
        assert partition_of(key, 4) == partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])


@pytest.mark.parametrize("value, code", [
    (None, "undecodable"),
    (b"\xc1 not msgpack", "undecodable"),
    (codec.pack({"type": "reported"}), "invalid"),
    (b"\x00" * (MAX_RECORD_BYTES + 1), "too_large"),
    (codec.encode(make("routed", "m1", 9, T0)), "not_upstream"),
])
def test_bad_records_are_classified_with_a_bounded_code(value, code):
    got = classify(value, home("m1"), PARTITIONS)
    assert isinstance(got, Bad) and got.code == code and got.stage == "intake" and got.message


def test_an_event_on_another_partition_than_its_matters_is_refused_with_the_way_to_key_it():
    event = make("reported", "m1", 0, T0)
    assert classify(codec.encode(event), home("m1"), PARTITIONS) == event
    got = classify(codec.encode(event), 1 - home("m1"), PARTITIONS)
    assert isinstance(got, Bad) and got.code == "wrong_partition" and "key every record by its matter id" in got.message


def test_a_watermark_is_welcome_on_every_partition():
    mark = Watermark(event_id="wm", matter_id="clock", occurred_at=T0, producer="t")
    assert all(classify(codec.encode(mark), p, PARTITIONS) == mark for p in range(PARTITIONS))


# --- one partition ----------------------------------------------------------------------------


class Part:
    """One partition driven record by record, as the processor does, with its outputs decoded."""

    def __init__(self, number: int, clock: str = "event", saved: dict | None = None):
        self.ctx = World().ctx
        self.part = Partition(number, Rules(self.ctx, log_topic="unit.matters.events", partitions=PARTITIONS,
                                            clock=clock), saved)
        self.number, self.offset = number, 0
        self.log: list = []
        self.deadletters: list = []
        self.writes: dict = {}

    def feed(self, value: bytes | object, key: bytes = b"k") -> Pending:
        raw = value if isinstance(value, (bytes, type(None))) else codec.encode(value)
        record = SimpleNamespace(topic=INTAKE, partition=self.number, offset=self.offset, key=key, value=raw)
        self.offset += 1
        out = Pending()
        self.part.handle(record, out)
        return self._collect(out)

    def scan(self, now: int) -> Pending:
        out = Pending()
        self.part.fire_due(now, out)
        return self._collect(out)

    def _collect(self, out: Pending) -> Pending:
        self.log += [codec.decode(v) for _, _, v in out.log]
        self.deadletters += [codec.decode_deadletter(v) for _, _, v in out.dead]
        self.writes.update(self.part.take_writes())
        return out


def matter_on(number: int, nth: int = 0) -> str:
    return [f"m{i}" for i in range(100) if home(f"m{i}") == number][nth]


def test_watermarks_fire_the_timers_they_pass_and_the_log_equals_the_state_machines():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0))
    for hour in range(4):
        p.feed(Watermark(event_id=f"wm-{hour}", matter_id="clock", occurred_at=T0 + hour * H, producer="t"))
    escalated = [e for e in p.log if e.TYPE == "escalated"]
    assert [(e.from_level, e.to_level, e.occurred_at) for e in escalated] == [("grid", "community", T0 + 2 * H)]
    ref = World(m)
    ref.send("reported", T0)
    ref.send("deadline_reached", T0 + 2 * H, cycle=1, deadline="accept", due_at=T0 + 2 * H)
    assert [e for e in p.log if e.DERIVED] == [e for e in ref.log if e.DERIVED]
    assert states.load_clock(p.writes[states.CLOCK_KEY]) == T0 + 3 * H


def test_a_timer_due_exactly_at_the_watermark_waits_for_the_next_one():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0))
    p.feed(Watermark(event_id="wm", matter_id="clock", occurred_at=T0 + 2 * H, producer="t"))  # accept-by T0+2h
    assert not [e for e in p.log if e.TYPE == "escalated"]
    p.feed(Watermark(event_id="wm2", matter_id="clock", occurred_at=T0 + 2 * H + 1, producer="t"))
    assert [e.TYPE for e in p.log if e.TYPE == "escalated"] == ["escalated"]


def test_in_wall_mode_watermarks_move_nothing_and_scans_fire_by_the_wall_clock():
    m = matter_on(1)
    p = Part(1, clock="wall")
    p.feed(make("reported", m, 0, T0))
    p.feed(Watermark(event_id="wm", matter_id="clock", occurred_at=T0 + 10 * H, producer="t"))
    assert not [e for e in p.log if e.TYPE == "escalated"]
    p.scan(T0 + 2 * H)
    assert [e.TYPE for e in p.log if e.TYPE == "escalated"] == ["escalated"]


def test_a_resent_event_writes_nothing_and_bad_input_is_dead_lettered_with_where_it_came_from():
    m = matter_on(0)
    p = Part(0)
    report = make("reported", m, 0, T0)
    p.feed(report)
    out = p.feed(report)  # the same id again
    assert not out.log and out.counts[(metrics.DUPLICATES, ("matters",))] == 1
    p.feed(b"\xc1 not msgpack", key=b"m-junk")
    p.feed(make("accepted", matter_on(0, 1), 1, T0, unit="g1"))  # never reported
    assert [e.TYPE for e in p.log] == ["reported", "routed", "sla_started"]
    codes = [(d["stage"], d["reason"].split(":")[0]) for d in p.deadletters]
    assert codes == [("intake", "undecodable"), ("matters", "unknown_matter")]
    junk = p.deadletters[0]
    assert junk["original"] == b"\xc1 not msgpack" and junk["topic"] == INTAKE and junk["offset"] == 2


def test_changed_states_are_handed_over_once_and_survive_a_recovery():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0))
    p.feed(make("accepted", m, 1, T0 + MIN, unit="g1"))
    assert list(p.writes) == [m.encode()] and p.part.take_writes() == []
    again = Partition(0, p.part.rules, dict(p.writes))
    assert again.state(m) == p.part.state(m) and len(again.timers) == 1 and again.open == {"grid": 1}


def test_open_matters_and_the_timers_follow_the_state():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0))
    assert p.part.open["grid"] == 1 and len(p.part.timers) == 1
    p.feed(make("cancelled", m, 1, T0 + MIN))
    assert p.part.open["grid"] == 0 and len(p.part.timers) == 0


# --- dead letters and the breaker -----------------------------------------------------------


def test_an_oversized_record_is_dead_lettered_with_an_excerpt_its_size_and_its_digest():
    value = bytes(range(256)) * 4096  # 1 MiB
    record = SimpleNamespace(topic=INTAKE, partition=0, offset=7, key=b"k" * 1000, value=value)
    out = Pending()
    out.deadletter(record, Bad("intake", "too_large", "too big"))
    _, key, raw = out.dead[0]
    letter = codec.decode_deadletter(raw)
    assert len(key) == 256 and len(raw) < MAX_RECORD_BYTES
    assert letter["original"] == value[:EXCERPT] and hashlib.sha256(value).hexdigest() in letter["reason"]
    assert "1,048,576 bytes" in letter["reason"] and letter["offset"] == 7


def test_a_record_within_the_limit_is_dead_lettered_whole():
    value = b"x" * MAX_RECORD_BYTES
    record = SimpleNamespace(topic=INTAKE, partition=0, offset=1, key=b"k", value=value)
    assert codec.decode_deadletter(deadletter_value(record, Bad("intake", "invalid", "no")))["original"] == value


def test_the_breaker_opens_only_when_internal_failures_pass_both_the_share_and_the_minimum():
    breaker = Breaker(window=100, share=0.1, minimum=5)
    assert not any(breaker.record(i % 25 == 0) for i in range(100))  # 4 in 100
    breaker = Breaker(window=100, share=0.1, minimum=5)
    opened = [breaker.record(True) for _ in range(5)]
    assert opened == [False, False, False, False, True]
    breaker = Breaker(window=10, share=0.5, minimum=1)
    for _ in range(10):
        breaker.record(True)
    for _ in range(10):
        breaker.record(False)  # failures leave the window
    assert breaker.failures == 0 and not breaker.record(False)


def test_an_event_far_ahead_of_the_partitions_clock_is_refused_and_changes_nothing():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0))
    p.feed(Watermark(event_id="wm", matter_id="clock", occurred_at=T0 + H, producer="t"))
    before = p.part.state(m)
    p.feed(make("dispatched", m, 1, T0 + 3650 * 24 * H, handler="h-2"))  # ten years ahead
    assert p.deadletters[-1]["reason"].startswith("from_future")
    assert p.part.state(m) == before and not [e for e in p.log if e.TYPE == "escalated"]


def test_before_the_first_watermark_event_time_cannot_tell_the_future():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0 + 3650 * 24 * H))
    assert [e.TYPE for e in p.log] == ["reported", "routed", "sla_started"] and not p.deadletters


def test_on_the_wall_clock_an_app_a_day_ahead_is_from_the_future():
    import time as _time

    m = matter_on(1)
    p = Part(1, clock="wall")
    now = int(_time.time() * 1000)
    p.feed(make("reported", m, 0, now))
    p.feed(make("accepted", m, 1, now + 24 * H, unit="g1"))
    assert [d["reason"].split(":")[0] for d in p.deadletters] == ["from_future"]


def test_the_same_id_with_other_content_is_a_conflict_not_a_duplicate():
    m = matter_on(0)
    p = Part(0)
    p.feed(make("reported", m, 0, T0))
    p.feed(make("accepted", m, 1, T0 + MIN, unit="g1"))
    p.feed(make("accepted", m, 1, T0 + MIN, unit="g1", handler="h-other"))
    assert [d["reason"].split(":")[0] for d in p.deadletters] == ["conflict"]
