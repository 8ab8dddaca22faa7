"""How fast the projector and the rebuild run next to their raw paths (a quick check, not a suite).

    python bench/projector_speed.py fill PREFIX 200000        # a log of that many events
    python bench/projector_speed.py project chdb PREFIX       # the projector, fresh group and tables
    python bench/projector_speed.py raw chdb PREFIX           # read + unpack + insert, nothing else
    python bench/projector_speed.py rebuild server PREFIX
    python bench/projector_speed.py read PREFIX               # kafka-python read alone
    python bench/projector_speed.py live chdb 250 20          # CPU per event, log written at 250/s
    python bench/projector_speed.py compare 5 "project chdb PREFIX" "raw chdb PREFIX"

Each run prints ``rate: N events/s`` over its reading and writing (set-up excluded). ``compare``
runs the two commands in turn, A B A B ..., and prints the medians and the median of the
per-pair ratios A/B, so a drift of the machine's speed moves both sides of a pair alike.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from events import codec  # noqa: E402
from events.types import (FeedbackGiven, MatterAccepted, MatterReported, MatterResolved, MatterRouted,  # noqa: E402
                          MatterVerified, SlaStarted, SlaWarning)
from gridflow.settings import Settings  # noqa: E402

START, HOUR = 1_767_196_800_000, 3_600_000


def settings_for(prefix: str, store: str = "chdb") -> Settings:
    return Settings.from_env(topic_prefix=prefix, store=store, projector_group=f"bench-{uuid.uuid4().hex[:8]}")


def matter_events(n: int) -> list:
    m, at, unit = f"m-{n:07d}", START + (n * 7919) % (60 * 24 * HOUR), f"c-d{n % 3}-s{n % 5}-k{n % 7}-g{n % 11}"
    common = {"matter_id": m, "producer": "bench"}
    return [
        MatterReported(event_id=f"{m}-1", occurred_at=at, kind="incident", category="sanitation", priority="normal",
                       channel="app", place=unit + "-h1", reporter="r-1", text="a pile of rubbish by gate 3", **common),
        MatterRouted(event_id=f"{m}-2", occurred_at=at + 1, place=unit + "-h1", unit=unit, level="grid",
                     policy_version="2026.2", **common),
        SlaStarted(event_id=f"{m}-3", occurred_at=at + 1, unit=unit, level="grid", cycle=1, reason="arrived",
                   accept_by=at + 2 * HOUR, resolve_by=at + 48 * HOUR, warn_at=[at + 24 * HOUR],
                   policy_version="2026.2", **common),
        MatterAccepted(event_id=f"{m}-4", occurred_at=at + HOUR, unit=unit, handler="h-1", **common),
        SlaWarning(event_id=f"{m}-5", occurred_at=at + 24 * HOUR, unit=unit, level="grid", cycle=1, threshold=0.5,
                   due_at=at + 48 * HOUR, **common),
        MatterResolved(event_id=f"{m}-6", occurred_at=at + 30 * HOUR, unit=unit, handler="h-1", level="grid",
                       **common),
        MatterVerified(event_id=f"{m}-7", occurred_at=at + 40 * HOUR, verifier="v-1", **common),
        FeedbackGiven(event_id=f"{m}-8", occurred_at=at + 50 * HOUR, contacted=True, solved=True,
                      satisfaction="satisfied", **common),
    ]


def fill(prefix: str, n_events: int) -> None:
    from kafka import KafkaProducer

    from deploy.topics import ensure_topics

    settings = settings_for(prefix)
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20,
                             batch_size=256 * 1024)
    sent, n = 0, 0
    while sent < n_events:
        for event in matter_events(n):
            producer.send(settings.topics.events, key=event.matter_id.encode(), value=codec.encode(event))
            sent += 1
        n += 1
    producer.flush()
    print(f"{sent} events in {settings.topics.events}")


class Target:
    """A fresh, migrated database on the chosen store, removed afterwards."""

    def __init__(self, settings: Settings) -> None:
        from projections.migrate import migrate
        from projections.store import open_store

        self.dir = tempfile.mkdtemp(prefix="bench-chdb-")
        self.settings = settings.with_(clickhouse_database=f"bench_{uuid.uuid4().hex[:8]}", chdb_path=self.dir)
        self.store = open_store(self.settings)
        migrate(self.store, log=lambda _: None)

    def close(self) -> None:
        if self.store.kind == "server":
            self.store.execute(f"DROP DATABASE IF EXISTS {self.store.database}")
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_all(settings: Settings, on_batch) -> int:
    """Read the event log from offset zero to its end with kafka-python; return the records read."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                             max_poll_records=50_000, fetch_max_bytes=64 << 20, max_partition_fetch_bytes=16 << 20)
    tps = [TopicPartition(settings.topics.events, p) for p in consumer.partitions_for_topic(settings.topics.events)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends, total = consumer.end_offsets(tps), 0
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        records = [r for part in consumer.poll(timeout_ms=500).values() for r in part]
        total += len(records)
        on_batch(records)
    consumer.close()
    return total


def raw(store_kind: str, prefix: str) -> tuple[int, float]:
    """The raw path: read, unpack, build the same rows with plain dict look-ups, insert 50k at a time."""
    from projections import rows

    target = Target(settings_for(prefix, store_kind))
    pending: list[tuple] = []
    payload = rows.PAYLOAD_COLUMNS
    defaults = [rows.DEFAULTS[c] for c in payload]

    def flush() -> None:
        if pending:
            target.store.insert("events", rows.COLUMNS, [list(c) for c in zip(*pending)], columnar=True)
            pending.clear()

    def on_batch(records) -> None:
        for r in records:
            w = codec.unpack(r.value)
            data = w["data"]
            pending.append((w["id"], w["matter"], w["type"], w["v"], w["at"], w["producer"],
                            *[int(v) if isinstance(v, bool) else v for v in
                              (data.get(c, d) for c, d in zip(payload, defaults))], r.partition, r.offset))
        if len(pending) >= 50_000:
            flush()

    started = time.monotonic()
    n = read_all(target.settings, on_batch)
    flush()
    seconds = time.monotonic() - started
    target.close()
    return n, seconds


def project(store_kind: str, prefix: str) -> tuple[int, float]:
    """The live projector until it has written the whole log (its idle detection at the end of
    the log, about a second, is not its throughput and is left out)."""
    import resource
    import threading

    from projections.app import build_projector

    target = Target(settings_for(prefix, store_kind))
    size = log_size(target.settings)
    projector = build_projector(target.settings, target.store, log=lambda _: None, progress_seconds=3600)
    runner = threading.Thread(target=projector.run)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    runner.start()
    while projector.totals.written + projector.totals.deadletters < size and runner.is_alive():
        time.sleep(0.005)
    seconds = time.monotonic() - started
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{(used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime) / size * 1e6:.1f} us CPU per event")
    projector.stop()
    runner.join()
    projector.consumer.close()
    projector.producer.close()
    target.close()
    return projector.totals.events, seconds


def produce_at(prefix: str, rate: float, seconds: float) -> None:
    """Write events at ``rate`` per second for ``seconds`` seconds, in 50 ms ticks."""
    from kafka import KafkaProducer

    settings = settings_for(prefix)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    events = (e for n in range(10**9) for e in matter_events(n))
    started, sent = time.monotonic(), 0
    while (now := time.monotonic() - started) < seconds:
        for _ in range(int(now * rate) - sent):
            event = next(events)
            producer.send(settings.topics.events, key=event.matter_id.encode(), value=codec.encode(event))
            sent += 1
        time.sleep(0.05)
    producer.flush()
    print(f"sent: {sent}")


def live(store_kind: str, rate: str, seconds: str) -> tuple[int, float]:
    """The projector on a log written at ``rate`` events/s: its CPU time per event, in this
    process (chdb's work included; the server's own work is not)."""
    import resource
    import threading

    from deploy.topics import delete_topics, ensure_topics
    from projections.app import build_projector

    prefix = f"benchlive-{uuid.uuid4().hex[:6]}"
    target = Target(settings_for(prefix, store_kind))
    ensure_topics(target.settings)
    projector = build_projector(target.settings, target.store, log=lambda _: None, progress_seconds=3600)
    runner = threading.Thread(target=projector.run)
    runner.start()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    writer = subprocess.run([sys.executable, __file__, "produce-at", prefix, rate, seconds], cwd=ROOT,
                            capture_output=True, text=True)
    sent = int(writer.stdout.split()[-1])
    while projector.totals.written < sent and runner.is_alive():
        time.sleep(0.05)
    used = resource.getrusage(resource.RUSAGE_SELF)
    projector.stop()
    runner.join()
    projector.consumer.close()
    projector.producer.close()
    target.close()
    delete_topics(target.settings)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(f"{projector.totals.events} events, {projector.totals.batches} batches, "
          f"{cpu_seconds / projector.totals.events * 1e6:.1f} us CPU per event")
    return projector.totals.events, float(seconds)


def log_size(settings: Settings) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    tps = [TopicPartition(settings.topics.events, p) for p in consumer.partitions_for_topic(settings.topics.events)]
    ends, begins = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
    consumer.close()
    return sum(ends[tp] - begins[tp] for tp in tps)


def rebuild(store_kind: str, prefix: str) -> tuple[int, float]:
    from projections.rebuild import rebuild as run_rebuild

    target = Target(settings_for(prefix, store_kind))
    result = run_rebuild(target.settings, target.store, log=lambda _: None, force=True)
    target.close()
    return result.totals.events, result.seconds


def read(prefix: str) -> tuple[int, float]:
    started = time.monotonic()
    n = read_all(settings_for(prefix), lambda records: None)
    return n, time.monotonic() - started


def compare(runs: int, a: str, b: str) -> None:
    def rate(command: str) -> float:
        out = subprocess.run([sys.executable, __file__, *command.split()], capture_output=True, text=True, cwd=ROOT)
        line = [x for x in out.stdout.splitlines() if x.startswith("rate:")]
        if out.returncode or not line:
            raise SystemExit(f"{command} failed:\n{out.stdout}\n{out.stderr}")
        return float(line[-1].split()[1])

    pairs = [(rate(a), rate(b)) for _ in range(runs)]
    for x, y in pairs:
        print(f"  A {x:10,.0f}/s   B {y:10,.0f}/s   A/B {x / y:.2f}")
    print(f"median A {statistics.median(x for x, _ in pairs):,.0f}/s ({a}); "
          f"median B {statistics.median(y for _, y in pairs):,.0f}/s ({b}); "
          f"median A/B {statistics.median(x / y for x, y in pairs):.2f}")


def main(argv: list[str]) -> None:
    mode, args = argv[0], argv[1:]
    if mode == "fill":
        return fill(args[0], int(args[1]))
    if mode == "compare":
        return compare(int(args[0]), args[1], args[2])
    if mode == "produce-at":
        return produce_at(args[0], float(args[1]), float(args[2]))
    n, seconds = {"raw": raw, "project": project, "rebuild": rebuild, "read": read, "live": live}[mode](*args)
    print(f"{n} events in {seconds:.2f}s")
    print(f"rate: {n / seconds:.0f} events/s")


if __name__ == "__main__":
    main(sys.argv[1:])
