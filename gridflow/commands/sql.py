"""gridflow sql: run one query on the configured store (chdb by default, or the server) and
print the result as a table, CSV, JSON or JSON Lines — the analyst's quickest way in."""
from __future__ import annotations

import argparse

from gridflow.console import CliError, store_error
from gridflow.output import add_format_arguments, check_format_arguments, write
from gridflow.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="one SQL statement; tables live in the database GRIDFLOW_CLICKHOUSE_DATABASE")
    add_format_arguments(parser)
    parser.add_argument("--limit", type=int, default=200, help="rows to print in the table (default 200)")


def statements(sql: str) -> int:
    """How many statements ``sql`` holds: semicolons outside quotes and comments separate
    them; a trailing semicolon (or comment) does not start another."""
    count, i, n, has_text = 0, 0, len(sql), False
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = i + 1
            while end < n and sql[end] != ch:
                end += 2 if sql[end] == "\\" else 1
            i, has_text = end + 1, True
        elif sql.startswith("--", i) or ch == "#":
            i = sql.find("\n", i)
            i = n if i < 0 else i
        elif sql.startswith("/*", i):
            i = sql.find("*/", i + 2)
            i = n if i < 0 else i + 2
        elif ch == ";":
            count += has_text
            has_text, i = False, i + 1
        else:
            has_text = has_text or not ch.isspace()
            i += 1
    return count + has_text


def run(args: argparse.Namespace, settings: Settings) -> int:
    check_format_arguments(args)
    found = statements(args.query)
    if found == 0:
        raise CliError("the query is empty", hint='for example gridflow sql "SHOW TABLES FROM gridflow"', code=2)
    if found > 1:
        raise CliError(f"expected one SQL statement, got {found}",
                       hint="run each with its own `gridflow sql`, or join them into one query (UNION ALL, WITH)",
                       code=2)
    from projections.errors import StoreError
    from projections.store_remote import open_reader

    try:
        with open_reader(settings) as store:
            names, rows = store.query_columns(args.query)
    except StoreError as exc:
        raise store_error(exc, settings.clickhouse_database, analyst_query=True) from None
    write(names, rows, args, limit=args.limit)
    return 0
