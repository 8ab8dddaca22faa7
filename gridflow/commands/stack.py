"""``gridflow stack up|down|status``: the local Kafka + ClickHouse stack, no Docker."""
from __future__ import annotations

import argparse
import sys
import time

from gridflow.output import add_format_arguments, write
from gridflow.settings import Settings


HELP = """\
Runs an Apache Kafka broker (KRaft, broker + controller in one process) and a ClickHouse
server as background processes on 127.0.0.1, with their config, data, pid and log files
under GRIDFLOW_STACK_DIR (default .gridflow/stack). Ports: GRIDFLOW_KAFKA_PORT (9092),
GRIDFLOW_KAFKA_CONTROLLER_PORT (9093), GRIDFLOW_CLICKHOUSE_PORT (9000),
GRIDFLOW_CLICKHOUSE_HTTP_PORT (8123). `up` and `down` are idempotent; data survives `down`.

The broker does not auto-create topics: run `gridflow topics` after `up`.
ClickHouse users, loopback only: `default` (the pipeline) and `analyst` (read-only, with
row, time and memory limits per query); the analyst's password is made by the first `up`
in <stack dir>/clickhouse/analyst.password (mode 600). A Prometheus config for this host's
gridflow processes, with the ports of GRIDFLOW_* settings, is written by every `up` to
<stack dir>/prometheus/prometheus.yml.
Needs java (17+), mvn (the broker jars are fetched once from Maven Central) and
Debian's clickhouse-server package."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP
    parser.add_argument("action", choices=["up", "down", "status"], help="start, stop or show the stack")
    add_format_arguments(parser)  # for `status`


def run(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.stack import ServiceFailed, Stack, StackError, format_status

    stack = Stack(settings, say=lambda line: print(line, file=sys.stderr, flush=True))
    t0 = time.monotonic()
    try:
        if args.action == "status":
            rows = stack.status()
            if args.format == "table":
                print(format_status(rows))
                print(f"stack dir: {stack.dir}")
                _say_where_the_analyst_and_prometheus_are(settings)
            else:
                write(["service", "state", "pid", "address"], [(r.service, r.state, r.pid, r.address) for r in rows],
                      args)
            return 0 if all(r.state != "starting" for r in rows) else 1
        if args.action == "up":
            outcomes = stack.up()
        else:
            outcomes = stack.down()
    except ServiceFailed as exc:
        print(f"gridflow stack {args.action}: {exc}", file=sys.stderr)
        print(exc.log_tail(), file=sys.stderr)
        return 1
    except StackError as exc:
        print(f"gridflow stack {args.action}: {exc}", file=sys.stderr)
        return 1

    for o in outcomes:
        pid = f"pid {o.pid}, " if o.pid else ""
        took = f" in {o.seconds:.1f}s" if o.action in ("started", "stopped", "killed") else ""
        print(f"{o.service}: {o.action}{took} ({pid}{o.address})")
    elapsed = time.monotonic() - t0
    if args.action == "up":
        quiet = all(o.action == "already running" for o in outcomes)
        print("stack already up: nothing to do" if quiet else f"stack up in {elapsed:.1f}s (stack dir {stack.dir})")
        _say_where_the_analyst_and_prometheus_are(settings)
        _warn_if_clients_look_elsewhere(settings)
    else:
        quiet = all(o.action == "not running" for o in outcomes)
        print("stack already down: nothing to do" if quiet else f"stack down in {elapsed:.1f}s")
    return 0


def _say_where_the_analyst_and_prometheus_are(settings: Settings) -> None:
    from deploy.clickhouse_server import ANALYST_USER, analyst_password_path
    from deploy.prometheus_config import local_config_path

    print(f"clickhouse analyst: user {ANALYST_USER}, password in {analyst_password_path(settings)}")
    print(f"prometheus config: {local_config_path(settings)}")


def _warn_if_clients_look_elsewhere(settings: Settings) -> None:
    # The stack listens on GRIDFLOW_KAFKA_PORT, clients dial GRIDFLOW_KAFKA_BOOTSTRAP: say so when they differ.
    stack_address = f"127.0.0.1:{settings.kafka_port}"
    if stack_address not in settings.kafka_bootstrap.replace("localhost", "127.0.0.1").split(","):
        print(
            f"note: clients use GRIDFLOW_KAFKA_BOOTSTRAP={settings.kafka_bootstrap}, "
            f"but this stack's broker is {stack_address}",
            file=sys.stderr,
        )
