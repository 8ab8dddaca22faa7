"""Feeding the read model: the event log read with aiokafka from offset zero, then live.

No consumer group and no commits: every API process keeps its own model and rebuilds it at
start. It is *ready* once it has read up to the end offsets the log had when it started;
after that a change shows within the worker's latency plus one fetch (``fetch_max_wait_ms``,
100 ms). ClickHouse is never touched, so the projector and its store (chdb's file lock
included) are no concern of the API's."""
from __future__ import annotations

import asyncio
import logging

from events import codec
from events.errors import EventError
from gridflow.api import metrics
from gridflow.api.readmodel import ReadModel
from gridflow.settings import Settings

log = logging.getLogger(__name__)


class LogFollower:
    def __init__(self, settings: Settings, model: ReadModel) -> None:
        self.settings, self.model = settings, model
        self.topic = settings.topics.events
        self.ready = asyncio.Event()
        self._consumer = None
        self._positions: dict = {}  # TopicPartition -> next offset: a restarted read goes on from there

    async def run(self) -> None:
        """Forever; a failure of the client is logged and the reading starts over from where it was."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker went away mid-read: keep serving, read again
                log.warning("api: reading %s failed (%r); retrying in 2s", self.topic, exc)
                await asyncio.sleep(2)
            finally:
                if self._consumer is not None:
                    await self._consumer.stop()
                    self._consumer = None

    async def _follow(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, group_id=None, enable_auto_commit=False,
            client_id="gridflow-api", fetch_max_wait_ms=100, max_partition_fetch_bytes=4 * 1024 * 1024)
        await consumer.start()
        # `gridflow api` created the topics, or found them, with exactly this partition count
        tps = [TopicPartition(self.topic, p) for p in range(self.settings.partitions)]
        consumer.assign(tps)
        positions = self._positions
        for tp in tps:
            if tp in positions:
                consumer.seek(tp, positions[tp])
            else:
                await consumer.seek_to_beginning(tp)
        targets = await consumer.end_offsets(tps)
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    self._fold(record)
                positions[tp] = records[-1].offset + 1
            if not self.ready.is_set() and all(positions.get(tp, 0) >= targets[tp] for tp in tps):
                self.ready.set()
                metrics.READ_MODEL_READY.set(1)
                log.info("api: read model ready: %d matters from %d events of %s", len(self.model),
                         self.model.events, self.topic)
            metrics.READ_MODEL_MATTERS.set(len(self.model))
            metrics.READ_MODEL_LAG.set(sum(max(0, (consumer.highwater(tp) or 0) - positions.get(tp, 0)) for tp in tps))

    def _fold(self, record) -> None:
        try:
            wire = codec.unpack(record.value)
            self.model.apply(wire)
        except (EventError, KeyError, TypeError, ValueError) as exc:
            metrics.READ_MODEL_SKIPPED.inc()
            log.warning("api: %s[%d]@%d: skipped a record the read model cannot read: %r", record.topic,
                        record.partition, record.offset, exc)
