"""gridflow stats: the statistics of one org unit (any level), a report-time window, category, kind."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", help="org unit id at any of the six levels (default: every unit)")
    parser.add_argument("--from", dest="since", metavar="WHEN",
                        help="reported at or after: 2026-01-01 or 2026-01-01T08:00 (in --tz unless an offset is given)")
    parser.add_argument("--to", dest="until", metavar="WHEN", help="reported before (exclusive)")
    parser.add_argument("--tz", default="Asia/Shanghai", help="time zone of --from/--to and of the output")
    parser.add_argument("--category", action="append", default=[], help="only this category (repeatable)")
    parser.add_argument("--kind", choices=("incident", "request"), help="only incidents or only requests")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--rank-by", default="grid_rate",
                        help="figure to rank the units one level down by (default grid_rate: 小事不出网格)")
    parser.add_argument("--no-drill", action="store_true", help="only the unit itself, no drill-down")
    parser.add_argument("--limit", type=int, default=50, help="drill-down rows to print in the table")
    parser.add_argument("--database", help="database (default: GRIDFLOW_CLICKHOUSE_DATABASE)")


def epoch_ms(text: str | None, tz: str) -> int | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date like 2026-01-01 or 2026-01-01T08:00, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz))
    return int(when.timestamp() * 1000)


def run(args: argparse.Namespace, settings) -> int:
    from projections import render
    from projections.errors import ProjectionError
    from projections.stats import Scope, compute
    from projections.store_remote import open_reader

    try:
        scope = Scope(unit=args.unit, since=epoch_ms(args.since, args.tz), until=epoch_ms(args.until, args.tz),
                      categories=tuple(args.category), kind=args.kind)
        with open_reader(settings, args.database) as store:
            report = compute(store, scope, drill=not args.no_drill, rank_by=args.rank_by)
    except (ProjectionError, ValueError) as exc:
        print(f"gridflow stats: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(render.to_json(report))
    elif args.format == "csv":
        sys.stdout.write(render.to_csv(report))
    else:
        print(render.table(report, args.tz, args.limit))
    return 0
