"""gridflow demo: simulate a city, run the whole pipeline on it, print the statistics.

The demo uses topics of its own (gridflow-demo-<run id>.*) and its own database, gridflow_demo,
whatever GRIDFLOW_TOPIC_PREFIX and GRIDFLOW_CLICKHOUSE_DATABASE say; nothing else is touched."""
from __future__ import annotations

import argparse
import sys

from gridflow.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("The demo writes to topics of its own (gridflow-demo-<run id>.*) and to its own database, "
                     "gridflow_demo, whatever GRIDFLOW_TOPIC_PREFIX and GRIDFLOW_CLICKHOUSE_DATABASE say; "
                     "it never touches another database or topic prefix.")
    parser.add_argument("--days", type=int, default=30, help="simulated days (default 30)")
    parser.add_argument("--grids", type=int, default=1000, help="size of the simulated city in grids (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same city, same matters (default 1)")
    parser.add_argument("--matters-per-day", type=int, default=None,
                        help="mean new matters per day (default: a third of the grids)")
    parser.add_argument("--workers", type=int, default=1, help="Faust workers sharing the partitions (default 1)")
    parser.add_argument("--watermark-minutes", type=int, default=60,
                        help="simulated minutes between watermarks (default 60)")
    parser.add_argument("--reset", action="store_true",
                        help="drop the database gridflow_demo an earlier demo left, and only that one "
                             "(without it the demo refuses to run over an earlier run)")
    parser.add_argument("--drain-timeout", type=float, default=600.0,
                        help="seconds to wait for the pipeline to process everything (default 600)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.process import StackError
    from gridflow.demo import DemoFailed, DemoOptions, run_demo
    from gridflow.demo_report import problems, render

    options = DemoOptions(days=args.days, grids=args.grids, seed=args.seed, matters_per_day=args.matters_per_day,
                          workers=args.workers, drain_timeout=args.drain_timeout,
                          watermark_minutes=args.watermark_minutes, reset=args.reset)
    try:
        result = run_demo(settings, options, say=lambda line: print(line, flush=True))
    except (DemoFailed, StackError) as exc:
        print(f"\ngridflow demo: {exc}", file=sys.stderr)
        return 1
    print(render(result))
    return 1 if problems(result) else 0
