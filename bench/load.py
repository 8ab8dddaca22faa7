"""Suite ``load``: open matters. N ``reported`` events (wall clock, reported now, priorities low
and normal: every deadline hours away) that nobody accepts:

- take-in: one worker from its start until it committed all N (matters/s), against the raw
  pass-through + decode of the same records, in the same round;
- memory: the worker's RSS then, minus an idle worker's RSS on the same prefix before the
  reports came (bytes per open matter), against the size of a matter's state record;
- restart: the worker stopped, a new one started, until /ready (its states read back from the
  state topic), against a raw read of the same state topic."""
from __future__ import annotations

import time
from pathlib import Path

from bench.baselines import passthrough, read_topic
from bench.records import reports
from bench.report import Figures, say
from bench.stack import fresh, publish, workdir
from bench.workers import Worker, drain, metric
from events.orgtree import dump_csv
from gridflow.city import generate
from gridflow.settings import Settings

SIZES = {"smoke": [(2_000, 1)], "full": [(10_000, 3), (100_000, 3), (1_000_000, 1)]}  # (open matters, rounds)
MB = 2**20


def run(base: Settings, root: Path, smoke: bool) -> Figures:
    sizes = SIZES["smoke" if smoke else "full"]
    out = Figures("load", params={"sizes": [n for n, _ in sizes], "rounds": {n: r for n, r in sizes},
                                  "clock": "wall", "partitions": base.partitions, "grids": 3000})
    tree = generate(3000, seed=1)
    for n, rounds in sizes:
        runs = []
        for r in range(rounds):
            say(f"load: {n:,} open matters, round {r + 1}/{rounds}")
            here = workdir(root, f"load-{n}")
            dump_csv(tree, here / "org.csv")
            with fresh(base, "load", scratch=["out"], clock="wall", org_path=str(here / "org.csv")) as s:
                runs.append(one(s, here, tree, n, raw_first=r % 2 == 1))
        _figures(out, n, runs)
    if not smoke:
        out.notes.append("1M open matters: one round (the take-in and the restart each take minutes here)")
    return out


def one(settings: Settings, here: Path, tree, n: int, *, raw_first: bool) -> dict:
    idle = Worker(settings, here, "idle").start()
    try:
        idle.wait_ready(timeout=120)
        time.sleep(1.0)  # past start-up's allocations
        rss_idle = idle.memory()["VmRSS"]
    finally:
        idle.stop()
    now = int(time.time() * 1000)
    publish(settings, reports(tree, n, at=lambda i: now), total=n, what="reporting")
    got: dict = {"matters": n, "rss_idle": rss_idle}
    if raw_first:
        got["raw"] = passthrough(settings, here, decode=True)
    worker = Worker(settings, here, "w1")
    try:
        got["take_in"] = drain(settings, [worker], what=f"taking in {n:,}")
        memory = worker.memory()
        got["rss"], got["hwm"] = memory["VmRSS"], memory["VmHWM"]
        got["open"] = metric(worker.metrics(), "gridflow_open_matters")
    finally:
        worker.stop()  # SIGTERM: it commits and leaves the group, so the next one is assigned at once
    if not raw_first:
        got["raw"] = passthrough(settings, here, decode=True)
    again = Worker(settings, here, "w2")
    try:
        again.start()
        ready = again.wait_ready(timeout=3600)
        got["recovery_seconds"] = ready - again.started
        got["recovery_inside"] = metric(again.metrics(), "gridflow_worker_recovery_seconds_sum")
        time.sleep(1.0)
        got["rss_recovered"] = again.memory()["VmRSS"]
    finally:
        again.stop()
    got["state"] = read_topic(settings, here, settings.topics.state)
    say(f"load: {n:,}: taken in at {n / got['take_in']['seconds']:,.0f}/s, RSS {got['rss'] / MB:,.0f} MB "
        f"(idle {rss_idle / MB:,.0f} MB), ready again after {got['recovery_seconds']:.1f}s")
    return got


def _figures(out: Figures, n: int, runs: list[dict]) -> None:
    k = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
    take = [r["take_in"]["rate"] for r in runs]
    out.add(f"load.{k}.take_in_rate", f"{k} open: take-in, start → committed", take, "matters/s")
    out.ratio(f"load.{k}.take_in_vs_raw", f"{k} open: take-in / raw + decode",
              [(r["take_in"]["rate"], r["raw"]["rate"]) for r in runs])
    out.add(f"load.{k}.rss_mb", f"{k} open: worker RSS", [r["rss"] / MB for r in runs], "MB")
    out.add(f"load.{k}.hwm_mb", f"{k} open: worker peak RSS (VmHWM)", [r["hwm"] / MB for r in runs], "MB")
    out.add(f"load.{k}.rss_idle_mb", f"{k} open: idle worker RSS (baseline)", [r["rss_idle"] / MB for r in runs],
            "MB")
    per = [(r["rss"] - r["rss_idle"]) / n for r in runs]
    out.add(f"load.{k}.bytes_per_matter", f"{k} open: RSS above idle per matter", per, "bytes")
    state = [r["state"]["value_bytes"] / max(1, r["state"]["keys"]) for r in runs]
    out.add(f"load.{k}.state_bytes", f"{k} open: state record per matter (msgpack)", state, "bytes")
    out.ratio(f"load.{k}.memory_vs_state", f"{k} open: RSS per matter / state record", list(zip(per, state)))
    out.add(f"load.{k}.recovery_rate", f"{k} open: restart, start → /ready",
            [n / r["recovery_seconds"] for r in runs], "matters/s")
    out.ratio(f"load.{k}.recovery_vs_raw", f"{k} open: restart / raw read of the state topic",
              [(n / r["recovery_seconds"], r["state"]["rate"]) for r in runs])
    out.add(f"load.{k}.rss_recovered_mb", f"{k} open: RSS after the restart", [r["rss_recovered"] / MB for r in runs],
            "MB")
