"""The baseline the worker is compared with: the least a Kafka worker in Python can do with the
same records. aiokafka, the same consumer and producer settings as the worker: read a batch,
optionally decode each value (msgpack, through events.codec), send it on to a scratch topic
(same key and partition, acks=all), await the batch's acknowledgements, commit every second.

    python -m bench.passthrough --source T --target T2 --group G [--decode] --report out.json

Runs until SIGTERM, then commits and writes its report (records, first and last batch time).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

from events import codec


async def run(args: argparse.Namespace) -> dict:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(args.source, bootstrap_servers=args.bootstrap, group_id=args.group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=512 * 1024)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await producer.start()
    await consumer.start()
    records, first, last, last_commit = 0, None, None, time.monotonic()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200, max_records=args.batch_size)
            if batch:
                futures = []
                for tp, items in batch.items():
                    for r in items:
                        if args.decode:
                            codec.unpack(r.value)
                        futures.append(await producer.send(args.target, value=r.value, key=r.key,
                                                           partition=tp.partition))
                    records += len(items)
                await asyncio.gather(*futures)
                first = first or time.time()
                last = time.time()
            if time.monotonic() - last_commit >= args.commit_interval:
                await consumer.commit()
                last_commit = time.monotonic()
        await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return {"records": records, "first_batch": first, "last_batch": last}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--decode", action="store_true")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--commit-interval", type=float, default=1.0)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    report = asyncio.run(run(args))
    with open(args.report, "w", encoding="utf-8") as fh:
        json.dump(report, fh)


if __name__ == "__main__":
    main()
