"""``gridflow worker``: run one Faust worker (intake agent, matter agent, SLA scanner, /metrics).

Several workers with the same GRIDFLOW_TOPIC_PREFIX form one consumer group and share the
partitions; give each its own --worker-id and --web-port."""
from __future__ import annotations

import argparse
import sys

from gridflow.settings import Settings

HELP = """\
Settings come from the environment (GRIDFLOW_KAFKA_BOOTSTRAP, GRIDFLOW_TOPIC_PREFIX,
GRIDFLOW_PARTITIONS, GRIDFLOW_CLOCK, GRIDFLOW_WORKER_ID, GRIDFLOW_WORKER_WEB_PORT,
GRIDFLOW_SCAN_INTERVAL_SECONDS, GRIDFLOW_POLICY_PATH, GRIDFLOW_ORG_PATH); the options
below override them for this process. The topics are created if missing (`gridflow topics`).
Metrics: http://127.0.0.1:<web-port>/metrics. Stop with Ctrl-C or SIGTERM.
Exit codes a supervisor should restart on: 70 (Kafka did not acknowledge a write) and 75 (the
consumer stalled); neither commits past the last record handled, so a restart loses nothing."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP
    parser.add_argument("--web-port", type=int,
                        help="web server port on GRIDFLOW_LISTEN_HOST, 127.0.0.1 by default (GRIDFLOW_WORKER_WEB_PORT)")
    parser.add_argument("--clock", choices=["wall", "event"], help="wall time, or watermarks (GRIDFLOW_CLOCK)")
    parser.add_argument("--worker-id", help="this worker's name; also its state directory (GRIDFLOW_WORKER_ID)")
    parser.add_argument("--org", help="org tree CSV or JSON lines (GRIDFLOW_ORG_PATH; default: the org topic)")
    parser.add_argument("--org-wait", type=float, default=120.0,
                        help="seconds to wait at start-up for org units on the org topic (no --org)")
    parser.add_argument("--stall-timeout", type=float, default=60.0,
                        help="exit with code 75 (for the supervisor to restart it) when records wait this many "
                             "seconds with none handled; 0 disables")
    parser.add_argument("--scan-interval", type=float, help="seconds between SLA scans (GRIDFLOW_SCAN_INTERVAL_SECONDS)")
    parser.add_argument("--store", choices=["rocksdb", "memory"], default="rocksdb",
                        help="table store: rocksdb (default, local state survives restarts) or memory")
    parser.add_argument("--data-dir", default=".gridflow/worker", help="where rocksdb keeps state (per worker id)")
    parser.add_argument("--grace", type=float, default=2.0,
                        help="wall clock: seconds after a deadline before the scanner proposes it")
    parser.add_argument("--commit-interval", type=float, default=1.0, help="seconds between offset commits")
    parser.add_argument("--session-timeout", type=float, default=10.0,
                        help="seconds before a silent worker's partitions move to another")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    overrides = {"worker_web_port": args.web_port, "clock": args.clock, "worker_id": args.worker_id,
                 "org_path": args.org, "scan_interval_seconds": args.scan_interval}
    settings = settings.with_(**{k: v for k, v in overrides.items() if v is not None})
    settings.check()

    import faust

    from deploy.topics import TopicsError, ensure_topics
    from events.errors import EventError
    from streams.app import WorkerOptions, build
    from streams.errors import StreamsError

    try:
        ensure_topics(settings)
    except TopicsError as exc:
        print(f"gridflow worker: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # kafka-python errors: no broker
        print(f"gridflow worker: cannot prepare topics on Kafka at {settings.kafka_bootstrap}: {exc!r} "
              "(is the stack up? `gridflow stack up`)", file=sys.stderr)
        return 1
    options = WorkerOptions(store=args.store, data_dir=args.data_dir, grace_seconds=args.grace,
                            commit_interval=args.commit_interval, session_timeout=args.session_timeout,
                            loglevel=args.loglevel, org_wait_seconds=args.org_wait,
                            stall_seconds=args.stall_timeout)
    try:
        runtime = build(settings, options)
    except (StreamsError, EventError, OSError) as exc:
        print(f"gridflow worker: {exc}", file=sys.stderr)
        return 1
    worker = faust.Worker(runtime.app, loglevel=args.loglevel)
    try:
        worker.execute_from_commandline()  # returns by SystemExit when the worker stops
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
