"""Which topic prefix a database projects. Two projectors reading different prefixes into one
database would mix their matters in every statistic, so the first to start records its prefix
in ``<db>.topic_prefix`` and every later one must read the same prefix (docs/operations.md,
"One prefix, one database")."""
from __future__ import annotations

from projections.errors import ProjectionError
from projections.store import Store, lit

TABLE = "topic_prefix"


class PrefixMismatch(ProjectionError):
    """The database holds the projection of another topic prefix."""


def owner(store: Store) -> str | None:
    """The prefix recorded in the store's database, or None when none is."""
    found = store.scalar("SELECT count() FROM system.tables WHERE database = %(db)s AND name = %(t)s",
                         {"db": store.database, "t": TABLE})
    if not found:
        return None
    return store.scalar(f"SELECT any(prefix) FROM {store.table(TABLE)}") or None


def claim(store: Store, prefix: str) -> None:
    """Record ``prefix`` as the database's, or raise ``PrefixMismatch`` if another one is."""
    current = owner(store)
    if current is None:
        store.execute(f"CREATE DATABASE IF NOT EXISTS {store.database}")
        store.execute(f"CREATE TABLE IF NOT EXISTS {store.table(TABLE)} (prefix String) ENGINE = TinyLog")
        store.execute(f"INSERT INTO {store.table(TABLE)} (prefix) SELECT {lit(prefix)}")
        current = owner(store)
    if current != prefix:
        raise PrefixMismatch(
            f"database {store.database} holds the projection of topic prefix {current!r}, not {prefix!r}: "
            f"leave GRIDFLOW_CLICKHOUSE_DATABASE unset (each prefix gets its own database) or name another one")
