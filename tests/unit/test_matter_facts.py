"""The facts of a matter fold like a lattice (projections/facts.py), and migration 0006 holds
the table and the materialized view exactly as the code defines them (no ClickHouse)."""
from __future__ import annotations

import re

from projections import facts
from projections.migrate import discover, live_materialized_views, materialized_views
from projections.views import derived

MIGRATION = next(m for m in discover() if m.name == "matter_rows")


def squeeze(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def test_the_migration_creates_both_tables_with_the_columns_of_the_code():
    statements = MIGRATION.statements("db")
    for table in ("matter_rows", "matter_changes"):
        ddl = next(s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS db.{table}"))
        assert squeeze(facts.table_columns()) in squeeze(ddl), table


def test_the_migration_folds_events_with_the_rules_of_the_code():
    statements = [squeeze(s) for s in MIGRATION.statements("db")]
    fold = squeeze(facts.fold_sql())
    view = next(s for s in statements if s.startswith("CREATE MATERIALIZED VIEW IF NOT EXISTS db.matter_changes_mv"))
    fill = next(s for s in statements if s.startswith("INSERT INTO db.matter_rows"))
    assert f"SELECT {fold}, now() AS changed_at FROM db.events GROUP BY matter_id" in view
    assert f"SELECT {fold} FROM db.events GROUP BY matter_id" in fill


def test_every_lattice_column_has_a_merge_rule():
    outputs = [item.split(" AS ")[-1].strip() for item in facts.merge_sql().split(",\n")]
    assert tuple(outputs) == facts.NAMES


def test_a_database_migrated_to_the_end_has_no_view_feeding_the_dropped_matter_state():
    assert "matter_state_mv" in materialized_views("db")  # migration 0005 still recreates it on its way
    assert set(live_materialized_views("db")) == {"matter_changes_mv"}


def test_the_derived_views_read_the_settled_rows_and_the_changes():
    views = derived("db")
    assert list(views) == ["matter_facts", "matters", "unit_monthly"]
    assert "db.matter_rows FINAL" in views["matter_facts"] and "db.matter_changes" in views["matter_facts"]
    assert "FROM db.matter_facts" in views["matters"] and "FROM db.matters" in views["unit_monthly"]
