"""Suite ``worker``: throughput. A simulated city's intake records are published to a fresh prefix,
then one worker (event clock) drains them: from its start to the group's committed offsets
reaching the end offsets, seen from outside. Beside it, in the same rounds and on the very same
records, the pass-through baselines (bench/passthrough.py): consume → msgpack decode → produce,
and consume → produce. Optionally two workers sharing four partitions."""
from __future__ import annotations

from pathlib import Path

from bench.baselines import passthrough
from bench.records import city_stream
from bench.report import Figures, say
from bench.stack import fresh, publish, workdir
from bench.workers import Worker, drain, metric
from events.orgtree import dump_csv
from gridflow.city import generate
from gridflow.settings import Settings

SIZES = {"smoke": dict(records=3_000, rounds=1, grids=300, two=False),
         "full": dict(records=200_000, rounds=3, grids=3_000, two=True)}


def run(base: Settings, root: Path, smoke: bool) -> Figures:
    size = SIZES["smoke" if smoke else "full"]
    out = Figures("worker", params={**size, "partitions": 4, "clock": "event"})
    tree = generate(size["grids"], seed=1)
    say(f"worker: simulating {size['records']:,} intake records of a city of {size['grids']:,} grids")
    records = city_stream(tree, size["records"], partitions=4)
    out.params["watermark_copies"] = sum(1 for _, _, partition in records if partition is not None)
    out.params["upstream_events"] = len(records) - out.params["watermark_copies"]
    kinds = ["worker", "raw_decode", "raw_plain"] + (["workers2"] if size["two"] else [])
    runs: dict[str, list[dict]] = {k: [] for k in kinds}
    for r in range(size["rounds"]):
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]  # a different kind goes first each round
        say(f"worker: round {r + 1}/{size['rounds']}: {', '.join(order)}")
        for kind in order:
            here = workdir(root, f"worker-{kind}")
            org = here / "org.csv"
            dump_csv(tree, org)
            with fresh(base, "worker", scratch=["out"], partitions=4, clock="event", org_path=str(org)) as s:
                publish(s, records, total=len(records), what="publishing")
                got = measure_workers(s, here, 2 if kind == "workers2" else 1) if kind.startswith("worker") \
                    else passthrough(s, here, decode=kind == "raw_decode")
            runs[kind].append(got)
            say(f"worker: {kind}: {got['records']:,} records in {got['seconds']:.1f}s = {got['rate']:,.0f}/s"
                + (f", processing {got['processing_rate']:,.0f}/s" if got.get("processing_rate") else ""))
    _figures(out, runs)
    return out


def measure_workers(settings: Settings, here: Path, count: int) -> dict:
    workers = [Worker(settings, here, f"w{i + 1}") for i in range(count)]
    try:
        got = drain(settings, workers, what=f"{count} worker{'s' if count > 1 else ''}")
        found, memory = workers[0].metrics(), workers[0].memory()
    finally:
        for w in workers:
            w.stop()
    return {**got, "rss": memory.get("VmRSS", 0),
            "log_events": metric(found, "gridflow_events_out_total") if count == 1 else None}


def _figures(out: Figures, runs: dict[str, list[dict]]) -> None:
    def values(kind: str, key: str) -> list[float]:
        return [r[key] for r in runs.get(kind, []) if r.get(key)]

    def pairs(a: str, b: str, key: str = "rate") -> list[tuple[float, float]]:
        return [(x[key], y[key]) for x, y in zip(runs.get(a, []), runs.get(b, [])) if x.get(key) and y.get(key)]

    out.add("worker.rate", "1 worker: start → all committed", values("worker", "rate"), "records/s")
    out.add("raw_decode.rate", "raw pass-through + decode: start → all committed", values("raw_decode", "rate"),
            "records/s")
    out.add("raw_plain.rate", "raw pass-through: start → all committed", values("raw_plain", "rate"), "records/s")
    out.ratio("worker.vs_raw_decode", "1 worker / raw + decode (start → committed)", pairs("worker", "raw_decode"))
    out.ratio("worker.vs_raw_plain", "1 worker / raw (start → committed)", pairs("worker", "raw_plain"))
    if values("worker", "processing_rate"):
        out.add("worker.processing_rate", "1 worker: first → last batch", values("worker", "processing_rate"),
                "records/s", "polled from /metrics every 0.25 s")
    if values("raw_decode", "processing_rate"):
        out.add("raw_decode.processing_rate", "raw + decode: first → last batch",
                values("raw_decode", "processing_rate"), "records/s")
        out.ratio("worker.processing_vs_raw_decode", "1 worker / raw + decode (first → last batch)",
                  pairs("worker", "raw_decode", "processing_rate"))
    if values("worker", "busy_rate"):
        out.add("worker.busy_rate", "1 worker: records / time inside batches", values("worker", "busy_rate"),
                "records/s", "gridflow_worker_batch_seconds_sum: decide, write, await acks")
    out.add("worker.rss_mb", "1 worker: RSS when drained", [r["rss"] / 2**20 for r in runs["worker"]], "MB")
    if values("worker", "log_events"):
        out.add("worker.log_events", "events written to the log per run", values("worker", "log_events"), "events")
    if runs.get("workers2"):
        out.add("workers2.rate", "2 workers, 4 partitions: start → all committed", values("workers2", "rate"),
                "records/s")
        out.ratio("workers2.vs_one", "2 workers / 1 worker", pairs("workers2", "worker"))
