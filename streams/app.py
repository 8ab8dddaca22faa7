"""The worker's composition root: one Faust app built from one ``Settings``.

    worker = build(settings, WorkerOptions())
    worker.app        # faust.App: web server (/metrics, /ready), the watchdog timer, the processor
    worker.parts      # what is shared, frozen: rules of the state machine, topic names, tuning

Faust hosts the worker (its lifecycle, signals, web server and timers); the records go through
``streams.processor``, which reads and writes Kafka with aiokafka (the client Faust itself is
built on) in batches, and keeps the matter states itself in a compacted topic. Why not Faust's
agents and tables: docs/streams.md, "Why batches and not Faust's agents".

The consumer group is ``<prefix>-streams``: test runs and deployments with different prefixes
never share state.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import faust
import mode
from faust.app.base import BootStrategy

from events import policy as policy_mod
from events.calendar import Calendar
from events.orgtree import OrgTree
from events.resources import Directory
from events.state import Context
from gridflow.settings import Settings
from streams import metrics
from streams.errors import EXIT_BUG, EXIT_LOG_WRITE_FAILED, CircuitOpen, LogWriteError, OrgTopicError
from streams.orgsource import load_org_records, load_org_tree
from streams.partition import WALL, Rules
from streams.processor import Names, Processor, Tuning
from streams.resourcesource import ResourceFollower
from streams.watchdog import Watchdog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerOptions:
    grace_seconds: float = 2.0  # wall clock: a timer fires this long after it is due
    commit_interval: float = 1.0
    session_timeout: float = 10.0  # how long a dead worker keeps its partitions
    loglevel: str = "info"
    org_wait_seconds: float = 0.0  # how long to wait for org units on the topic at start-up
    stall_seconds: float = 60.0  # the watchdog's patience; 0: no watchdog
    batch_size: int = 2000
    kafka_timeout: float = 120.0  # unacknowledged writes are retried this long, then exit 70
    faults: frozenset[str] = frozenset()  # test-only fault injection (streams.processor.Tuning)


def app_id(settings: Settings) -> str:
    """The Faust app id and the workers' consumer group."""
    return f"{settings.topic_prefix}-streams"


def state_dir(settings: Settings) -> Path:
    """The worker's directory: ``worker/<worker id>`` beside the stack dir (``.gridflow/worker/
    worker-1`` by default; ``/srv/gf/worker/worker-1`` with ``GRIDFLOW_STACK_DIR=/srv/gf/stack``),
    as the demo's and the simulator's folders are."""
    return settings.stack_path.parent / "worker" / settings.worker_id


@dataclass(frozen=True)
class Parts:
    """Everything a worker shares, built once."""

    settings: Settings
    options: WorkerOptions
    rules: Rules
    names: Names
    tuning: Tuning
    clients: Callable[[], tuple[object, object]]  # -> (consumer, producer), inside the event loop
    org_start: tuple[dict, dict] | None = None  # (records, end offsets) of the org topic: follow it


@dataclass
class Worker:
    parts: Parts
    app: faust.App
    processor: Processor | None = None  # built when the app starts (aiokafka wants a running loop)
    watchdog: Watchdog | None = None
    exit: Callable[[int], None] = field(default=os._exit)


class _Boot(BootStrategy):
    # The processor owns the worker's Kafka clients; Faust's own consumer and producer stay off
    # (no group of Faust's own, no topics of Faust's own).
    enable_kafka_consumer = False
    enable_kafka_producer = False


class _App(faust.App):
    BootStrategy = _Boot


def kafka_clients(settings: Settings, options: WorkerOptions) -> Callable[[], tuple[object, object]]:
    def make():
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

        session_ms = int(options.session_timeout * 1000)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=app_id(settings), client_id=settings.worker_id,
            enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(1000, session_ms // 3), rebalance_timeout_ms=max(60_000, 3 * session_ms),
            max_poll_interval_ms=600_000, max_partition_fetch_bytes=4 * 1024 * 1024)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, client_id=settings.worker_id, acks="all",
            enable_idempotence=True, linger_ms=5, max_batch_size=512 * 1024, request_timeout_ms=30_000)
        return consumer, producer

    return make


