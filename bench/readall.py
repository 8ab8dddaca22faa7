"""The baseline for a worker's recovery: read a topic from its beginning to its end offsets with a
plain aiokafka consumer (no group), keeping the newest value per key as recovery does, and
nothing else.

    python -m bench.readall --topic T --partitions 4 --report out.json
"""
from __future__ import annotations

import argparse
import asyncio
import json


async def run(bootstrap: str, topic: str, partitions: int) -> dict:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        latest: dict[bytes, bytes] = {}
        records = 0
        left = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
        while left:
            batch = await consumer.getmany(*left, timeout_ms=500, max_records=50_000)
            for tp, items in batch.items():
                for r in items:
                    latest[r.key] = r.value
                records += len(items)
            left = {tp for tp in left if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return {"records": records, "keys": len(latest), "value_bytes": sum(len(v) for v in latest.values() if v)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    report = asyncio.run(run(args.bootstrap, args.topic, args.partitions))
    with open(args.report, "w", encoding="utf-8") as fh:
        json.dump(report, fh)


if __name__ == "__main__":
    main()
