"""Suite ``timers``: how late an escalation is written after its deadline, on the wall clock.

N open matters are loaded first (deadlines an hour away: they only fill the timer heaps). Then
a sample of matters is reported "an accept deadline ago, plus a little", so their deadlines fall
due one after another over a short window while the worker runs. For every ``escalated`` event
that follows: the time its log record was written (the Kafka record's CreateTime, stamped by
the worker's producer) minus its ``occurred_at`` (the deadline). Compared with the scan interval
(GRIDFLOW_SCAN_INTERVAL_SECONDS) and the wall clock's grace period (``gridflow worker --grace``)."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import yaml

from bench.records import reports
from bench.report import Figures, say
from bench.stack import BenchError, fresh, publish, workdir
from bench.workers import Worker, drain
from events import codec
from events.orgtree import dump_csv
from events.policy import DEFAULT_PATH
from gridflow.city import generate
from gridflow.demo import Bar
from gridflow.settings import Settings
from streams.app import WorkerOptions

ACCEPT_MINUTES = 60
SIZES = {"smoke": dict(sizes=[(2_000, 1)], due=200, spread=4.0, lead=2.0),
         "full": dict(sizes=[(10_000, 3), (100_000, 3), (1_000_000, 1)], due=2_000, spread=30.0, lead=5.0)}


def policy_file(path: Path) -> Path:
    """The shipped categories and entry levels; one SLA rule: accept within the hour."""
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw.update(version="bench-timers-1", sla=[{"accept": f"{ACCEPT_MINUTES}m", "resolve": "30d"}])
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run(base: Settings, root: Path, smoke: bool) -> Figures:
    size = SIZES["smoke" if smoke else "full"]
    grace = WorkerOptions().grace_seconds
    scan = base.scan_interval_seconds
    out = Figures("timers", params={**size, "scan_interval_seconds": scan, "grace_seconds": grace,
                                    "accept_minutes": ACCEPT_MINUTES, "clock": "wall"})
    tree = generate(3000, seed=1)
    for n, rounds in size["sizes"]:
        runs = []
        for r in range(rounds):
            say(f"timers: {n:,} open matters, {size['due']:,} deadlines over {size['spread']:.0f}s, "
                f"round {r + 1}/{rounds}")
            here = workdir(root, f"timers-{n}")
            dump_csv(tree, here / "org.csv")
            policy = policy_file(here / "policy.yaml")
            with fresh(base, "timers", clock="wall", org_path=str(here / "org.csv"), policy_path=str(policy)) as s:
                delays = one(s, here, tree, n, size)
            runs.append(delays)
            say(f"timers: {n:,}: p50 {pct(delays, 50):.2f}s, p99 {pct(delays, 99):.2f}s, max {max(delays):.2f}s")
        k = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        goal = scan + 1.0
        for q in (50, 99):
            out.add(f"timers.{k}.p{q}", f"{k} open: deadline → escalated, p{q}", [pct(d, q) for d in runs], "s")
        out.add(f"timers.{k}.max", f"{k} open: deadline → escalated, max", [max(d) for d in runs], "s")
        out.ratio(f"timers.{k}.p99_vs_goal", f"{k} open: p99 / (scan interval + 1 s)",
                  [(pct(d, 99), goal) for d in runs])
        out.ratio(f"timers.{k}.p99_past_grace_vs_goal", f"{k} open: (p99 − grace) / (scan interval + 1 s)",
                  [(pct(d, 99) - grace, goal) for d in runs])
    out.notes.append(f"scan interval {scan:g}s, grace {grace:g}s: on the wall clock a timer fires no earlier than the "
                     "grace after its deadline; the rest of the delay is the wait for the scan that fires it")
    return out


def one(settings: Settings, here: Path, tree, n: int, size: dict) -> list[float]:
    now = int(time.time() * 1000)
    publish(settings, reports(tree, n, at=lambda i: now), total=n, what="reporting")
    worker = Worker(settings, here, "w1")
    try:
        drain(settings, [worker], what=f"taking in {n:,}")
        reader = LogReader(settings)
        due, spread_ms = size["due"], int(size["spread"] * 1000)
        first = int((time.time() + size["lead"]) * 1000)
        accept_ms = ACCEPT_MINUTES * 60_000
        publish(settings, reports(tree, due, seed=2, at=lambda i: first + i * spread_ms // due - accept_ms),
                total=due, what="due soon")
        timeout = size["lead"] + size["spread"] + settings.scan_interval_seconds + 60
        return reader.escalations(due, timeout=timeout, alive=worker.alive)
    finally:
        worker.stop()


class LogReader:
    """The event log from its current end on: the escalations, with the delay of each."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaConsumer, TopicPartition

        topic = settings.topics.events
        self.consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                      enable_auto_commit=False, client_id="gridflow-bench")
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        self.consumer.assign(tps)
        for tp, end in self.consumer.end_offsets(tps).items():
            self.consumer.seek(tp, end)

    def escalations(self, want: int, *, timeout: float, alive) -> list[float]:
        delays: list[float] = []
        bar, deadline = Bar(), time.monotonic() + timeout
        try:
            while len(delays) < want:
                alive()
                if time.monotonic() > deadline:
                    raise BenchError(f"only {len(delays)} of {want} escalations within {timeout:.0f}s")
                for records in self.consumer.poll(timeout_ms=200).values():
                    for r in records:
                        if b"escalated" not in r.value:
                            continue
                        event = codec.decode(r.value)
                        if event.TYPE == "escalated" and event.reason == "breach":
                            delays.append((r.timestamp - event.occurred_at) / 1000)
                bar.show("escalating", len(delays) / want, f"{len(delays):,}/{want:,} escalations")
            bar.show("escalating", 1.0, f"{len(delays):,} escalations", force=True)
            bar.end()
        finally:
            self.consumer.close()
        return delays


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]
