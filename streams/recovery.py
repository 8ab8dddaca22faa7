"""Reading a partition's states back from the compacted state topic, before the worker handles
any record of that partition: on start-up, and whenever a rebalance gives it a partition another
worker (or nobody) owned. Reads from the beginning to the end offset seen when it starts; the
newest record per key wins."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)


@dataclass
class Saved:
    records: dict[bytes, bytes] = field(default_factory=dict)  # key -> newest value
    end: int = 0  # the offset after the last record read


async def read_states(bootstrap: str, topic: str, partitions: list[int], *, client_id: str,
                      progress_seconds: float = 10.0) -> dict[int, Saved]:
    """The newest record per key of each partition of ``topic``."""
    out = {p: Saved() for p in partitions}
    if not partitions:
        return out
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                client_id=client_id, auto_offset_reset="earliest",
                                fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            out[tp.partition].end = ends[tp]
        left = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        started = last_report = time.monotonic()
        count = 0
        while left:
            batch = await consumer.getmany(*left, timeout_ms=500, max_records=50_000)
            for tp, records in batch.items():
                saved = out[tp.partition].records
                for r in records:
                    if r.offset >= ends[tp]:
                        break
                    if r.value is None:
                        saved.pop(r.key, None)
                    else:
                        saved[r.key] = r.value
                count += len(records)
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
            if time.monotonic() - last_report >= progress_seconds:
                last_report = time.monotonic()
                log.info("recovery: %d state records read from %s%s so far", count, topic, sorted(partitions))
            await asyncio.sleep(0)
        log.info("recovery: %d state records of %s%s read in %.1fs", count, topic, sorted(partitions),
                 time.monotonic() - started)
        return out
    finally:
        await consumer.stop()


# --- the worker before the state topic ---------------------------------------------------------
# Until this version the worker kept its states in Faust tables: changelog topics named after
# the consumer group, the same partition per matter (murmur2 of its id), states in the v1 map
# that events.state_codec still reads, and each partition's event clock as the newest watermark
# per intake partition. A partition whose state topic is still empty adopts them once.

LEGACY_STATES = "{group}-matters-changelog"
LEGACY_CLOCKS = "{group}-clocks-changelog"


@dataclass
class Legacy:
    records: dict[bytes, bytes] = field(default_factory=dict)
    watermark: int | None = None


async def read_legacy(bootstrap: str, group: str, partitions: list[int], sources: int, *,
                      client_id: str) -> dict[int, Legacy]:
    """The states and event clocks the Faust-table worker left for ``partitions`` (empty when
    it left none)."""
    from aiokafka import AIOKafkaClient

    from events import codec

    out = {p: Legacy() for p in partitions}
    client = AIOKafkaClient(bootstrap_servers=bootstrap, client_id=client_id)
    await client.bootstrap()
    try:
        await client.force_metadata_update()
        topics = client.cluster.topics()
    finally:
        await client.close()
    states, clocks = LEGACY_STATES.format(group=group), LEGACY_CLOCKS.format(group=group)
    if states not in topics:
        return out
    found = await read_states(bootstrap, states, partitions, client_id=client_id)
    for p in partitions:
        out[p].records = found[p].records
    if clocks in topics:
        marks = await read_states(bootstrap, clocks, partitions, client_id=client_id)
        for p in partitions:
            raw = marks[p].records.get(f"clock/{p}".encode())
            per_source = {int(k): int(v) for k, v in codec.unpack(raw).items()} if raw else {}
            if len(per_source) >= sources:  # the low watermark over every intake partition
                out[p].watermark = min(per_source.values())
    if any(out[p].records for p in partitions):
        log.info("recovery: adopting %d states of the Faust-table worker from %s",
                 sum(len(out[p].records) for p in partitions), states)
    return out