def build(settings: Settings, options: WorkerOptions | None = None, *, tree: OrgTree | None = None,
          clients: Callable[[], tuple[object, object]] | None = None) -> Worker:
    options = options or WorkerOptions()
    settings.check()
    org_start = None
    if tree is None and settings.org_path:
        tree = load_org_tree(settings)
    elif tree is None:  # from the org topic, followed while the worker runs
        tree, records, ends = load_org_records(settings, wait=options.org_wait_seconds)
        org_start = (records, ends)
        metrics.ORG_UNITS.set(len(tree))
    policy = policy_mod.load(settings.policy_path or None)
    ctx = Context(policy, tree, Calendar(on_fallback=_calendar_fallback), producer="gridflow-streams",
                  future_tolerance_ms=policy.future_tolerance.for_clock(settings.clock),
                  resources=Directory())  # filled from the resources topics at start (ResourceFollower)
    t = settings.topics
    rules = Rules(ctx, log_topic=t.events, partitions=settings.partitions, clock=settings.clock,
                  grace_ms=int(options.grace_seconds * 1000) if settings.clock == WALL else 0)
    names = Names(intake=t.intake, events=t.events, deadletter=t.deadletter, state=t.state, group=app_id(settings),
                  resources=t.resources, holds=t.holds)
    tuning = Tuning(batch_size=options.batch_size, commit_interval=options.commit_interval,
                    scan_interval=settings.scan_interval_seconds, kafka_timeout=options.kafka_timeout,
                    faults=options.faults)
    parts = Parts(settings, options, rules, names, tuning, clients or kafka_clients(settings, options), org_start)
    app = _App(
        app_id(settings),
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=str(state_dir(settings)),  # Faust wants one; it stays empty
        web_enabled=True,
        web_bind=settings.listen_host,  # 127.0.0.1 by default; containers set 0.0.0.0
        web_host="127.0.0.1",
        web_port=settings.worker_web_port,
        web_in_thread=False,
    )
    worker = Worker(parts, app)
    os.makedirs(app.conf.datadir, exist_ok=True)  # Faust makes only the last level
    _register(worker)
    log.info("worker %s: group %s, clock %s, %d partitions, policy %s, %d org units", settings.worker_id,
             app_id(settings), settings.clock, settings.partitions, policy.version, len(tree))
    return worker


def _register(worker: Worker) -> None:
    app, parts = worker.app, worker.parts

    class ProcessorService(mode.Service):
        """Starts the Kafka clients and the processor's loop; stops them in order."""

        _task: asyncio.Task | None = None

        async def on_start(self) -> None:
            if parts.options.loglevel != "debug":
                logging.getLogger("aiokafka").setLevel(logging.INFO)  # no debug record per send
            consumer, producer = parts.clients()
            await producer.start()
            await consumer.start()
            org = await _org_follower(parts) if parts.org_start is not None else None
            # The resources list: read from offset zero and followed; every recovery awaits it.
            follower = ResourceFollower(parts.settings.kafka_bootstrap, parts.names.resources, parts.names.holds,
                                        parts.rules.ctx.resources, client_id=f"{parts.settings.worker_id}-resources")
            await follower.start()
            worker.processor = Processor(parts.rules, parts.names, consumer, producer,
                                         bootstrap=parts.settings.kafka_bootstrap,
                                         worker_id=parts.settings.worker_id, tuning=parts.tuning, org=org)
            worker.processor.resources = follower
            if parts.options.stall_seconds > 0:
                worker.watchdog = Watchdog(worker.processor, parts.options.stall_seconds, exit=worker.exit)
            worker.processor.subscribe()
            self._task = asyncio.ensure_future(self._run())

        async def _run(self) -> None:
            try:
                await worker.processor.run()
            except (LogWriteError, OrgTopicError) as exc:
                _fatal(worker, EXIT_LOG_WRITE_FAILED, f"{exc}; exiting without committing: the records are "
                                                      "processed again after a restart")
            except CircuitOpen as exc:
                _fatal(worker, EXIT_BUG, str(exc))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop itself failed: nothing unwritten is committed
                log.exception("the processor's loop failed")
                _fatal(worker, EXIT_LOG_WRITE_FAILED, f"the processor's loop failed: {exc!r}")

        async def on_stop(self) -> None:
            proc = worker.processor
            if proc is None:
                return
            proc.stop()
            if self._task is not None:
                try:
                    await asyncio.wait_for(self._task, timeout=30)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    log.warning("the processor did not finish its last batch in 30s")
            await proc.consumer.stop()  # leaves the group: the partitions move now, not after a timeout
            await proc.producer.stop()
            if proc.org is not None:
                await proc.org.consumer.stop()
            if proc.resources is not None:
                await proc.resources.stop()

    app.service(ProcessorService)

    if parts.options.stall_seconds > 0:
        @app.timer(interval=max(1.0, parts.options.stall_seconds / 4), name="watchdog")
        async def watchdog():
            if worker.watchdog is not None:
                await worker.watchdog.check()

    @app.page("/metrics")
    async def metrics_page(web, request):
        body, content_type = metrics.exposition()
        # aiohttp refuses a charset inside content_type, so the full header goes in as is
        return web.bytes(body, headers={"Content-Type": content_type})

    @app.page("/ready")
    async def ready_page(web, request):
        """200 once every assigned partition's states are loaded; 503 before."""
        proc = worker.processor
        ready = proc is not None and proc.is_ready
        body = {"ready": ready, "partitions": sorted(proc.ready) if proc else [],
                "recovering": sorted(proc.recovering) if proc else []}
        return web.json(body, status=200 if ready else 503)


async def _org_follower(parts: Parts):
    from aiokafka import AIOKafkaConsumer

    from streams.orgfollow import OrgFollower

    settings = parts.settings
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                                client_id=f"{settings.worker_id}-org", enable_auto_commit=False)
    await consumer.start()
    records, ends = parts.org_start
    follower = OrgFollower(consumer, settings.topics.org, records, ends, timeout=parts.options.kafka_timeout)
    await follower.start()
    return follower


def _fatal(worker: Worker, code: int, message: str) -> None:
    log.critical("%s (exit %d)", message, code)
    logging.shutdown()
    worker.exit(code)


def _calendar_fallback(day: date) -> None:
    metrics.CALENDAR_FALLBACKS.inc()
    log.warning("calendar: %s is beyond the official holiday data; assuming Monday-Friday working days", day)
