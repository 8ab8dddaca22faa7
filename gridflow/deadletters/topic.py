"""The dead-letter topic and its re-drive markers, read and written with kafka-python.

A scan reads every partition of ``<prefix>.matters.deadletter`` from the first record at or
after ``since`` (Kafka's time index) up to the end offsets seen when it starts, so it ends even
while dead letters keep coming. The markers (``<prefix>.matters.redriven``, compacted, one
partition) say which dead letters were re-driven: key ``<partition>:<offset>``, a JSON value.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from events import EventError
from gridflow.deadletters.letters import Filter, Letter, Send, parse
from streams.intake import REDRIVE_CODES, REDRIVE_HEADER

FROM_HEADER = "gridflow-redriven-from"  # <dead-letter topic>:<partition>:<offset>
CODE_HEADER = REDRIVE_HEADER  # the dead letter's code: the worker counts re-driven records by it
STALL_SECONDS = 30.0  # a scan with no record for this long gives up
SLACK_MS = 60_000  # a record's Kafka time is at most this much after its ``at``
Progress = Callable[[int, int], None]  # (records read, records to read)


class TopicMissing(Exception):
    pass


@dataclass
class Counts:
    read: int = 0  # records read
    matched: int = 0
    unreadable: int = 0  # records on the topic that are not dead letters


def _consumer(settings):
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False,
                         client_id="gridflow-deadletters", max_partition_fetch_bytes=4 << 20)


def _partitions(consumer, topic: str) -> list:
    from kafka import TopicPartition

    parts = consumer.partitions_for_topic(topic)
    if not parts:
        raise TopicMissing(f"no topic {topic}: nothing was dead-lettered under this prefix yet, or the "
                           "topics were never created (`gridflow topics`)")
    return [TopicPartition(topic, p) for p in sorted(parts)]


def _read(consumer, starts: dict, stops: dict, progress: Progress | None) -> Iterator:
    """Every record from ``starts`` to before ``stops``, per partition."""
    todo = {tp: stop for tp, stop in stops.items() if stop > starts[tp]}
    total, read = sum(stop - starts[tp] for tp, stop in todo.items()), 0
    if not todo:
        return
    consumer.assign(list(todo))
    for tp in todo:
        consumer.seek(tp, starts[tp])
    stalled = time.monotonic() + STALL_SECONDS
    while todo:
        polled = consumer.poll(timeout_ms=500, max_records=5000)
        if polled:
            stalled = time.monotonic() + STALL_SECONDS
        elif time.monotonic() > stalled:
            raise TimeoutError(f"no records from Kafka at {consumer.config['bootstrap_servers']} for "
                               f"{STALL_SECONDS:.0f}s, {total - read} record(s) still to read")
        for tp, records in polled.items():
            stop = todo.get(tp)
            if stop is None:
                continue
            for r in records:
                if r.offset >= stop:
                    break
                read += 1
                yield r
            if consumer.position(tp) >= stop:
                del todo[tp]
                consumer.pause(tp)
        if progress:
            progress(read, total)


def scan(settings, filt: Filter, progress: Progress | None = None, counts: Counts | None = None) -> Iterator[Letter]:
    """The dead letters that match ``filt``, in topic order per partition, as they are read
    (a long topic is never held in memory); ``counts`` tallies the scan."""
    counts = Counts() if counts is None else counts
    consumer = _consumer(settings)
    try:
        tps = _partitions(consumer, settings.topics.deadletter)
        starts, stops = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        if filt.since is not None:
            found = consumer.offsets_for_times({tp: filt.since for tp in tps})
            starts = {tp: found[tp].offset if found[tp] else stops[tp] for tp in tps}
        if filt.until is not None:
            found = consumer.offsets_for_times({tp: filt.until + SLACK_MS for tp in tps})
            stops = {tp: found[tp].offset if found[tp] else stops[tp] for tp in tps}
        for r in _read(consumer, starts, stops, progress):
            counts.read += 1
            try:
                letter = parse(r.partition, r.offset, r.key, r.value)
            except EventError:
                counts.unreadable += 1
                continue
            if filt.matches(letter):
                counts.matched += 1
                yield letter
    finally:
        consumer.close()


def fetch(settings, refs: Iterable[tuple[int, int]]) -> list[Letter]:
    """The dead letters at these (partition, offset); ``LookupError`` names one that is not there."""
    from kafka import TopicPartition

    consumer = _consumer(settings)
    try:
        topic = settings.topics.deadletter
        tps = {tp.partition: tp for tp in _partitions(consumer, topic)}
        out = []
        for p, o in refs:
            tp = tps.get(p) or TopicPartition(topic, p)
            if p not in tps:
                raise LookupError(f"no dead letter {p}:{o}: {topic} has partitions 0 to {len(tps) - 1}")
            first, end = consumer.beginning_offsets([tp])[tp], consumer.end_offsets([tp])[tp]
            if not first <= o < end:
                raise LookupError(f"no dead letter {p}:{o}: partition {p} of {topic} holds offsets {first} to "
                                  f"{end - 1}" if end > first else f"no dead letter {p}:{o}: partition {p} is empty")
            record = next(iter(_read(consumer, {tp: o}, {tp: o + 1}, None)))
            try:
                out.append(parse(p, o, record.key, record.value))
            except EventError as exc:
                raise LookupError(f"{p}:{o} on {topic} is not a dead letter ({exc})") from None
        return out
    finally:
        consumer.close()


def markers(settings) -> dict[str, dict]:
    """Ref -> marker of every dead letter already re-driven."""
    consumer = _consumer(settings)
    try:
        try:
            tps = _partitions(consumer, settings.topics.redriven)
        except TopicMissing:
            return {}
        out = {}
        for r in _read(consumer, consumer.beginning_offsets(tps), consumer.end_offsets(tps), None):
            if r.key is None or r.value is None:
                continue
            try:
                out[r.key.decode()] = json.loads(r.value)
            except (UnicodeDecodeError, ValueError):
                continue
        return out
    finally:
        consumer.close()


def redrive(settings, sends: list[Send], timeout: float = 30.0) -> list[dict]:
    """Write each record to the intake, every acknowledgement awaited; then a marker per dead
    letter, awaited. Returns the markers. A crash between the two writes leaves records sent
    without markers: a second re-drive sends them again, and the worker drops an event it
    already applied (same id, same content)."""
    from kafka import KafkaProducer

    from deploy.topics import ensure_topics, topic_specs

    topics = settings.topics
    # the marker topic, on a deployment from before it existed
    ensure_topics(settings, [spec for spec in topic_specs(settings) if spec.name == topics.redriven])
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", client_id="gridflow-deadletters")
    try:
        futures = []
        for s in sends:
            code = s.letter.code if s.letter.code in REDRIVE_CODES else "other"
            headers = [(FROM_HEADER, f"{topics.deadletter}:{s.letter.ref}".encode()), (CODE_HEADER, code.encode())]
            futures.append(producer.send(topics.intake, key=s.key, value=s.value, headers=headers))
        producer.flush(timeout)
        written = [f.get(timeout=timeout) for f in futures]
        now = int(time.time() * 1000)
        marks = [{"ref": s.letter.ref, "at": now, "stage": s.letter.stage, "code": s.letter.code, "how": s.how,
                  "event_id": s.event_id, "intake_partition": m.partition, "intake_offset": m.offset}
                 for s, m in zip(sends, written)]
        acks = [producer.send(topics.redriven, key=mark["ref"].encode(), value=json.dumps(mark).encode())
                for mark in marks]
        producer.flush(timeout)
        for ack in acks:
            ack.get(timeout=timeout)
        return marks
    finally:
        producer.close()
