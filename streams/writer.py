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
        names = self.names
        outputs = [(names.events, p, k, v) for p, k, v in out.log]
        outputs += [(names.deadletter, p, k, v) for p, k, v in out.dead]
        if outputs:
            await self._send(outputs, "the batch's events and dead letters")
        states, owners = [], []
        for part in partitions:
            for key, value in part.take_writes():
                states.append((names.state, part.number, key, value))
                owners.append(part)
        if states:
            acks = await self._send(states, "the batch's states")
            for part, ack in zip(owners, acks):
                part.changelog_next = max(part.changelog_next, ack.offset + 1)
        for (metric, labels), n in out.counts.items():
            (metric.labels(*labels) if labels else metric).inc(n)
        if out.latencies:
            latency = metrics.LATENCY.labels(STAGE)
            for seconds in out.latencies:
                latency.observe(max(0.0, seconds))

    async def _send(self, records: list[tuple[str, int, bytes, bytes]], what: str) -> list:
        """Send every record, then await every acknowledgement; on a Kafka error wait and send
        them all again (duplicates are harmless) until ``kafka_timeout``, then give up."""
        give_up = time.monotonic() + self.kafka_timeout
        delay = 0.5
        send = self.producer.send
        while True:
            try:
                futures = [await send(topic, value=value, key=key, partition=p) for topic, p, key, value in records]
                return await asyncio.gather(*futures)
            except KafkaError as exc:
                metrics.WRITE_RETRIES.inc()
                if time.monotonic() + delay > give_up:
                    raise LogWriteError(what, exc) from exc
                log.warning("writing %s failed (%r); writing them again in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
