"""gridflow sql: run one query on the configured store (chdb by default, or the server) and
print the result as a table, CSV or JSON lines — the analyst's quickest way in."""
from __future__ import annotations

import argparse
import csv
import json
import sys

from gridflow.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="one SQL statement; tables live in the database GRIDFLOW_CLICKHOUSE_DATABASE")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--limit", type=int, default=200, help="rows to print in the table (default 200)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from projections.errors import StoreError
    from projections.render import pad, width
    from projections.store_remote import open_reader

    try:
        store = open_reader(settings)
    except StoreError as exc:
        print(f"gridflow sql: {exc}", file=sys.stderr)
        return 1
    try:
        names, rows = store.query_columns(args.query)
    except StoreError as exc:
        print(f"gridflow sql: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    if args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(rows)
    elif args.format == "json":
        for row in rows:
            print(json.dumps(dict(zip(names, row)), ensure_ascii=False, default=str))
    else:
        shown = [[str(v) for v in row] for row in rows[:args.limit]]
        widths = [max([width(n)] + [width(r[i]) for r in shown]) for i, n in enumerate(names)]
        print("  ".join(pad(n, w) for n, w in zip(names, widths)))
        print("  ".join("-" * w for w in widths))
        for r in shown:
            print("  ".join(pad(v, w, right=_numeric(v)) for v, w in zip(r, widths)))
        more = f" (first {args.limit} shown)" if len(rows) > args.limit else ""
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{more})")
    return 0


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
