"""The main job: a simulated city's matters through the whole pipeline, then the statistics.

stack up -> topics -> its own database -> worker(s) in event time + projector -> the simulator
publishes N days (progress bar) -> wait until every record is processed and projected ->
stop the children -> the statistics, checked against the simulator's ground truth.

The demo never touches what is not its own: its topics are ``gridflow-demo-<run id>.*`` and its
database is ``DEMO_DATABASE`` (on the configured store), whatever ``GRIDFLOW_TOPIC_PREFIX`` and
``GRIDFLOW_CLICKHOUSE_DATABASE`` say. A database left by an earlier run is dropped only when
asked (``reset``, ``gridflow demo --reset``), and only if a demo filled it.
"""
from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

from gridflow.children import Child, free_port
from gridflow.console import Progress
from gridflow.settings import Settings


@dataclass(frozen=True)
class DemoOptions:
    days: int = 30
    grids: int = 1000
    seed: int = 1
    matters_per_day: int | None = None
    workers: int = 1
    drain_timeout: float = 600.0
    # simulated minutes between watermarks: each is copied to every partition twice over, and
    # the statistics do not depend on it (timers fire at their deadlines, whatever the clock)
    watermark_minutes: int = 60
    # delete the topics of earlier demo runs first (the command does; a test or a benchmark
    # sharing the broker with other runs does not)
    clean_old_runs: bool = True
    database: str = "gridflow_demo"  # DEMO_DATABASE; a test gives each run its own
    reset: bool = False  # drop the demo database an earlier run left (only a demo's database)
    # the three lists (三张清单): the city keeps a resources list; orders are dispatched and claimed
    resources: bool = True


@dataclass
class DemoResult:
    settings: Settings
    truth: object  # gridflow.simulate.GroundTruth
    report: object  # projections.stats.Report
    workdir: Path
    seconds: dict[str, float] = field(default_factory=dict)
    metrics: list[tuple[str, str, str]] = field(default_factory=list)  # (meaning, metric, value)
    metric_texts: dict[str, str | None] = field(default_factory=dict)  # child name -> its /metrics text
    deadletters: int = 0  # records on the run's dead-letter topic (the simulator sends no bad input)
    report_html: Path | None = None  # the charts (`gridflow report`) of the whole city
    lists: object = None  # projections.lists.Lists, when the city keeps a resources list


DEMO_DATABASE = "gridflow_demo"
DEMO_PREFIX = "gridflow-demo-"  # + run id: every run has topics of its own


class DemoFailed(Exception):
    pass


Bar = Progress  # the progress line every command shares (gridflow.console)


def demo_settings(settings: Settings, run_id: str, database: str = DEMO_DATABASE) -> Settings:
    prefix = f"{DEMO_PREFIX}{run_id}"
    return settings.with_(topic_prefix=prefix, projector_group=f"{prefix}-projector", clickhouse_database=database,
                          clock="event", worker_web_port=free_port(), projector_metrics_port=free_port())


def prepare_database(settings: Settings, reset: bool) -> str:
    """Make sure the demo's database is empty; return what was done. An earlier run's database is
    dropped only with ``reset``; a database a non-demo pipeline claimed, never."""
    from projections.owner import owner
    from projections.store import open_store

    database = settings.clickhouse_database
    with open_store(settings) as store:
        tables = store.scalar("SELECT count() FROM system.tables WHERE database = %(db)s", {"db": database})
        if not tables:
            return f"database {database} is new"
        claimed = owner(store)
        if claimed is not None and not claimed.startswith(DEMO_PREFIX):
            raise DemoFailed(f"database {database} holds the projection of topic prefix {claimed!r}, not a demo's: "
                             "the demo leaves it alone (drop it yourself if it really is the demo's)")
        if not reset:
            raise DemoFailed(f"database {database} holds an earlier demo run ({claimed or 'no prefix recorded'}); "
                             "`gridflow demo --reset` drops it (that database only) and runs again")
        store.execute(f"DROP DATABASE IF EXISTS {database}")
    return f"database {database} of the earlier run ({claimed or 'no prefix recorded'}) dropped"


