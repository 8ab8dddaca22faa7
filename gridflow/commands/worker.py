"""``gridflow worker``: run one worker (the partition processor, its timers, /metrics, /ready).

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
below override them for this process. A web port in use stops it at once (exit 1). The topics are created if missing (`gridflow topics`).
Metrics: http://127.0.0.1:<web-port>/metrics; readiness (every partition's states loaded):
/ready. Stop with Ctrl-C or SIGTERM: the batch in flight is written and committed first.
Exit codes: 70 (Kafka did not acknowledge writes for --kafka-timeout seconds) and 75 (stalled,
and a repair did not help): restart it; neither commits past the last written batch, so a
restart loses nothing. 71: too many records failed on an internal error (a bug): the circuit
breaker stopped the worker instead of dead-lettering the stream; fix before restarting."""


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
                        help="when records wait this many seconds with none handled, restart their fetches; if "
                             "that does not help, exit 75 for the supervisor to restart the worker; 0 disables")
    parser.add_argument("--scan-interval", type=float, help="seconds between SLA scans (GRIDFLOW_SCAN_INTERVAL_SECONDS)")
    parser.add_argument("--batch-size", type=int, default=2000,
                        help="intake records handled, written and acknowledged together")
    parser.add_argument("--kafka-timeout", type=float, default=120.0,
                        help="seconds unacknowledged writes are retried (a broker restart) before exiting 70")
    parser.add_argument("--grace", type=float, default=2.0,
                        help="wall clock: seconds after a deadline before the scanner proposes it")
    parser.add_argument("--commit-interval", type=float, default=1.0, help="seconds between offset commits")
    parser.add_argument("--session-timeout", type=float, default=10.0,
                        help="seconds before a silent worker's partitions move to another")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--fault", action="append", default=[], choices=["skip-commits", "pause-fetch"],
                        help=argparse.SUPPRESS)  # tests only: stalls for the watchdog to repair


def run(args: argparse.Namespace, settings: Settings) -> int:
    overrides = {"worker_web_port": args.web_port, "clock": args.clock, "worker_id": args.worker_id,
                 "org_path": args.org, "scan_interval_seconds": args.scan_interval}
    settings = settings.with_(**{k: v for k, v in overrides.items() if v is not None})
    settings.check()
    from gridflow.console import check_ports_free

    check_ports_free(settings.listen_host, [(settings.worker_web_port, "--web-port, GRIDFLOW_WORKER_WEB_PORT")])

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
    options = WorkerOptions(grace_seconds=args.grace, commit_interval=args.commit_interval,
                            session_timeout=args.session_timeout, loglevel=args.loglevel,
                            org_wait_seconds=args.org_wait, stall_seconds=args.stall_timeout,
                            batch_size=args.batch_size, kafka_timeout=args.kafka_timeout,
                            faults=frozenset(args.fault))
    try:
        worker = build(settings, options)
    except (StreamsError, EventError, OSError) as exc:
        print(f"gridflow worker: {exc}", file=sys.stderr)
        return 1
    runner = faust.Worker(worker.app, loglevel=args.loglevel)
    try:
        runner.execute_from_commandline()  # returns by SystemExit when the worker stops
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
