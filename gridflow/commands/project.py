"""gridflow project: the projector, event log -> ClickHouse, until stopped (SIGTERM/Ctrl-C).

Exit codes: 0 stopped; 1 Kafka unreachable at start, or the metrics port taken; 2 the database
holds another topic prefix's projection (fix GRIDFLOW_CLICKHOUSE_DATABASE: a restart repeats
it); 65 (EX_DATAERR) the dead-letter circuit breaker tripped: most recent records failed
unexpectedly, nothing past the last good batch was committed, and a restart trips again until
the cause is fixed; 69 (EX_UNAVAILABLE) ClickHouse did not answer for --clickhouse-wait
seconds at start
(docs/operations.md)."""
from __future__ import annotations

import argparse
import signal
import sys
import time

from gridflow.console import CliError, check_ports_free, port_error

EXIT_BREAKER = 65
EXIT_CONFIG = 2  # the settings cannot work (the database projects another prefix): a restart repeats it
EXIT_NO_CLICKHOUSE = 69  # EX_UNAVAILABLE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", metavar="FILE", help="load an org tree file into the org dimension first")
    parser.add_argument("--progress-seconds", type=float, default=10.0, help="print a progress line this often")
    parser.add_argument("--until-idle", action="store_true",
                        help="exit once the log is fully projected (for scripts and demos)")
    parser.add_argument("--no-metrics", action="store_true", help="do not serve /metrics")
    parser.add_argument("--metrics-host", default="127.0.0.1",
                        help="address /metrics listens on (0.0.0.0 inside a container, for Prometheus)")
    parser.add_argument("--no-query-endpoint", action="store_true",
                        help="on chdb: do not answer gridflow stats/sql queries while projecting")
    parser.add_argument("--clickhouse-wait", type=float, default=120.0, metavar="SECONDS",
                        help="at start, retry an unreachable ClickHouse this long (one line per attempt), "
                             "then exit 69 for the supervisor to restart; 0 waits forever (default 120)")


def log(line: str) -> None:
    print(line, flush=True)


def open_store_waiting(settings, stopping, wait: float = 120.0):
    """ClickHouse may come up after the projector: wait for it with capped backoff, one line
    per attempt, for ``wait`` seconds (0: forever); None if stopped or given up (``gave_up``)."""
    from projections import metrics
    from projections.errors import StoreError
    from projections.migrate import migrate
    from projections.sink import Backoff
    from projections.store import open_store

    started = time.monotonic()
    for attempt, delay in enumerate(Backoff().delays(), start=1):
        try:
            store = open_store(settings)
            migrate(store, log=log)
            metrics.CLICKHOUSE_UP.set(1)
            return store
        except StoreError as exc:
            metrics.CLICKHOUSE_UP.set(0)
            left = wait - (time.monotonic() - started)
            if wait and left <= 0:
                raise CliError(f"ClickHouse did not answer for {wait:.0f}s ({exc})",
                               hint="start it (`gridflow stack up`) or set GRIDFLOW_CLICKHOUSE_HOST/_PORT; "
                                    "--clickhouse-wait sets how long to wait", code=EXIT_NO_CLICKHOUSE) from None
            delay = min(delay, left) if wait else delay
            until = f", giving up in {left:.0f}s" if wait else ""
            log(f"projector: waiting for ClickHouse: {' '.join(str(exc).split())}; attempt {attempt}, "
                f"next in {delay:.1f}s{until}")
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline:  # a signal ends the wait at once
                if stopping():
                    return None
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def run(args: argparse.Namespace, settings) -> int:
    from kafka.errors import KafkaError

    from projections import metrics
    from projections.app import build_projector, load_org_file
    from projections.errors import ProjectorHalted
    from projections.owner import PrefixMismatch, claim

    stop = {"now": False, "projector": None}

    def on_signal(signum, frame):
        stop["now"] = True
        if stop["projector"] is not None:
            stop["projector"].stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not args.no_metrics:
        what = "GRIDFLOW_PROJECTOR_METRICS_PORT, or --no-metrics"
        check_ports_free(args.metrics_host, [(settings.projector_metrics_port, what)])
        try:
            metrics.serve(settings.projector_metrics_port, args.metrics_host)
        except OSError as exc:  # taken between the check and the bind
            raise port_error(args.metrics_host, settings.projector_metrics_port, what, exc) from None
    store = open_store_waiting(settings, lambda: stop["now"], args.clickhouse_wait)
    if store is None:
        return 0
    endpoint = None
    try:
        try:
            claim(store, settings.topic_prefix)
        except PrefixMismatch as exc:
            print(f"gridflow project: {exc}", file=sys.stderr, flush=True)
            return EXIT_CONFIG
        if store.kind == "chdb" and not args.no_query_endpoint:
            from projections.chdb_endpoint import ChdbEndpoint

            endpoint = ChdbEndpoint(settings.chdb_path, port=settings.chdb_query_port,
                                    timeout_seconds=settings.chdb_query_timeout_seconds, log=log).start()
        if args.org:
            load_org_file(store, args.org, log)
        try:
            projector = build_projector(settings, store, log=log, progress_seconds=args.progress_seconds)
        except KafkaError as exc:
            print(f"gridflow project: Kafka at {settings.kafka_bootstrap}: {exc}", file=sys.stderr)
            return 1
        stop["projector"] = projector
        if stop["now"]:
            projector.stop()
        log(f"projector: {settings.topics.events} -> {store.kind} {store.database} "
            f"(group {settings.projector_group}, batches of {settings.projector_batch_size} records, "
            f"{settings.projector_batch_bytes} bytes or {settings.projector_batch_seconds}s)")
        try:
            totals = projector.run(until_idle=args.until_idle)
        except ProjectorHalted as exc:
            print(f"gridflow project: stopped by the {exc}", file=sys.stderr, flush=True)
            return EXIT_BREAKER
        finally:
            projector.consumer.close()  # no auto-commit: closing commits nothing
            if projector.producer is not None:
                projector.producer.close()
        log(f"projector: stopped after {totals.events} events, {totals.written} written, "
            f"{totals.deadletters} dead letters")
    finally:
        if endpoint is not None:
            endpoint.stop()
        store.close()
    return 0
