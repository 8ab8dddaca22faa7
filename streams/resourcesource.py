"""The resources list as every worker sees it: reference data, like the org tree, followed live.

Matters are partitioned by matter id and resources by resource id, so a matter's owner does
not own the resources it is matched with. Every worker therefore keeps the whole list — a few
thousand resources in a street — in one ``events.resources.Directory`` and follows two topics
from offset zero:

- ``<p>.resources.events``: every accepted resource event, written by the owner of the
  resource's intake partition; folded with ``replay_resource`` (a re-read event the resource
  remembers does nothing, so the owner's own events, already in its directory, are harmless);
- ``<p>.resources.holds``: one record per claimed order, a tombstone when released: the load;
  and one per ``points_awarded`` (key ``\x01award\x00<event id>``): the points each resource
  earned, against which its owner decides ``points_redeemed``.

``start()`` begins reading both from offset zero and goes on following them; ``caught_up()``
waits until what was on the topics at the moment of the call is applied. The worker awaits it
while it reads a new partition's states back (recovery), before deciding any record of the
partition, so the list is rebuilt on every start and the resources the previous owner of a
partition accepted are known to the next.
"""
from __future__ import annotations

import asyncio
import logging
import time

from events import codec
from events.errors import EventError
from events.resources import Directory, replay_resource
from streams import metrics
from streams.partition import AWARD_PREFIX

log = logging.getLogger(__name__)


class ResourceFollower:
    def __init__(self, bootstrap: str, resources_topic: str, holds_topic: str, directory: Directory, *,
                 client_id: str = "gridflow-resources") -> None:
        self.bootstrap, self.client_id = bootstrap, client_id
        self.resources_topic, self.holds_topic = resources_topic, holds_topic
        self.directory = directory
        self.consumer = None
        self.tps: list = []
        self.applied = 0
        self.skipped = 0
        self._task: asyncio.Task | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Read both topics from the beginning to their end offsets, then follow them."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, client_id=self.client_id,
                                         group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
        await self.consumer.start()
        tps = []
        for topic in (self.resources_topic, self.holds_topic):
            parts = self.consumer.partitions_for_topic(topic)
            if parts is None:
                await self.consumer._client.force_metadata_update()  # a topic created a moment ago
                parts = self.consumer.partitions_for_topic(topic) or set()
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        self.tps = tps
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)
        self._task = asyncio.ensure_future(self._follow())

    async def loaded(self, timeout: float = 60.0) -> None:
        """``caught_up``, logged: what the worker awaits before it decides any record."""
        started = time.monotonic()
        await self.caught_up(timeout)
        log.info("resources: %d resources, %d held orders, caught up in %.2fs", len(self.directory),
                 sum(len(h) for h in self.directory.holds.values()), time.monotonic() - started)

    async def caught_up(self, timeout: float = 60.0) -> None:
        """Return once every record on the topics now is applied; TimeoutError after ``timeout``."""
        if not self.tps:
            return
        ends = await self.consumer.end_offsets(self.tps)
        give_up = time.monotonic() + timeout
        while await self._behind(ends):
            await asyncio.sleep(0.02)  # the follow task reads
            if time.monotonic() > give_up:
                raise TimeoutError(f"reading {self.resources_topic} and {self.holds_topic} took over {timeout:.0f}s")

    async def _behind(self, ends: dict) -> bool:
        for tp, end in ends.items():
            if await self.consumer.position(tp) < end:
                return True
        return False

    async def _follow(self) -> None:
        from aiokafka.errors import KafkaError

        while True:
            try:
                await self._read(500)
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:  # the broker is away: not about any record
                log.warning("resources: reading failed (%s); trying again", exc)
                await asyncio.sleep(1.0)

    async def _read(self, timeout_ms: int) -> None:
        batch = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        for tp, records in batch.items():
            for record in records:
                self.apply(tp.topic, record.key, record.value)

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """One record of either topic (public: the unit tests feed records here)."""
        try:
            if topic == self.holds_topic and (key or b"").startswith(AWARD_PREFIX):
                resource_id, points = codec.unpack(value)
                self.directory.award(resource_id, key[len(AWARD_PREFIX):].decode("utf-8"), int(points))
            elif topic == self.holds_topic:
                resource_id, _, matter_id = (key or b"").decode("utf-8").partition("\x00")
                if value is None:
                    self.directory.release(resource_id, matter_id)
                else:
                    self.directory.hold(resource_id, matter_id)
            else:
                event = codec.decode(value)
                found = replay_resource(self.directory.get(event.matter_id), event)
                if found is not None:
                    self.directory.put(found)
            self.applied += 1
        except (EventError, UnicodeDecodeError, ValueError, TypeError) as exc:
            self.skipped += 1  # written by the worker, so never expected: logged, not fatal
            log.error("resources: skipped an unreadable record on %s: %s", topic, exc)
        metrics.RESOURCES.set(len(self.directory))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self.consumer is not None:
            await self.consumer.stop()
