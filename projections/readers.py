"""Reading the event log in parallel for a rebuild: reader processes, one writer.

In one process a rebuild is held near 60,000 events/s by Python: kafka-python parses every
record in pure Python (about 6 µs each here) and turning it into a row takes about 3 more.
A rebuild has no consumer group and no offsets to commit, so reader processes can share the
partitions of the log: each reads its partitions from the beginning to the end offsets seen at
start, turns the records into rows (``logrow.decode``, as the projector does) and sends blocks
of rows to the parent, which alone writes them through the sink (a chdb directory belongs to
one process). The queue between them is bounded, so a slow ClickHouse slows the readers down
instead of filling memory.
"""
from __future__ import annotations

import multiprocessing
import queue
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from projections import logrow
from projections.breaker import Breaker
from projections.errors import ProjectionError, ProjectorHalted, RecordRejected
from projections.rows import OCCURRED_AT
from projections.sink import Batch, Sink

BLOCK_ROWS = 50_000  # rows a reader sends at a time: large inserts, bounded memory
NOTES_PER_BLOCK = 20  # dead-letter lines a reader passes on per block (the counts are exact)


@dataclass(frozen=True)
class Slice:
    partition: int
    begin: int
    end: int  # the log end seen when the rebuild started


@dataclass
class Block:
    rows: list[list] = field(default_factory=list)  # sent column by column: the writer inserts them as they come
    columns: list[list] | None = None
    sources: list[tuple[int, int]] = field(default_factory=list)  # (partition, offset) of each row
    records: int = 0
    rejected: dict[str, int] = field(default_factory=dict)  # reason -> records
    unexpected: int = 0
    notes: list[str] = field(default_factory=list)
    max_event_at: int = 0


def read(settings, topic: str, slices: list[Slice], out) -> None:
    """A reader process: rows of ``slices`` into ``out`` as Blocks, then None (or an error text)."""
    from kafka.structs import TopicPartition

    from projections.app import kafka_consumer

    try:
        consumer = kafka_consumer(settings, group=None, client_id="gridflow-rebuild")
        ends = {TopicPartition(topic, s.partition): s.end for s in slices}
        consumer.assign(list(ends))
        for s in slices:
            consumer.seek(TopicPartition(topic, s.partition), s.begin)
        block = Block()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for tp, records in consumer.poll(timeout_ms=500, max_records=BLOCK_ROWS).items():
                _add(block, [r for r in records if r.offset < ends[tp]])
            if len(block.rows) >= BLOCK_ROWS:
                out.put(_sealed(block))
                block = Block()
        consumer.close()
        out.put(_sealed(block))
        out.put(None)
    except BaseException:  # noqa: BLE001 - whatever stops a reader must reach the parent
        out.put(f"reader of partitions {[s.partition for s in slices]} failed:\n{traceback.format_exc()}")


def _sealed(block: Block) -> Block:
    """The block with its rows turned into columns, in the reader, off the writer's path."""
    block.columns = [list(c) for c in zip(*block.rows)] if block.rows else []
    block.rows = []
    return block


def _add(block: Block, records: list) -> None:
    block.records += len(records)
    for record in records:
        try:
            row = logrow.decode(record.value, record.partition, record.offset)
        except Exception as exc:  # noqa: BLE001 - as in the projector: a record never stops the rebuild
            reason = exc.reason if isinstance(exc, RecordRejected) else "unexpected_error"
            block.unexpected += reason == "unexpected_error"
            block.rejected[reason] = block.rejected.get(reason, 0) + 1
            if len(block.notes) < NOTES_PER_BLOCK:
                block.notes.append(f"[{record.partition}]@{record.offset}: {reason}: {type(exc).__name__}: {exc}")
            continue
        block.rows.append(row)
        block.sources.append((record.partition, record.offset))
        if row[OCCURRED_AT] > block.max_event_at:
            block.max_event_at = row[OCCURRED_AT]


@dataclass
class Replayed:
    events: int = 0
    written: int = 0
    deadletters: int = 0


def replay(settings, sink: Sink, topic: str, slices: list[Slice], readers: int, *,
           breaker: Breaker | None = None, log: Callable[[str], None] = print,
           progress_seconds: float = 10.0) -> Replayed:
    """Rows of ``slices`` of ``topic`` written through ``sink`` by ``readers`` reader processes."""
    ctx = multiprocessing.get_context("spawn")  # no fork: the parent holds threads and maybe chdb
    readers = max(1, min(readers, len(slices)))
    out = ctx.Queue(maxsize=2 * readers)
    procs = [ctx.Process(target=read, args=(settings, topic, slices[i::readers], out), daemon=True)
             for i in range(readers)]
    for p in procs:
        p.start()
    breaker = breaker or Breaker()
    totals, running = Replayed(), readers
    started = last = time.monotonic()
    try:
        while running:
            item = _next(out, procs)
            if item is None:
                running -= 1
                continue
            if isinstance(item, str):
                raise ProjectionError(item)
            _write(item, sink, breaker, totals, topic, log)
            if time.monotonic() - last >= progress_seconds:
                last = time.monotonic()
                log(f"rebuild: {totals.events} events ({totals.events / (last - started):,.0f}/s), "
                    f"{totals.written} written, dead letters {totals.deadletters}")
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=10)
    return totals


def _next(out, procs):
    while True:
        try:
            return out.get(timeout=1.0)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise ProjectionError(f"a rebuild reader died with exit code {dead[0].exitcode}") from None


def _write(block: Block, sink: Sink, breaker: Breaker, totals: Replayed, topic: str, log) -> None:
    batch = Batch(event_columns=block.columns, sources=block.sources, max_event_at=block.max_event_at)
    refused = sink.write(batch, _sleep) if block.sources else []
    notes = block.notes + [f"[{p}]@{o}: clickhouse_rejected: {error}" for (p, o), _, error in refused]
    unexpected = block.unexpected + len(refused)
    if unexpected and breaker.trips(block.records, unexpected):
        raise ProjectorHalted(f"circuit breaker: {breaker.describe(block.records, unexpected)}; e.g. {notes[-1]}")
    breaker.observe(block.records, unexpected)
    for note in notes:
        log(f"rebuild: dead letter {topic}{note}")
    totals.events += block.records
    totals.written += len(block.sources) - len(refused)
    totals.deadletters += sum(block.rejected.values()) + len(refused)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)  # a rebuild has no consumer group to keep alive while ClickHouse is away
    return True
