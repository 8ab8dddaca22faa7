"""`gridflow simulate`: generate a city, publish its org tree and N simulated days of matters
(with watermarks, for a worker running with clock=event), write the ground truth, print a summary."""
from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

from gridflow.console import CliError
from gridflow.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=30, help="simulated days of arrivals (default 30)")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same city and same stream (default 1)")
    parser.add_argument("--grids", type=int, default=3000, help="size of the generated city (default 3000)")
    parser.add_argument("--matters-per-day", type=int, default=None,
                        help="mean arrivals per day (default: a third of the grids)")
    parser.add_argument("--start", type=date.fromisoformat, default=None,
                        help="first simulated day, China Standard Time (default 2026-03-02)")
    parser.add_argument("--watermark-minutes", type=float, default=15.0,
                        help="simulated minutes between watermarks (default 15)")
    parser.add_argument("--run-id", default=None,
                        help="names matters and the clock (default s<seed>-<digest of the parameters>)")
    parser.add_argument("--truth", default=None,
                        help="ground-truth JSON lines (default <stack dir>/../sim/truth-<run>.jsonl)")
    parser.add_argument("--org-csv", default=None, help="also write the generated org tree as CSV")
    parser.add_argument("--dry-run", action="store_true", help="plan only: publish nothing")
    parser.add_argument("--no-org", action="store_true", help="do not publish the org tree to the org topic")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from events import policy as policy_module
    from events.levels import Level
    from events.orgtree import dump_csv
    from gridflow.city import generate
    from gridflow.sdk import PublishError
    from gridflow.simulate import Plan, simulate
    from gridflow.simulate.report import render

    tree = generate(args.grids, args.seed)
    grids = sum(1 for u in tree if u.level == Level.GRID)
    if args.org_csv:
        dump_csv(tree, args.org_csv)
    options = dict(days=args.days, seed=args.seed, matters_per_day=args.matters_per_day, start=args.start,
                   watermark_every=timedelta(minutes=args.watermark_minutes), run_id=args.run_id)
    policy = policy_module.load(settings.policy_path or None)
    run_id = args.run_id or Plan(tree, policy, **options).run_id
    truth_path = Path(args.truth) if args.truth else settings.stack_path.parent / "sim" / f"truth-{run_id}.jsonl"
    started = time.perf_counter()
    if args.dry_run:
        plan = Plan(tree, policy, **options)
        for _ in plan:
            pass
        truth, topic = plan.truth, None
        truth.write(truth_path)
    else:
        show = progress_line()
        try:
            ensure_topics(settings)
            truth = simulate(settings, tree, policy=policy, progress=show, truth_path=truth_path,
                             publish_org=not args.no_org, **options)
        except PublishError as exc:
            raise CliError(str(exc), hint="is the stack up? `gridflow stack status`", code=2) from None
        finally:
            show.end()
        topic = settings.topics.intake
    print(render(truth, seconds=time.perf_counter() - started, topic=topic, truth_path=str(truth_path),
                 units=len(tree), grids=grids))
    return 0


def ensure_topics(settings: Settings) -> None:
    """Create the topics if they are missing (idempotent), so a first run just works."""
    from kafka.errors import KafkaError

    from deploy.process import StackError
    from deploy.topics import ensure_topics as ensure
    from gridflow.sdk import PublishError

    try:
        ensure(settings)
    except (StackError, KafkaError) as exc:
        raise PublishError(f"topics not ready: {exc}", topic=settings.topics.intake) from exc


def progress_line():
    """Simulated days as the shared progress line (redrawn on a terminal, a line every 5 s in a log)."""
    from gridflow.console import Progress

    line = Progress()

    def show(p) -> None:
        done = min(1.0, p.day / p.days) if p.days else 1.0
        line.show("draining" if p.draining else "simulating", done,
                  f"day {min(p.day, p.days):4.1f}/{p.days}  matters {p.matters:,}  events {p.events:,}")

    show.end = line.end
    return show
