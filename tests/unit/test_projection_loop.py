"""The projector's loop with a fake consumer and a fake store: offsets are committed only
after the rows are written, bad records are dead-lettered first, an outage is waited out
and a stop during an outage commits nothing."""
from __future__ import annotations

from kafka.structs import TopicPartition

from projection_fakes import TOPIC, FakeConsumer, FakeProducer, FakeStore, Record, records
from projections.projector import Projector
from projections.sink import Backoff, Sink


def projector(store, consumer, producer=None, batch_size=3):
    sink = Sink(store, backoff=Backoff(initial=0.001, factor=2, cap=0.002), log=lambda _: None)
    return Projector(sink, consumer, events_topic=TOPIC, org_topic="t.org.units", deadletter_topic="t.dl",
                     producer=producer, group="g", batch_size=batch_size, batch_seconds=0.05, log=lambda _: None)


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


def test_dead_letters_kafka_does_not_acknowledge_are_sent_again_before_anything_is_committed():
    store = FakeStore()
    consumer = FakeConsumer(records(2) + [Record(TOPIC, 0, 2, b"k", b"\xc1junk")])
    producer = FakeProducer(store.log, refuse=2)
    totals = projector(store, consumer, producer).run(until_idle=True)
    assert totals.deadletters == 1 and len(producer.sent) == 1 and producer.flushed == 3
    assert consumer.commits[-1][TopicPartition(TOPIC, 0)] == 3


def test_a_broker_away_while_reading_is_waited_out_not_a_crash():
    store, consumer = FakeStore(), FakeConsumer(records(3))
    consumer.broken_polls = 2
    totals = projector(store, consumer).run(until_idle=True)
    assert totals.written == 3 and consumer.commits[-1][TopicPartition(TOPIC, 0)] == 3


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


def test_a_replay_to_given_offsets_does_not_wait_out_the_time_bound_of_its_last_batch():
    import time

    store, consumer = FakeStore(), FakeConsumer(records(3))
    sink = Sink(store, log=lambda _: None)
    p = Projector(sink, consumer, events_topic=TOPIC, batch_size=100, batch_seconds=30, log=lambda _: None)
    started = time.monotonic()
    totals = p.run(stop_at={TopicPartition(TOPIC, 0): 3})
    assert totals.written == 3 and time.monotonic() - started < 5
