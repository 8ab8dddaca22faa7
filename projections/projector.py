"""The projector: the event log (Kafka) into ClickHouse, batched by rows, bytes and time.

Offsets are committed only after ClickHouse holds the batch; bad records, and rows ClickHouse
refuses, go to the dead-letter topic with their source position before the offsets that skip
them are committed. No record stops the loop: whatever fails while a record becomes a row is
that record's dead letter, and the circuit breaker (``breaker.py``) stops the projector when
such failures hit most records. The same loop serves ``gridflow project`` (consumer group, runs
until stopped) and ``gridflow rebuild`` (no group, from offset zero to the log end seen at start).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from events import codec
from events.errors import EventError
from projections import logrow, metrics, resourcerows
from projections.rows import OCCURRED_AT
from projections.breaker import Breaker
from projections.errors import ProjectorHalted, RecordRejected, StoreError
from projections.settle import settle
from projections.sink import Batch, Sink

STAGE = "projector"
UNEXPECTED = "unexpected_error"
REFUSED = "clickhouse_rejected"
IDLE_POLL_SECONDS = 0.5
Decode = Callable[[bytes, int, int], list]


@dataclass
class Totals:
    events: int = 0
    written: int = 0
    org_units: int = 0
    deadletters: int = 0
    batches: int = 0


@dataclass
class DeadLetter:
    record: Any
    reason: str
    detail: str
    event_id: str | None = None
    unexpected: bool = False  # counts towards the circuit breaker


@dataclass
class Collected:
    batch: Batch = field(default_factory=Batch)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    deadletters: list[DeadLetter] = field(default_factory=list)
    records: int = 0
    events: int = 0
    nbytes: int = 0


class Projector:
    def __init__(self, sink: Sink, consumer, *, events_topic: str, org_topic: str | None = None,
                 resources_topic: str | None = None,
                 deadletter_topic: str | None = None, producer=None, group: str | None = None,
                 batch_size: int = 5000, batch_bytes: int = 16 << 20, batch_seconds: float = 1.0,
                 progress_seconds: float = 10.0, breaker: Breaker | None = None, decode: Decode = logrow.decode,
                 settle_seconds: float | None = None, log: Callable[[str], None] = print) -> None:
        self.sink = sink
        self.consumer = consumer
        self.events_topic = events_topic
        self.org_topic = org_topic
        self.resources_topic = resources_topic  # the resources log, into resource_events
        self.deadletter_topic = deadletter_topic
        self.producer = producer  # None: count bad records but do not re-send them (rebuild)
        self.group = group  # None: no offset commits (rebuild)
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.batch_seconds = batch_seconds
        self.progress_seconds = progress_seconds
        self.breaker = breaker or Breaker()
        self.decode = decode
        self.settle_seconds = settle_seconds  # None: never (a rebuild settles once, at its end)
        self._settled_at = time.monotonic()
        self.log = log
        self.totals = Totals()
        self._carry: list[tuple[TopicPartition, list]] = []
        self._stop = threading.Event()
        self._seen_event_at = 0
        self._done: dict[TopicPartition, int] = {}  # next offset to read, per partition, written

    def stop(self) -> None:
        self._stop.set()

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop_at: dict[TopicPartition, int] | None = None, *, until_idle: bool = False) -> Totals:
        """Consume and write until stopped; or until every partition in ``stop_at`` reached its
        offset; or, ``until_idle``, until a poll comes back empty with no lag left. Raises
        ``ProjectorHalted`` when the circuit breaker trips."""
        last_report = time.monotonic()
        reported_events = 0
        while not self._stop.is_set():
            if stop_at is not None and self._reached(stop_at):
                break
            collected = self._collect(stop_at)
            if collected.offsets and not self._flush(collected):
                break  # stopping during a ClickHouse outage: nothing committed, nothing lost
            self._maybe_settle()
            if until_idle and not collected.offsets and self.consumer.assignment() and not any(self.lag().values()):
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

    def _collect(self, stop_at: dict[TopicPartition, int] | None = None) -> Collected:
        """Records until the batch holds ``batch_size`` records or ``batch_bytes`` bytes, or
        ``batch_seconds`` passed since its first record, or it reaches ``stop_at``; an empty
        batch after an idle poll."""
        c = Collected()
        deadline = None
        while c.records < self.batch_size and c.nbytes < self.batch_bytes and not self._stop.is_set():
            if self._carry:
                chunks, self._carry = self._carry, []
            else:
                timeout = IDLE_POLL_SECONDS if deadline is None else min(deadline - time.monotonic(), IDLE_POLL_SECONDS)
                if timeout <= 0:
                    break
                try:
                    chunks = list(self.consumer.poll(timeout_ms=max(1, int(timeout * 1000)),
                                                     max_records=self.batch_size - c.records).items())
                except KafkaError as exc:  # the broker is away: not about any record; read again
                    self.log(f"projector: reading the log failed ({exc!r}); trying again")
                    self._stop.wait(1.0)
                    continue
                if not chunks:
                    if deadline is None:
                        break
                    continue
            if deadline is None:
                deadline = time.monotonic() + self.batch_seconds
            for tp, records in chunks:
                if records:
                    self._add(tp, records, c)
            if stop_at and all(c.offsets.get(tp, self._done.get(tp, 0)) >= end for tp, end in stop_at.items()):
                break
        self.totals.events += c.events
        metrics.EVENTS.inc(c.events)
        return c

    def _add(self, tp: TopicPartition, records: list, c: Collected) -> None:
        c.records += len(records)
        c.offsets[tp] = records[-1].offset + 1
        if tp.topic == self.org_topic:
            for record in records:
                self._add_org_unit(record, c)
            return
        if tp.topic == self.resources_topic:
            for record in records:
                self._add_resource(record, c)
            return
        c.events += len(records)
        batch, decode, deadletters = c.batch, self.decode, c.deadletters
        rows, sources = batch.event_rows, batch.sources
        first = len(rows)
        for record in records:
            value = record.value
            if value is not None:
                c.nbytes += len(value)
            try:
                row = decode(value, record.partition, record.offset)
            except RecordRejected as exc:
                deadletters.append(DeadLetter(record, exc.reason, str(exc), exc.event_id))
                continue
            except Exception as exc:  # noqa: BLE001 - a record must never stop the loop: it is
                # dead-lettered with the exception named, and the breaker watches how often
                deadletters.append(DeadLetter(record, UNEXPECTED, f"{type(exc).__name__}: {exc}", unexpected=True))
                continue
            rows.append(row)
            sources.append(record)
        if len(rows) > first:
            batch.max_event_at = max(batch.max_event_at, max(row[OCCURRED_AT] for row in rows[first:]))

    def _add_org_unit(self, record, c: Collected) -> None:
        if record.value is None:
            return  # tombstone: a unit that existed keeps its history
        try:
            unit = codec.decode_org_unit(record.value)
        except EventError as exc:
            c.deadletters.append(DeadLetter(record, "invalid_org_unit", str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - as for events: never stop the loop on a record
            c.deadletters.append(DeadLetter(record, UNEXPECTED, f"{type(exc).__name__}: {exc}", unexpected=True))
            return
        c.batch.org_changed[unit.unit_id] = unit
        c.batch.org_sources[unit.unit_id] = record

    def _add_resource(self, record, c: Collected) -> None:
        try:
            row = resourcerows.decode(record.value, record.partition, record.offset)
        except RecordRejected as exc:
            c.deadletters.append(DeadLetter(record, exc.reason, str(exc), exc.event_id))
            return
        except Exception as exc:  # noqa: BLE001 - as for events: never stop the loop on a record
            c.deadletters.append(DeadLetter(record, UNEXPECTED, f"{type(exc).__name__}: {exc}", unexpected=True))
            return
        c.batch.resource_rows.append(row)
        c.batch.resource_sources.append(record)

    # --- writing and committing -------------------------------------------------------------

    def _flush(self, c: Collected) -> bool:
        batch = c.batch
        refused = self.sink.write(batch, self._wait) if len(batch) else []
        if refused is None:
            return False
        for record, row, error in refused:
            c.deadletters.append(DeadLetter(record, REFUSED, str(error), row[0] if row else None, unexpected=True))
        failed = [d for d in c.deadletters if d.unexpected]
        if failed and self.breaker.trips(c.records, len(failed)):
            raise ProjectorHalted(f"circuit breaker: {self.breaker.describe(c.records, len(failed))}; the last: "
                                  f"{failed[-1].reason}: {failed[-1].detail}. Nothing of this batch was "
                                  "committed or dead-lettered.")
        self.breaker.observe(c.records, len(failed))
        if not self._send_deadletters(c.deadletters):
            return False  # stopping: nothing committed, the batch is read again
        self._commit(c.offsets)
        self._done.update(c.offsets)
        self.totals.batches += 1
        self.totals.written += len(batch.event_rows) - sum(1 for d in c.deadletters if d.reason == REFUSED)
        self.totals.org_units += len(batch.org_changed)
        self._seen_event_at = max(self._seen_event_at, batch.max_event_at)
        if self._seen_event_at:
            metrics.PROJECTION_DELAY.set(max(0, self._seen_event_at - self.sink.written_event_at) / 1000)
        return True

    def _maybe_settle(self) -> None:
        """Fold the matters' changes into their settled rows every ``settle_seconds``. Statistics
        are exact without it (projections/settle.py), so a failure is logged and counted, and
        the next try comes ``settle_seconds`` later."""
        if self.settle_seconds is None or time.monotonic() - self._settled_at < self.settle_seconds:
            return
        self._settled_at = time.monotonic()
        try:
            done = settle(self.sink.store)
        except StoreError as exc:
            metrics.SETTLE_ERRORS.inc()
            self.log(f"projector: settling the matters' changes failed ({exc}); statistics stay exact, "
                     f"next try in {self.settle_seconds:g}s")
            return
        metrics.SETTLE_SECONDS.observe(done.seconds)

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
                try:
                    polled = self.consumer.poll(timeout_ms=int(min(left, 0.5) * 1000) + 1)
                except KafkaError:  # the broker is away too: keep waiting
                    self._stop.wait(min(left, 0.5))
                    continue
                # partitions assigned by a rebalance meanwhile are not paused: keep what came
                self._carry.extend(polled.items())
            return False
        finally:
            self.consumer.resume(*assigned)

    def _send_deadletters(self, deadletters: list[DeadLetter]) -> bool:
        """Dead letters durable before the offsets that skip them are committed: sent, flushed and
        every acknowledgement checked; a Kafka error is not about the records, so they are sent
        again with backoff. False: stopping before they were acknowledged (commit nothing)."""
        values = []
        for d in deadletters:
            record = d.record
            metrics.DEADLETTERS.labels(STAGE, d.reason).inc()
            self.totals.deadletters += 1
            self.log(f"projector: dead letter {record.topic}[{record.partition}]@{record.offset}: "
                     f"{d.reason}: {d.detail}")
            values.append((record.key, codec.encode_deadletter(
                reason=f"{d.reason}: {d.detail}", original=record.value or b"", topic=record.topic,
                partition=record.partition, offset=record.offset, stage=STAGE, at=int(time.time() * 1000),
                event_id=d.event_id)))
        if not values or self.producer is None or self.deadletter_topic is None:
            return True
        delays = self.sink.backoff.delays()
        while True:
            try:
                futures = [self.producer.send(self.deadletter_topic, key=k, value=v) for k, v in values]
                self.producer.flush()
                for future in futures:
                    future.get(timeout=30)
                return True
            except KafkaError as exc:
                delay = next(delays)
                self.log(f"projector: writing {len(values)} dead letter(s) failed ({exc!r}); again in {delay:.1f}s")
                if not self._wait(delay):
                    return False

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
