"""No record stops the projector: whatever fails while a record becomes a row, or a row
ClickHouse refuses, is dead-lettered and the offsets move on; but a bug that fails most
records trips the circuit breaker before the whole log is dead-lettered."""
from __future__ import annotations

import pytest

from projection_fakes import TOPIC, FakeConsumer, FakeProducer, FakeStore, Record, records
from projections import logrow
from projections.breaker import Breaker
from projections.errors import ProjectorHalted
from projections.projector import Projector
from projections.sink import Backoff, Sink


def projector(store, consumer, producer, *, decode=logrow.decode, breaker=None, batch_size=4):
    sink = Sink(store, backoff=Backoff(initial=0.001, factor=2, cap=0.002), log=lambda _: None)
    return Projector(sink, consumer, events_topic=TOPIC, org_topic="t.org.units", deadletter_topic="t.dl",
                     producer=producer, group="g", batch_size=batch_size, batch_seconds=0.05, decode=decode,
                     breaker=breaker or Breaker(window=10, share=0.5), log=lambda _: None)


def crashing_on(*offsets: int):
    def decode(value: bytes, partition: int, offset: int) -> list:
        if offset in offsets:
            raise TypeError("unhashable type: 'list'")
        return logrow.decode(value, partition, offset)
    return decode


def test_the_breaker_trips_when_more_than_the_share_of_the_window_failed():
    breaker = Breaker(window=10, share=0.5)
    breaker.observe(4, 4)
    assert not breaker.trips(1, 1) and breaker.trips(2, 2)


def test_a_short_log_of_failures_never_trips_the_breaker():
    assert not Breaker(window=1000, share=0.5).trips(300, 300)


def test_failures_older_than_the_window_are_forgotten():
    breaker = Breaker(window=10, share=0.5)
    breaker.observe(5, 5)
    breaker.observe(10, 0)
    assert not breaker.trips(5, 5)


def test_a_failure_rate_above_the_share_in_a_big_batch_trips_it_below_does_not():
    breaker = Breaker(window=10, share=0.5)
    assert breaker.trips(100, 51) and not breaker.trips(100, 12)


def test_a_record_the_decoder_crashes_on_is_dead_lettered_naming_the_exception_and_the_loop_goes_on():
    store = FakeStore()
    consumer, producer = FakeConsumer(records(8)), FakeProducer(store.log)
    totals = projector(store, consumer, producer, decode=crashing_on(5)).run(until_idle=True)
    assert totals.written == 7 and totals.deadletters == 1 and consumer.committed() == 8
    _, key, letter = producer.sent[0]
    assert (key, letter["offset"], letter["stage"]) == (b"m5", 5, "projector")
    assert letter["reason"] == "unexpected_error: TypeError: unhashable type: 'list'"
    assert letter["original"] == records(8)[5].value


def test_a_bug_that_fails_every_record_stops_the_projector_with_nothing_more_committed_or_dead_lettered():
    store = FakeStore()
    good, bad = records(4), records(20, first=4)
    consumer, producer = FakeConsumer(good + bad), FakeProducer(store.log)
    p = projector(store, consumer, producer, decode=crashing_on(*range(4, 24)))
    with pytest.raises(ProjectorHalted, match="circuit breaker.*TypeError"):
        p.run(until_idle=True)
    assert consumer.committed() is not None and consumer.committed() < 24
    sent = [letter["offset"] for _, _, letter in producer.sent]
    assert all(offset < consumer.committed() for offset in sent)  # no dead letter past the last commit
    assert len(store.rows) == 4


def test_a_row_clickhouse_refuses_alone_is_dead_lettered_with_its_bytes_and_the_offsets_move_on():
    store = FakeStore(refuses=lambda row: row["event_id"] == "e2")
    consumer, producer = FakeConsumer(records(8)), FakeProducer(store.log)
    totals = projector(store, consumer, producer).run(until_idle=True)
    assert totals.written == 7 and consumer.committed() == 8 and "e2" not in store.event_ids()
    _, _, letter = producer.sent[0]
    assert letter["reason"].startswith("clickhouse_rejected: Code: 53")
    assert (letter["offset"], letter["event_id"], letter["original"]) == (2, "e2", records(8)[2].value)


def test_an_org_record_that_is_not_a_unit_is_dead_lettered_and_the_events_land():
    store = FakeStore()
    consumer = FakeConsumer([Record("t.org.units", 0, 0, b"u", b"\x92\x01\x02")] + records(2))
    producer = FakeProducer(store.log)
    totals = projector(store, consumer, producer).run(until_idle=True)
    assert totals.written == 2 and totals.deadletters == 1
    _, key, letter = producer.sent[0]
    assert (key, letter["topic"], letter["original"]) == (b"u", "t.org.units", b"\x92\x01\x02")


def test_gridflow_project_exits_65_when_the_breaker_trips(monkeypatch, capsys):
    import argparse
    import signal

    import projections.app
    from gridflow.commands import project
    from gridflow.settings import Settings

    class Closable:
        def close(self):
            pass

    class Halting:
        consumer, producer = Closable(), Closable()

        def run(self, until_idle=False):
            raise ProjectorHalted("circuit breaker: 600 of the last 1000 records failed unexpectedly")

    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.setattr(project, "open_store_waiting", lambda settings, stopping, wait: FakeStore())
    monkeypatch.setattr("projections.owner.claim", lambda store, prefix: None)  # the fake store keeps no tables
    monkeypatch.setattr(projections.app, "build_projector", lambda *args, **kwargs: Halting())
    args = argparse.Namespace(org=None, progress_seconds=10.0, until_idle=False, no_metrics=True,
                              metrics_host="127.0.0.1", clickhouse_wait=120.0)
    assert project.run(args, Settings()) == project.EXIT_BREAKER == 65
    assert "circuit breaker" in capsys.readouterr().err
