"""The worker's composition root: one Faust app built from one ``Settings``.

    runtime = build(settings, WorkerOptions(store="memory"))
    runtime.app  # a faust.App with the intake and matter agents, the scanner, /metrics

The app id (and so the consumer group and the table changelog topics) derives from the
topic prefix, so test runs and deployments with different prefixes never share state.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import faust

from events import policy as policy_mod
from events.calendar import Calendar
from events.orgtree import OrgTree
from events.state import Context
from gridflow.settings import Settings
from streams import intake, matters, metrics, scanner, watchdog
from streams.clock import WALL, StreamClock
from streams.deadlines import DeadlineIndex
from streams.durable import DurableTable
from streams.orgsource import load_org_tree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerOptions:
    store: str = "rocksdb"  # rocksdb (production: local state survives restarts) | memory
    data_dir: str = ".gridflow/worker"  # rocksdb files live in <data_dir>/<worker_id>
    grace_seconds: float = 2.0  # wall clock: a deadline is proposed this long after it passed
    commit_interval: float = 1.0
    session_timeout: float = 10.0  # how long a dead worker keeps its partitions
    loglevel: str = "info"
    org_wait_seconds: float = 0.0  # how long to wait for org units on the topic at start-up
    stall_seconds: float = 60.0  # exit (75) when records wait this long with none handled; 0: never


def app_id(settings: Settings) -> str:
    return f"{settings.topic_prefix}-streams"


@dataclass
class Runtime:
    """Everything the agents and the scanner share inside one worker process."""

    settings: Settings
    options: WorkerOptions
    app: faust.App
    ctx: Context
    clock: StreamClock
    index: DeadlineIndex = field(default_factory=DeadlineIndex)
    open_matters: dict[int, dict[str, int]] = field(default_factory=dict)  # partition -> level -> count
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> next offset
    newest_event_at: int = 0
    last_progress: float = field(default_factory=time.monotonic)  # when a record was last handled
    index_ready: bool = False
    topics: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)

    @property
    def partitions(self) -> int:
        return self.settings.partitions


def build(settings: Settings, options: WorkerOptions | None = None, *, tree: OrgTree | None = None) -> Runtime:
    options = options or WorkerOptions()
    settings.check()
    tree = tree if tree is not None else load_org_tree(settings, wait=options.org_wait_seconds)
    policy = policy_mod.load(settings.policy_path or None)
    calendar = Calendar(on_fallback=_calendar_fallback)
    datadir = Path(options.data_dir) / settings.worker_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id(settings),
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://" if options.store == "memory" else "rocksdb://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",  # never exactly_once (DESIGN.md: open Faust bugs)
        broker_commit_interval=options.commit_interval,
        broker_session_timeout=options.session_timeout,
        broker_heartbeat_interval=max(1.0, options.session_timeout / 3),
        broker_rebalance_timeout=max(30.0, options.session_timeout * 3),
        producer_acks=-1,
        web_enabled=True,
        web_bind=settings.listen_host,  # 127.0.0.1 by default; containers set 0.0.0.0
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
        web_in_thread=False,
        # No standby replicas: with two workers, a standby promoted to active once came up without
        # its latest states (the demo lost 4% of its matters); a new owner replays the changelog.
        table_standby_replicas=0,
        Table=DurableTable,  # the matter agent awaits its state's changelog record (streams/durable.py)
    )
    clock = StreamClock(settings.clock, sources=settings.partitions,
                        grace_ms=int(options.grace_seconds * 1000) if settings.clock == WALL else 0)
    rt = Runtime(settings, options, app, Context(policy, tree, calendar, producer="gridflow-streams"), clock)
    t = settings.topics

    def topic(name: str):
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=settings.partitions)

    rt.topics = {"intake": topic(t.intake), "matters": topic(t.matters), "events": topic(t.events),
                 "deadletter": topic(t.deadletter)}

    def table(name: str, **kw):
        return app.Table(name, partitions=settings.partitions, key_type=bytes, value_type=bytes,
                         default=None, **kw)

    rt.tables = {
        "seen": table("intake-seen", help="recent event ids per matter: the intake's dedup"),
        "clocks": table("clocks", help="per partition: the newest watermark from each intake partition"),
    }
    rt.tables["matters"] = table("matters", help="matter state by matter id",
                                 on_recover=lambda: scanner.rebuild(rt))

    intake.register(rt)
    matters.register(rt)
    scanner.register(rt)
    watchdog.register(rt)

    @app.page("/metrics")
    async def metrics_page(web, request):
        body, content_type = metrics.exposition()
        # aiohttp refuses a charset inside content_type, so the full header goes in as is
        return web.bytes(body, headers={"Content-Type": content_type})

    log.info("worker %s: app %s, clock %s, store %s, %d partitions, policy %s, %d org units",
             settings.worker_id, app.conf.id, settings.clock, options.store, settings.partitions,
             policy.version, len(tree))
    return rt


def _calendar_fallback(day: date) -> None:
    metrics.CALENDAR_FALLBACKS.inc()
    log.warning("calendar: %s is beyond the official holiday data; assuming Monday-Friday working days", day)