def run_demo(settings: Settings, options: DemoOptions, say: Callable[[str], None] = print,
             bar: Bar | None = None) -> DemoResult:
    from deploy.stack import Stack
    from deploy.topics import ensure_topics
    from events.orgtree import dump_csv
    from gridflow.city import generate
    from gridflow.pipeline import PipelineWatch
    from gridflow.simulate import simulate
    from projections.pictures import write as write_report
    from projections.store import open_store
    from projections.stats import Scope, compute
    from streams.app import app_id

    bar = bar or Bar()
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    Stack(settings).ensure_up()
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"  # two runs in one second differ
    settings = demo_settings(settings, run_id, options.database)
    done = prepare_database(settings, options.reset)  # before anything else: a refusal leaves no trace
    if options.clean_old_runs:
        _delete_old_demo_topics(settings)
    workdir = settings.stack_path.parent / "demo" / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    ensure_topics(settings)
    tree = generate(options.grids, options.seed)
    org_csv = workdir / "org.csv"
    dump_csv(tree, org_csv)
    timings["setup"] = time.monotonic() - t0
    say(f"city: {len(tree):,} units, {sum(1 for u in tree if u.level.label == 'grid'):,} grids "
        f"(seed {options.seed}); topics {settings.topic_prefix}.*; store {settings.store}, {done}")

    children = [Child(f"worker-{i}", settings.with_(worker_id=f"demo-w{i}", worker_web_port=free_port()),
                      ["worker", "--org", str(org_csv), "--loglevel", "warning",
                       "--stall-timeout", "20"],
                      workdir / f"worker-{i}.log") for i in range(1, options.workers + 1)]
    children.append(Child("projector", settings, ["project", "--org", str(org_csv), "--progress-seconds", "5"],
                          workdir / "projector.log"))
    watch = None
    try:
        for child in children:
            child.start()
        t1 = time.monotonic()

        def progress(p) -> None:
            _check_alive(children)
            done = min(1.0, p.day / p.days) if p.days else 1.0
            bar.show("simulating", done, f"day {min(p.day, p.days):4.1f}/{p.days}  "
                     f"{p.matters:,} matters  {p.events:,} events published")

        truth = simulate(settings, tree, days=options.days, seed=options.seed,
                         matters_per_day=options.matters_per_day, progress=progress,
                         truth_path=workdir / "truth.jsonl", publish_org=True, run_id=f"d{options.seed}",
                         watermark_every=timedelta(minutes=options.watermark_minutes),
                         resources=options.resources, resources_known=lambda n: _workers_know(children, n))
        bar.show("simulating", 1.0, f"{len(truth.matters):,} matters published", force=True)
        bar.end()
        timings["publish"] = time.monotonic() - t1

        watch = PipelineWatch(settings, worker_group=app_id(settings), projector_group=settings.projector_group)
        _drain(watch, children, bar, options.drain_timeout)
        timings["drain"] = time.monotonic() - t1 - timings["publish"]
        metric_texts, metrics = _snapshot(children, workdir, settings)
        deadletters = watch.records(settings.topics.deadletter)
    finally:
        if watch is not None:
            watch.close()
        for child in reversed(children):  # projector first: it commits what it has
            child.stop()
    store = open_store(settings)
    try:
        report = compute(store, Scope())
        lists = _lists(store) if options.resources else None
        write_report(store, workdir / "report.html")
    finally:
        store.close()
    timings["total"] = time.monotonic() - t0
    return DemoResult(settings, truth, report, workdir, timings, metrics, metric_texts, deadletters,
                      report_html=workdir / "report.html", lists=lists)


def _workers_know(children: list[Child], count: int, timeout: float = 120.0) -> None:
    """Until every worker follows ``count`` resources (its gridflow_worker_resources): matters
    decided before would be gaps the ground truth does not know."""
    from gridflow import demo_metrics

    deadline = time.monotonic() + timeout
    workers = [c for c in children if c.name.startswith("worker")]
    while True:
        _check_alive(children)
        known = [demo_metrics.total(demo_metrics.samples(demo_metrics.scrape(c.settings.worker_web_port) or ""),
                                    "gridflow_worker_resources") for c in workers]
        if all(k >= count for k in known):
            return
        if time.monotonic() > deadline:
            raise DemoFailed(f"the workers follow {known} of {count} resources after {timeout:.0f}s")
        time.sleep(0.2)


def _lists(store):
    """The three lists' figures of the whole city (projections/lists.py)."""
    from projections import lists
    from projections.stats import Scope

    return lists.compute(store, Scope(), limit=10_000)  # every unit and resource: the check adds them up


def _snapshot(children: list[Child], workdir: Path,
              settings: Settings) -> tuple[dict[str, str | None], list[tuple[str, str, str]]]:
    """Scrape every worker and the projector while they still run; keep the texts."""
    from gridflow import demo_metrics

    ports = {c.name: (c.settings.projector_metrics_port if c.name == "projector" else c.settings.worker_web_port)
             for c in children}
    texts = {name: demo_metrics.scrape(port) for name, port in ports.items()}
    for name, text in texts.items():
        demo_metrics.save(workdir, name, text)
    workers = [text for name, text in texts.items() if name.startswith("worker")]
    return texts, demo_metrics.summary(workers, texts["projector"], events_topic=settings.topics.events)


def _check_alive(children: list[Child]) -> None:
    from streams.errors import EXIT_STALLED

    for child in children:
        if child.proc is not None and child.proc.poll() == EXIT_STALLED:
            child.start()  # as a supervisor would: a stalled worker committed nothing it had not handled
            continue
        if not child.alive():
            raise DemoFailed(f"{child.name} exited with code {child.proc.returncode}; "
                             f"its log ({child.log_path}):\n{child.tail()}")


def _drain(watch, children: list[Child], bar: Bar, timeout: float) -> None:
    """Wait until the workers and the projector have committed everything (twice in a row,
    with the event log no longer growing)."""
    deadline = time.monotonic() + timeout
    previous = None
    peak = 1
    while True:
        _check_alive(children)
        backlog = watch.backlog()
        peak = max(peak, backlog.worker + backlog.projector)
        bar.show("processing", 1 - (backlog.worker + backlog.projector) / peak,
                 f"worker backlog {backlog.worker:,}  projector backlog {backlog.projector:,}  "
                 f"event log {backlog.log_size:,}")
        if backlog.done and previous is not None and previous.done and previous.log_size == backlog.log_size:
            bar.show("processing", 1.0, f"event log {backlog.log_size:,} events, all projected", force=True)
            bar.end()
            return
        if time.monotonic() > deadline:
            bar.end()
            logs = "\n".join(f"--- {c.name} ({c.log_path}):\n{c.tail(15)}" for c in children)
            raise DemoFailed(f"the pipeline did not drain within {timeout:.0f}s: {backlog}\n{logs}")
        previous = backlog
        time.sleep(0.5)


def _delete_old_demo_topics(settings: Settings) -> None:
    """Topics of earlier demo runs (theirs and Faust's internal ones): each run starts clean
    and leaves only its own behind for inspection."""
    from deploy.topics import admin_client

    admin = admin_client(settings)
    try:
        doomed = [n for n in admin.list_topics() if n.startswith(DEMO_PREFIX) and not n.startswith(settings.topic_prefix)]
        if doomed:
            admin.delete_topics(doomed, raise_errors=False)
    finally:
        admin.close()
