"""gridflow stats: the statistics of one org unit (any level), a report-time window, category, kind."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime

from gridflow.console import CliError, store_error
from gridflow.output import add_format_arguments, check_format_arguments, terminal_width


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unit", help="org unit id at any of the six levels (default: every unit)")
    parser.add_argument("--from", dest="since", metavar="WHEN",
                        help="reported at or after: 2026-01-01 or 2026-01-01T08:00 (in --tz unless an offset is given)")
    parser.add_argument("--to", dest="until", metavar="WHEN", help="reported before (exclusive)")
    parser.add_argument("--tz", default="Asia/Shanghai",
                        help="IANA time zone of --from/--to and of the output (default Asia/Shanghai)")
    parser.add_argument("--category", action="append", default=[],
                        help="only this category of the policy (repeatable)")
    parser.add_argument("--kind", choices=("incident", "request"), help="only incidents or only requests")
    add_format_arguments(parser)
    parser.add_argument("--rank-by", default="grid_rate",
                        help="figure to rank the units one level down by (default grid_rate: 小事不出网格)")
    parser.add_argument("--no-drill", action="store_true", help="only the unit itself, no drill-down")
    parser.add_argument("--limit", type=int, default=50, help="drill-down rows to print in the table")
    parser.add_argument("--database", help="database (default: GRIDFLOW_CLICKHOUSE_DATABASE)")
    parser.add_argument("--lists", action="store_true",
                        help="also the three lists (三张清单): needs vs resources by category, match rate, "
                             "time to claim, orders per resource, unmatched needs (docs/statistics.md)")


def zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"--tz: unknown time zone {name!r}", hint="an IANA name such as Asia/Shanghai or UTC",
                       code=2) from None


def epoch_ms(text: str | None, tz: str, option: str = "--from") -> int | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option}: expected a date like 2026-01-01 or 2026-01-01T08:00, got {text!r}",
                       code=2) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz))
    return int(when.timestamp() * 1000)


def check_categories(categories: list[str], settings) -> None:
    """Every --category must be one of the policy's (a typo would print zero rows)."""
    if not categories:
        return
    from events import policy as policy_mod
    from events.errors import EventError

    try:
        known = policy_mod.load(settings.policy_path or None).categories
    except (EventError, OSError) as exc:
        raise CliError(f"cannot read the policy to check --category: {exc}") from None
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise CliError(f"--category: unknown {', '.join(repr(c) for c in unknown)}",
                       hint=f"the policy's categories are {', '.join(sorted(known))}", code=2)


def run(args: argparse.Namespace, settings) -> int:
    check_format_arguments(args)
    zone(args.tz)  # before any query: a bad zone must not cost one
    since, until = epoch_ms(args.since, args.tz, "--from"), epoch_ms(args.until, args.tz, "--to")
    check_categories(args.category, settings)

    from projections import render
    from projections.errors import ProjectionError, StoreError
    from projections.stats import Scope, compute
    from projections.store_remote import open_reader

    database = args.database or settings.clickhouse_database
    try:
        scope = Scope(unit=args.unit, since=since, until=until, categories=tuple(args.category), kind=args.kind)
        with open_reader(settings, args.database) as store:
            report = compute(store, scope, drill=not args.no_drill, rank_by=args.rank_by)
            lists = _lists(store, scope, args) if args.lists else None
    except StoreError as exc:
        raise store_error(exc, database) from None
    except (ProjectionError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.format == "json":
        print(render.to_json(report) if lists is None else _with_lists(render.to_json(report), lists))
    elif args.format == "jsonl":
        sys.stdout.write(render.to_jsonl(report))
    elif args.format == "csv":
        sys.stdout.write(render.to_csv(report, bom=args.bom))
        if lists is not None:
            sys.stdout.write(_lists_csv(lists))
    else:
        print(render.table(report, args.tz, args.limit, width=terminal_width(sys.stdout, args.wide)))
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
              ("points_by_unit", ["unit", "awarded", "redeemed"], lists.points_by_unit),
              ("points_by_community", ["community", "awarded", "redeemed", "balance"], lists.points_by_community))
    w.writerow([])
    w.writerow(["section", "matched", "gap", "match_rate", "claimed", "claim_p50_s", "claim_p80_s"])
    q = lists.claim_seconds or {}
    w.writerow(["match", lists.matched, lists.gap, "" if lists.match_rate is None else f"{lists.match_rate:.4f}",
                lists.claimed, q.get("p50", ""), q.get("p80", "")])
    w.writerow([])
    w.writerow(["section", "collected", "claimed", "fulfilled", "wish_rate"])
    w.writerow(["wishes", lists.wishes["collected"], lists.wishes["claimed"], lists.wishes["fulfilled"],
                "" if lists.wish_rate is None else f"{lists.wish_rate:.4f}"])
    for name, head, rows in blocks:
        w.writerow([])
        w.writerow(["section", *head])
        w.writerows([[name, *(r[h] for h in head)] for r in rows])
    return out.getvalue()
