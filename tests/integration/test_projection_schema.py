"""The schema and every SQL statement of the projections run on both stores: the ClickHouse
server (18.16 here) and chdb; migrations are versioned and idempotent."""
from __future__ import annotations

import pytest

from projection_support import own, store  # noqa: F401
from projections.errors import MigrationError, StoreError
from projections.migrate import Migration, applied, discover, migrate

pytestmark = pytest.mark.integration

TABLES = {"events": "ReplacingMergeTree", "org_units": "ReplacingMergeTree", "matter_rows": "ReplacingMergeTree",
          "matter_changes": "MergeTree", "matter_changes_mv": "MaterializedView", "schema_migrations": "MergeTree",
          "schema_views": "MergeTree", "event_log": "View", "org": "View", "matter_facts": "View", "matters": "View",
          "unit_monthly": "View", "escalations_by_unit": "View",
          "resource_events": "ReplacingMergeTree", "resource_list": "View"}


def test_migrations_create_every_table_and_view(store):
    found = dict(store.query("SELECT name, engine FROM system.tables WHERE database = %(db)s", {"db": store.database}))
    assert found == TABLES
    assert set(applied(store)) == {m.version for m in discover()}


def test_migrating_again_changes_nothing(store):
    assert migrate(store, log=lambda _: None) == []
    assert store.scalar(f"SELECT count() FROM {store.table('schema_migrations')}") == len(discover())


def test_a_migration_edited_after_it_was_applied_is_refused(store):
    first = discover()[0]
    edited = Migration(first.version, first.name, first.text + "\n-- edited\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(store, migrations=[edited], log=lambda _: None)


def test_a_failing_statement_is_named_and_the_rest_is_not_recorded(store):
    bad = Migration(9999, "broken", "CREATE TABLE IF NOT EXISTS {db}.ok (x UInt8) ENGINE = Memory;\nSELECT nope()")
    with pytest.raises(MigrationError, match=r"9999_broken, statement 2"):
        migrate(store, migrations=discover() + [bad], log=lambda _: None)
    assert 9999 not in applied(store)


def test_every_view_answers_on_an_empty_database(store):
    for view in ("event_log", "org", "matter_facts", "matters", "unit_monthly", "escalations_by_unit"):
        assert store.query(f"SELECT * FROM {store.table(view)}") == []


def test_strings_round_trip_through_inserts_and_literals(store):
    awkward = ["北江社区", "it's", "back\\slash", "tab\there", "new\nline", "", "quote\"d"]
    store.insert("org_units", ["unit_id", "name", "level", "version"], [(s, s, 1, 1) for s in awkward])
    for s in awkward:
        assert store.scalar(f"SELECT name FROM {store.table('org_units')} WHERE unit_id = %(u)s", {"u": s}) == s


def test_a_refused_statement_raises_a_store_error(store):
    with pytest.raises(StoreError):
        store.query("SELECT no_such_column FROM system.one")
