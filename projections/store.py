"""One interface over the two ClickHouse stores: a server through clickhouse-driver, or
chdb embedded in the process. All project SQL runs unchanged on both (ClickHouse 18.16
and chdb 26), so callers never ask which one they hold.

Values reach SQL only as literals rendered by ``lit`` (18.16 has no server-side query
parameters); table and database names are checked identifiers.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, Mapping, Sequence

from projections.errors import StoreError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """A database, table or column name, checked so it can be pasted into SQL."""
    if not isinstance(name, str) or not _IDENT.match(name):
        raise StoreError(f"not a plain SQL identifier: {name!r}")
    return name


def lit(value: Any) -> str:
    """A Python value as a ClickHouse literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            raise StoreError("cannot render an empty list as a SQL literal")
        return "(" + ", ".join(lit(v) for v in value) + ")"
    raise StoreError(f"cannot render {type(value).__name__} as a SQL literal")


def render(sql: str, params: Mapping[str, Any] | None) -> str:
    """``%(name)s`` placeholders filled with literals (write ``%%`` for a literal percent)."""
    if not params:
        return sql
    return sql % {k: lit(v) for k, v in params.items()}


class Store(ABC):
    """A ClickHouse to run DDL, insert rows and query."""

    kind: str = ""

    def __init__(self, database: str) -> None:
        self.database = ident(database)

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (DDL, INSERT ... SELECT, RENAME)."""

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Rows as tuples of plain Python values (ints, floats, strings, lists)."""

    @abstractmethod
    def query_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        """Column names and rows."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]], *,
               columnar: bool = False) -> int:
        """Insert rows (or, with ``columnar``, one list per column) into ``database.table``."""

    def query_dicts(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        names, rows = self.query_columns(sql, params)
        return [dict(zip(names, row)) for row in rows]

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def table(self, name: str, database: str | None = None) -> str:
        return f"{ident(database or self.database)}.{ident(name)}"

    def with_database(self, database: str) -> "Store":
        """The same connection, addressing another database by default."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.database = ident(database)
        return clone

    def ping(self) -> bool:
        try:
            return self.scalar("SELECT 1") == 1
        except StoreError:
            return False

    def close(self) -> None:
        pass

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(settings, database: str | None = None, **kwargs) -> Store:
    """The store ``settings.store`` names: ``server`` or ``chdb`` (the default)."""
    database = database or settings.clickhouse_database
    if settings.store == "server":
        from projections.store_server import ServerStore

        return ServerStore(database, host=settings.clickhouse_host, port=settings.clickhouse_port,
                           user=settings.clickhouse_user, password=settings.clickhouse_password, **kwargs)
    from projections.store_chdb import ChdbStore

    return ChdbStore(database, path=settings.chdb_path, **kwargs)
