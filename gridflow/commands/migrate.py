"""gridflow migrate: apply the ClickHouse migrations (and load an org tree file)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", metavar="FILE", help="also load an org tree (CSV unit_id,level,parent_id,name or JSON lines)")
    parser.add_argument("--database", help="database to migrate (default: GRIDFLOW_CLICKHOUSE_DATABASE)")
    parser.add_argument("--status", action="store_true", help="list the migrations and whether each is applied")


def run(args: argparse.Namespace, settings) -> int:
    from gridflow.console import CliError, store_error
    from projections.app import load_org_file
    from projections.errors import ProjectionError, StoreError
    from projections.migrate import applied, discover, migrate
    from projections.store import open_store

    try:
        with open_store(settings, args.database) as store:
            if args.status:
                done = applied(store)
                for m in discover():
                    print(f"{m.version:04d}_{m.name}: {'applied' if m.version in done else 'pending'}")
                return 0
            new = migrate(store)
            where = f"{store.kind} {store.database}"
            print(f"{where}: {len(new)} migration(s) applied" if new else f"{where}: schema up to date")
            if args.org:
                load_org_file(store, args.org)
    except StoreError as exc:
        raise store_error(exc, args.database or settings.clickhouse_database) from None
    except (ProjectionError, OSError) as exc:
        raise CliError(str(exc)) from None
    return 0
