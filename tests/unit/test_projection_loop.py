"""The projector's loop with a fake consumer and a fake store: offsets are committed only
after the rows are written, bad records are dead-lettered first, an outage is waited out
and a stop during an outage commits nothing."""
from __future__ import annotations

from collections import namedtuple

from kafka.structs import TopicPartition

from events import MatterReported, codec
from projections.errors import StoreUnavailable
from projections.projector import Projector
from projections.sink import Backoff, Sink
from projections.store import Store

Record = namedtuple("Record", "topic partition offset key value")
TOPIC = "t.matters.events"


def reported(n: int) -> bytes:
    return codec.encode(MatterReported(event_id=f"e{n}", matter_id=f"m{n}", occurred_at=1_767_234_600_000 + n,
                                       producer="app", kind="incident", category="sanitation", priority="low",
                                       channel="app", place="c1", reporter="r", text="t"))


class FakeConsumer:
    def __init__(self, records):
        self.records = list(records)
        self.commits: list[dict] = []
        self.paused = False

    def poll(self, timeout_ms=0, max_records=None):
        if self.paused or not self.records:
            return {}
        batch, self.records = self.records[:max_records], self.records[max_records:]
        return {TopicPartition(TOPIC, 0): batch}

    def commit(self, offsets):
        self.commits.append({tp: o.offset for tp, o in offsets.items()})

    def assignment(self):
        return {TopicPartition(TOPIC, 0)}

    def pause(self, *tps):
        self.paused = True

    def resume(self, *tps):
        self.paused = False

    def end_offsets(self, tps):
        return {tp: 10**9 if self.records else 0 for tp in tps}

    def position(self, tp):
        return 0


class FakeStore(Store):
    kind = "fake"

    def __init__(self, failures: int = 0, on_fail=None):
        super().__init__("db")
        self.rows: list = []
        self.failures = failures
        self.on_fail = on_fail
        self.log: list[str] = []

    def insert(self, table, columns, data, *, columnar=False):
        if self.failures:
            self.failures -= 1
            if self.on_fail:
                self.on_fail()
            raise StoreUnavailable("ClickHouse away")
        rows = list(zip(*data)) if columnar else list(data)
        self.rows += rows
        self.log.append(f"insert {len(rows)}")
        return len(rows)

    def execute(self, sql, params=None):
        pass

    def query(self, sql, params=None):
        return []

    def query_columns(self, sql, params=None):
        return [], []


class FakeProducer:
    def __init__(self, store_log):
        self.sent, self.flushed, self.store_log = [], 0, store_log

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, codec.decode_deadletter(value)))

    def flush(self):
        self.flushed += 1
        self.store_log.append("deadletters flushed")


def projector(store, consumer, producer=None, batch_size=3):
    sink = Sink(store, backoff=Backoff(initial=0.001, factor=2, cap=0.002), log=lambda _: None)
    return Projector(sink, consumer, events_topic=TOPIC, org_topic="t.org.units", deadletter_topic="t.dl",
                     producer=producer, group="g", batch_size=batch_size, batch_seconds=0.05, log=lambda _: None)


def records(n):
    return [Record(TOPIC, 0, i, f"m{i}".encode(), reported(i)) for i in range(n)]


def test_offsets_are_committed_after_each_batch_is_written():
    store, consumer = FakeStore(), FakeConsumer(records(7))
    totals = projector(store, consumer).run(until_idle=True)
    assert totals.written == 7 and len(store.rows) == 7
    assert [c[TopicPartition(TOPIC, 0)] for c in consumer.commits] == [3, 6, 7]


def test_bad_records_are_dead_lettered_before_their_offsets_are_committed():
    store = FakeStore()
    consumer = FakeConsumer(records(2) + [Record(TOPIC, 0, 2, b"k", b"\xc1junk")])
    producer = FakeProducer(store.log)
    totals = projector(store, consumer, producer).run(until_idle=True)
    assert totals.deadletters == 1 and totals.written == 2
    topic, key, letter = producer.sent[0]
    assert (topic, key, letter["stage"], letter["offset"], letter["original"]) == ("t.dl", b"k", "projector", 2, b"\xc1junk")
    assert letter["reason"].startswith("decode_error")
    assert store.log == ["insert 2", "deadletters flushed"] and consumer.commits[-1][TopicPartition(TOPIC, 0)] == 3


def test_an_outage_is_retried_until_the_batch_is_written_then_committed():
    store, consumer = FakeStore(failures=3), FakeConsumer(records(3))
    totals = projector(store, consumer).run(until_idle=True)
    assert totals.written == 3 and len(store.rows) == 3
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 3}]


def test_stopping_during_an_outage_commits_nothing():
    consumer = FakeConsumer(records(3))
    store = FakeStore(failures=10**6)
    p = projector(store, consumer)
    store.on_fail = p.stop
    p.run()
    assert consumer.commits == [] and store.rows == []
