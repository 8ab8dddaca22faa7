"""A ClickHouse that goes away during a migration is not a broken migration: the projector
waits for ClickHouse and migrates again (``StoreUnavailable``); a statement ClickHouse refuses
is (``MigrationError``)."""
from __future__ import annotations

import pytest

from projections.errors import MigrationError, StoreUnavailable
from projections.migrate import Migration


class FailingStore:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def execute(self, sql: str, params=None) -> None:
        raise self.exc


SQL = Migration(1, "tables", "CREATE TABLE {db}.t (x UInt8) ENGINE = Memory;")
PY = Migration(2, "code", "def apply(store, database):\n    store.execute('SELECT 1')\n", kind="py")


@pytest.mark.parametrize("migration", [SQL, PY], ids=["sql", "py"])
def test_clickhouse_going_away_is_raised_as_unavailable(migration):
    with pytest.raises(StoreUnavailable):
        migration.apply(FailingStore(StoreUnavailable("connection reset")), "db")


@pytest.mark.parametrize("migration", [SQL, PY], ids=["sql", "py"])
def test_a_refused_statement_is_a_migration_error_naming_it(migration):
    with pytest.raises(MigrationError, match=f"migration {migration.version:04d}_{migration.name}"):
        migration.apply(FailingStore(ValueError("syntax error")), "db")
