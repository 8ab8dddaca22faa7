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
    parser.add_argument("--lists", action="store_true",
                        help="also the three lists (三张清单): needs vs resources by category, match rate, "
                             "time to claim, orders per resource, unmatched needs (docs/statistics.md)")


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
    from projections.store import open_store

    try:
        scope = Scope(unit=args.unit, since=epoch_ms(args.since, args.tz), until=epoch_ms(args.until, args.tz),
                      categories=tuple(args.category), kind=args.kind)
        with open_store(settings, args.database) as store:
            report = compute(store, scope, drill=not args.no_drill, rank_by=args.rank_by)
            lists = _lists(store, scope, args) if args.lists else None
    except (ProjectionError, ValueError) as exc:
        print(f"gridflow stats: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(render.to_json(report) if lists is None else _with_lists(render.to_json(report), lists))
    elif args.format == "csv":
        sys.stdout.write(render.to_csv(report))
        if lists is not None:
            sys.stdout.write(_lists_csv(lists))
    else:
        print(render.table(report, args.tz, args.limit))
        if lists is not None:
            from projections import lists as lists_mod

            print("\n" + lists_mod.table(lists))
    return 0


# --- the three lists (三张清单): --lists ----------------------------------------------------------


def _lists(store, scope, args):
    from projections import lists as lists_mod

    return lists_mod.compute(store, scope, limit=args.limit)


def _with_lists(text: str, lists) -> str:
    import json

    data = json.loads(text)
    data["lists"] = lists.to_dict()
    return json.dumps(data, ensure_ascii=False, indent=2)


def _lists_csv(lists) -> str:
    """The lists as further CSV blocks, each headed by its section name."""
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out)
    blocks = (("supply", ["category", "needs", "resources", "capacity"], lists.supply),
              ("orders", ["resource", "kind", "unit", "orders"], lists.orders),
              ("gaps", ["unit", "category", "gaps", "all_busy"], lists.gaps),
              ("report_ins", ["unit", "summoned", "on_time", "missed", "rate"], lists.report_ins),
              ("points", ["resource", "kind", "unit", "awarded", "redeemed", "balance"], lists.points),
              ("points_by_unit", ["unit", "awarded", "redeemed"], lists.points_by_unit))
    w.writerow([])
    w.writerow(["section", "matched", "gap", "match_rate", "claimed", "claim_p50_s", "claim_p80_s"])
    q = lists.claim_seconds or {}
    w.writerow(["match", lists.matched, lists.gap, "" if lists.match_rate is None else f"{lists.match_rate:.4f}",
                lists.claimed, q.get("p50", ""), q.get("p80", "")])
    for name, head, rows in blocks:
        w.writerow([])
        w.writerow(["section", *head])
        w.writerows([[name, *(r[h] for h in head)] for r in rows])
    return out.getvalue()
