"""The projector: the event log (Kafka) into ClickHouse, batched by size and time.

Offsets are committed only after ClickHouse holds the batch; bad records go to the
dead-letter topic with their source position. The same loop serves ``gridflow project``
(consumer group, runs until stopped) and ``gridflow rebuild`` (no group, from offset zero
to the log end seen at start).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from events import codec
from events.errors import EventError
from projections import metrics, rows
from projections.sink import Batch, Sink

STAGE = "projector"


@dataclass
class Totals:
    events: int = 0
    written: int = 0
    org_units: int = 0
    deadletters: int = 0
    batches: int = 0


class Projector:
    def __init__(self, sink: Sink, consumer, *, events_topic: str, org_topic: str | None = None,
                 deadletter_topic: str | None = None, producer=None, group: str | None = None,
                 batch_size: int = 5000, batch_seconds: float = 1.0, progress_seconds: float = 10.0,
                 log: Callable[[str], None] = print) -> None:
        self.sink = sink
        self.consumer = consumer
        self.events_topic = events_topic
        self.org_topic = org_topic
        self.deadletter_topic = deadletter_topic
        self.producer = producer  # None: count bad records but do not re-send them (rebuild)
        self.group = group  # None: no offset commits (rebuild)
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.progress_seconds = progress_seconds
        self.log = log
        self.totals = Totals()
        self._carry: list = []
        self._stop = threading.Event()
        self._seen_event_at = 0
        self._done: dict[TopicPartition, int] = {}  # next offset to read, per partition, written

    def stop(self) -> None:
        self._stop.set()

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop_at: dict[TopicPartition, int] | None = None, *, until_idle: bool = False) -> Totals:
        """Consume and write until stopped; or until every partition in ``stop_at`` reached its
        offset; or, ``until_idle``, until a poll comes back empty with no lag left."""
        last_report = time.monotonic()
        reported_events = 0
        while not self._stop.is_set():
            if stop_at is not None and self._reached(stop_at):
                break
            batch, offsets, deadletters = self._collect()
            if offsets and not self._flush(batch, offsets, deadletters):
                break  # stopping during a ClickHouse outage: nothing committed, nothing lost
            if until_idle and not offsets and self.consumer.assignment() and not any(self.lag().values()):
                break
            now = time.monotonic()
            if now - last_report >= self.progress_seconds:
                rate = (self.totals.events - reported_events) / (now - last_report)
                self._report(rate)
                last_report, reported_events = now, self.totals.events
        return self.totals

    def _reached(self, stop_at: dict[TopicPartition, int]) -> bool:
        if self._carry:
            return False
        for tp, end in stop_at.items():
            if self._done.get(tp, 0) >= end:
                continue
            try:  # past the last record but short of the end: control records (transactions)
                if self.consumer.position(tp) < end:
                    return False
            except (KafkaError, AssertionError):
                return False
        return True

    def _collect(self):
        batch, offsets, deadletters = Batch(), {}, []
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) + len(deadletters) < self.batch_size and not self._stop.is_set():
            if self._carry:
                records, self._carry = self._carry, []
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                polled = self.consumer.poll(timeout_ms=max(1, int(min(left, 0.5) * 1000)),
                                            max_records=self.batch_size - len(batch))
                records = [r for part in polled.values() for r in part]
            for record in records:
                self._add(record, batch, deadletters)
                offsets[TopicPartition(record.topic, record.partition)] = record.offset + 1
        return batch, offsets, deadletters

    def _add(self, record, batch: Batch, deadletters: list) -> None:
        if record.topic == self.org_topic:
            if record.value is None:
                return  # tombstone: a unit that existed keeps its history
            try:
                unit = codec.decode_org_unit(record.value)
            except EventError as exc:
                deadletters.append((record, "invalid_org_unit", str(exc), None))
                return
            batch.org_changed[unit.unit_id] = unit
            return
        self.totals.events += 1
        metrics.EVENTS.inc()
        try:
            event = codec.decode(record.value)
        except EventError as exc:
            reason = "decode_error" if type(exc).__name__ == "DecodeError" else "validation_error"
            deadletters.append((record, reason, str(exc), None))
            return
        if event.INTERNAL or event.TYPE == "watermark":
            deadletters.append((record, "not_a_log_event", f"{event.TYPE} does not belong in the event log",
                                event.event_id))
            return
        batch.event_rows.append(rows.to_row(event, record.partition, record.offset))
        batch.max_event_at = max(batch.max_event_at, event.occurred_at)
        self._seen_event_at = max(self._seen_event_at, event.occurred_at)

    # --- writing and committing -------------------------------------------------------------

    def _flush(self, batch: Batch, offsets: dict[TopicPartition, int], deadletters: list) -> bool:
        if len(batch) and not self.sink.write(batch, self._wait):
            return False
        self._send_deadletters(deadletters)
        self._commit(offsets)
        self._done.update(offsets)
        self.totals.batches += 1
        self.totals.written += len(batch.event_rows)
        self.totals.org_units += len(batch.org_changed)
        if self._seen_event_at:
            metrics.PROJECTION_DELAY.set(max(0, self._seen_event_at - self.sink.written_event_at) / 1000)
        return True

    def _wait(self, seconds: float) -> bool:
        """Wait between retries without leaving the consumer group: poll with fetching paused."""
        deadline = time.monotonic() + seconds
        assigned = list(self.consumer.assignment())
        self.consumer.pause(*assigned)
        try:
            while not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                polled = self.consumer.poll(timeout_ms=int(min(left, 0.5) * 1000) + 1)
                # partitions assigned by a rebalance meanwhile are not paused: keep what came
                self._carry.extend(r for part in polled.values() for r in part)
            return False
        finally:
            self.consumer.resume(*assigned)

    def _send_deadletters(self, deadletters: list) -> None:
        for record, reason, detail, event_id in deadletters:
            metrics.DEADLETTERS.labels(STAGE, reason).inc()
            self.totals.deadletters += 1
            self.log(f"projector: dead letter {record.topic}[{record.partition}]@{record.offset}: {detail}")
            if self.producer is None or self.deadletter_topic is None:
                continue
            value = codec.encode_deadletter(reason=f"{reason}: {detail}", original=record.value or b"",
                                            topic=record.topic, partition=record.partition, offset=record.offset,
                                            stage=STAGE, at=int(time.time() * 1000), event_id=event_id)
            self.producer.send(self.deadletter_topic, key=record.key, value=value)
        if deadletters and self.producer is not None:
            self.producer.flush()  # durable before the offsets that skip them are committed

    def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.group is None:
            return
        try:
            self.consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
        except KafkaError as exc:
            # The rows are in ClickHouse; whoever reads these offsets again writes them again,
            # which changes nothing. Worth a line, not a crash.
            self.log(f"projector: offset commit failed ({exc}); the batch may be written again")

    # --- progress ---------------------------------------------------------------------------

    def lag(self) -> dict[TopicPartition, int]:
        assigned = [tp for tp in self.consumer.assignment() if tp.topic == self.events_topic]
        if not assigned:
            return {}
        try:
            ends = self.consumer.end_offsets(assigned)
            return {tp: max(0, ends[tp] - self.consumer.position(tp)) for tp in assigned}
        except (KafkaError, AssertionError):
            return {}

    def _report(self, rate: float) -> None:
        lag = self.lag()
        for tp, n in lag.items():
            metrics.CONSUMER_LAG.labels(self.group or "rebuild", tp.topic, str(tp.partition)).set(n)
        delay = max(0, self._seen_event_at - self.sink.written_event_at) / 1000
        self.log(f"projector: {self.totals.events} events ({rate:,.0f}/s), {self.totals.written} written, "
                 f"lag {sum(lag.values())}, delay {delay:,.0f}s, dead letters {self.totals.deadletters}")
