"""Writing one batch so that a crash loses nothing: the events for the log and the dead letters
first, every acknowledgement awaited once; then the states that changed, awaited once. A Kafka
error is not about any record: the whole lot is sent again with backoff (duplicates are
harmless) until ``kafka_timeout``, then ``LogWriteError`` (the worker exits 70, committing
nothing). Metrics count only what Kafka acknowledged."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Iterable

from aiokafka.errors import KafkaError

from streams import metrics
from streams.errors import LogWriteError
from streams.partition import STAGE, Partition
from streams.pending import Pending

log = logging.getLogger(__name__)


class BatchWriter:
    def __init__(self, producer, names, kafka_timeout: float) -> None:
        self.producer, self.names, self.kafka_timeout = producer, names, kafka_timeout

    async def write(self, out: Pending, partitions: Iterable[Partition]) -> None:
        """Outputs first, then states; each awaited once. Metrics count what Kafka acknowledged."""
        names, partitions = self.names, list(partitions)
        outputs: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        for p, k, v in out.log:
            outputs.setdefault((names.events, p), []).append((k, v))
        for p, k, v in out.dead:
            outputs.setdefault((names.deadletter, p), []).append((k, v))
        for p, k, v in out.resources:
            outputs.setdefault((names.resources, p), []).append((k, v))
        holds = [w for part in partitions for w in part.take_holds()]
        if holds:
            outputs[(names.holds, 0)] = holds
        if outputs:
            await self._send(outputs, "the batch's events and dead letters")
        states: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        owners = {}
        for part in partitions:
            writes = part.take_writes()
            if writes:
                states[(names.state, part.number)] = writes
                owners[part.number] = part
        if states:
            for (_, number), last in (await self._send(states, "the batch's states")).items():
                owners[number].changelog_next = max(owners[number].changelog_next, last + 1)
        for (metric, labels), n in out.counts.items():
            (metric.labels(*labels) if labels else metric).inc(n)
        if out.latencies:
            latency = metrics.LATENCY.labels(STAGE)
            for seconds in out.latencies:
                latency.observe(max(0.0, seconds))

    async def _send(self, records: dict[tuple[str, int], list[tuple[bytes, bytes]]], what: str) -> dict:
        """Send every record, in order, as whole record batches per partition; then await every
        acknowledgement. On a Kafka error wait and send them all again (duplicates are harmless)
        until ``kafka_timeout``, then give up. Returns the offset of the last record per
        (topic, partition)."""
        give_up = time.monotonic() + self.kafka_timeout
        delay = 0.5
        while True:
            try:
                sent = []
                for (topic, p), items in records.items():
                    sent += [(topic, p, count, future) for count, future in await self._batches(topic, p, items)]
                results = await asyncio.gather(*(future for *_, future in sent))
                last = {}
                for (topic, p, count, _), meta in zip(sent, results):
                    last[(topic, p)] = max(last.get((topic, p), -1), meta.offset + count - 1)
                return last
            except KafkaError as exc:
                metrics.WRITE_RETRIES.inc()
                if time.monotonic() + delay > give_up:
                    raise LogWriteError(what, exc) from exc
                log.warning("writing %s failed (%r); writing them again in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _batches(self, topic: str, partition: int, items: list[tuple[bytes, bytes]]) -> list:
        """(records, future) per record batch sent: as few batches as the batch size allows."""
        producer, out = self.producer, []
        batch, count = producer.create_batch(), 0
        for key, value in items:
            if batch.append(key=key, value=value, timestamp=None) is None:  # full: send it, start another
                out.append((count, await producer.send_batch(batch, topic, partition=partition)))
                batch, count = producer.create_batch(), 0
                if batch.append(key=key, value=value, timestamp=None) is None:
                    raise LogWriteError(f"a record of {len(value or b'')} bytes on {topic}",
                                        ValueError("larger than the producer's batch size"))
            count += 1
        if count:
            out.append((count, await producer.send_batch(batch, topic, partition=partition)))
        return out
