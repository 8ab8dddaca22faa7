"""gridflow report: the statistics of a unit as charts, in one self-contained HTML file."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", help="org unit id at any of the six levels (default: every unit)")
    parser.add_argument("--from", dest="since", metavar="WHEN",
                        help="reported at or after: 2026-01-01 or 2026-01-01T08:00 (in --tz unless an offset is given)")
    parser.add_argument("--to", dest="until", metavar="WHEN", help="reported before (exclusive)")
    parser.add_argument("--tz", default="Asia/Shanghai", help="time zone of --from/--to and of the weeks (Monday to Sunday)")
    parser.add_argument("--category", action="append", default=[], help="only this category (repeatable)")
    parser.add_argument("--kind", choices=("incident", "request"), help="only incidents or only requests")
    parser.add_argument("--rank-by", default="grid_rate",
                        help="figure to rank the units one level down by (default grid_rate: 小事不出网格)")
    parser.add_argument("--limit", type=int, default=20,
                        help="units one level down to draw in the drill-down and the heatmap (default 20)")
    parser.add_argument("-o", "--output", default="gridflow-report.html", type=Path,
                        help="the HTML file to write (default gridflow-report.html)")
    parser.add_argument("--database", help="database (default: GRIDFLOW_CLICKHOUSE_DATABASE)")


def run(args: argparse.Namespace, settings) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from gridflow.commands.stats import epoch_ms
    from projections.errors import ProjectionError
    from projections.pictures import write
    from projections.stats import Scope
    from projections.store import open_store

    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"gridflow report: --tz: unknown time zone {args.tz!r} (e.g. Asia/Shanghai, UTC)", file=sys.stderr)
        return 1
    if args.limit < 1:
        print(f"gridflow report: --limit: expected a positive number, got {args.limit}", file=sys.stderr)
        return 1
    try:
        scope = Scope(unit=args.unit, since=epoch_ms(args.since, args.tz), until=epoch_ms(args.until, args.tz),
                      categories=tuple(args.category), kind=args.kind)
        with open_store(settings, args.database) as store:
            pictures = write(store, args.output, scope, tz=args.tz, rank_by=args.rank_by, limit=args.limit)
    except (ProjectionError, ValueError) as exc:
        print(f"gridflow report: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"gridflow report: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    total = pictures.report.total
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB): {total.name}, {total.matters:,} matters, "
          f"{len(pictures.weeks)} week(s), {len(pictures.units)} unit(s) in the drill-down; open it in a browser")
    return 0
