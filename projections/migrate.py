"""Versioned, idempotent ClickHouse migrations.

Each file ``projections/migrations/NNNN_name.sql`` holds statements separated by ``;``
(no ``;`` inside comments or strings), with ``{db}`` standing for the database. Applied
versions are recorded in ``{db}.schema_migrations`` with the file's checksum; applying
again is a no-op, and a changed file that was already applied is an error, not a surprise.
Every statement is itself idempotent (IF NOT EXISTS), so a run interrupted half-way can be
repeated.

A change SQL cannot make repeatable by itself (a new partition key: copy the table and swap
it in) is a Python file ``NNNN_name.py`` defining ``apply(store, database)``; each of its
steps checks the state it leaves, so an interrupted run is finished by the next one.
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from projections.errors import MigrationError, StoreUnavailable
from projections.store import Store

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sql|py)$")
_CREATE_MV = re.compile(r"CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\.(\w+)", re.I)
_DROP = re.compile(r"DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?\w+\.(\w+)\s*$", re.I)

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS {db}.schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime
)
ENGINE = MergeTree()
ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str
    kind: str = "sql"  # or "py": a module with apply(store, database)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:16]

    def statements(self, database: str) -> list[str]:
        if self.kind != "sql":
            return []
        body = "\n".join(line for line in self.text.splitlines() if not line.lstrip().startswith("--"))
        return [s.strip().replace("{db}", database) for s in body.split(";") if s.strip()]

    def apply(self, store: Store, database: str) -> None:
        if self.kind == "py":
            namespace: dict = {"__name__": f"migration_{self.version:04d}"}
            exec(compile(self.text, f"{self.version:04d}_{self.name}.py", "exec"), namespace)  # our own file
            try:
                namespace["apply"](store, database)
            except StoreUnavailable:
                raise  # not the migration's fault: the caller waits for ClickHouse and tries again
            except Exception as exc:
                raise MigrationError(f"migration {self.version:04d}_{self.name}: {exc}") from exc
            return
        for number, statement in enumerate(self.statements(database), start=1):
            try:
                store.execute(statement)
            except StoreUnavailable:
                raise
            except Exception as exc:
                raise MigrationError(f"migration {self.version:04d}_{self.name}, statement {number}: {exc}") from exc


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted([*directory.glob("*.sql"), *directory.glob("*.py")]):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected a name like 0001_events.sql or 0005_events_by_year.py")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8"), match.group(3)))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version in {directory}")
    return found


def applied(store: Store, database: str | None = None) -> dict[int, str]:
    db = database or store.database
    exists = store.scalar(f"SELECT count() FROM system.tables WHERE database = %(db)s AND name = 'schema_migrations'",
                          {"db": db})
    if not exists:
        return {}
    return {int(v): c for v, c in store.query(f"SELECT version, any(checksum) FROM {db}.schema_migrations "
                                              "GROUP BY version")}


def migrate(store: Store, database: str | None = None, migrations: list[Migration] | None = None,
            log=print) -> list[Migration]:
    """Create the database if needed, apply the migrations not yet applied and create again the
    derived views whose definition changed (``projections/views.py``); return the migrations
    applied. With ``migrations`` given (tests of older schemas), only those, and no views."""
    from projections import views

    explicit = migrations is not None
    db = database or store.database
    migrations = discover() if migrations is None else migrations
    store.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
    store.execute(LEDGER_DDL.replace("{db}", db))
    done = applied(store, db)
    new = []
    for m in migrations:
        if m.version in done:
            if done[m.version] != m.checksum:
                raise MigrationError(f"migration {m.version:04d}_{m.name} changed after it was applied to {db} "
                                     f"(checksum {done[m.version]} -> {m.checksum}); add a new migration instead")
            continue
        m.apply(store, db)
        store.with_database(db).insert("schema_migrations", ["version", "name", "checksum", "applied_at"],
                                       [(m.version, m.name, m.checksum, int(time.time()))])
        log(f"applied {m.version:04d}_{m.name} to {db}")
        new.append(m)
    if not explicit:
        views.sync(store, db, log=log)
    return new


def materialized_views(database: str, migrations: list[Migration] | None = None) -> dict[str, str]:
    """The latest CREATE MATERIALIZED VIEW statement for each view name, for ``database``.

    A rebuild swaps tables between databases; materialized views are dropped around the
    swap and created again from these statements."""
    views: dict[str, str] = {}
    for m in discover() if migrations is None else migrations:
        for statement in m.statements(database):
            match = _CREATE_MV.match(statement)
            if match:
                views[match.group(1)] = statement
    return views


def live_materialized_views(database: str, migrations: list[Migration] | None = None) -> dict[str, str]:
    """As ``materialized_views``, without the views a later migration drops: the ones a database
    migrated to the end has."""
    views: dict[str, str] = {}
    for m in discover() if migrations is None else migrations:
        for statement in m.statements(database):
            created, dropped = _CREATE_MV.match(statement), _DROP.match(statement)
            if created:
                views[created.group(1)] = statement
            elif dropped:
                views.pop(dropped.group(1), None)
    return views
