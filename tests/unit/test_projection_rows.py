"""What reaches ClickHouse from an event, how values are quoted, how migrations are read."""
from __future__ import annotations

import pytest

from events import MatterReported, MatterReopened, MatterCancelled, FeedbackGiven, MatterResolved
from events.levels import Level
from events.orgtree import OrgUnit
from projections import orgdim, rows
from projections.errors import MigrationError, StoreError
from projections.migrate import Migration, discover, materialized_views
from projections.store import ident, lit, render

AT = 1_767_234_600_000


def envelope(n: int = 1) -> dict:
    return {"event_id": f"e{n}", "matter_id": "m1", "occurred_at": AT + n, "producer": "app"}


def as_dict(event) -> dict:
    return dict(zip(rows.COLUMNS, rows.to_row(event, 2, 40)))


def test_every_payload_field_is_either_a_column_or_deliberately_left_out():
    assert rows.unmapped_fields() == {}


def test_reporter_and_free_text_never_reach_a_row():
    row = as_dict(MatterReported(**envelope(), kind="incident", category="sanitation", priority="low",
                                 channel="app", place="c1", reporter="r-secret", text="my phone is 138..."))
    assert "r-secret" not in row.values() and "my phone is 138..." not in row.values()
    assert row["place"] == "c1" and row["category"] == "sanitation"
    assert (row["log_partition"], row["log_offset"]) == (2, 40)


def test_free_text_reasons_are_dropped_and_enumerated_reasons_kept():
    assert as_dict(MatterReopened(**envelope(), reason="leak is back at flat 3"))["reason"] == ""
    assert as_dict(MatterCancelled(**envelope(), reason="duplicate", duplicate_of="m0"))["reason"] == "duplicate"


def test_handler_is_dropped_but_the_resolving_unit_and_level_are_kept():
    row = as_dict(MatterResolved(**envelope(), unit="g1", handler="h-secret", level="grid"))
    assert (row["unit"], row["level"]) == ("g1", "grid") and "h-secret" not in row.values()


def test_feedback_booleans_become_integers():
    row = as_dict(FeedbackGiven(**envelope(), contacted=True, solved=False, satisfaction="satisfied"))
    assert (row["contacted"], row["solved"], row["satisfaction"]) == (1, 0, "satisfied")


def test_columns_come_out_column_by_column():
    a = rows.to_row(MatterReopened(**envelope(1), reason="x"))
    b = rows.to_row(MatterReopened(**envelope(2), reason="y"))
    columns = rows.to_columns([a, b])
    assert len(columns) == len(rows.COLUMNS) and columns[0] == ["e1", "e2"]


def test_literals_escape_quotes_and_backslashes():
    assert lit("it's a \\ test") == "'it\\'s a \\\\ test'"
    assert lit(True) == "1" and lit(5) == "5" and lit(["a", "b"]) == "('a', 'b')"
    assert render("SELECT %(x)s", {"x": "o'k"}) == "SELECT 'o\\'k'"
    with pytest.raises(StoreError):
        lit([])


def test_identifiers_are_checked():
    assert ident("gridflow_test_1") == "gridflow_test_1"
    with pytest.raises(StoreError):
        ident("x; DROP DATABASE y")


def test_ancestor_columns_hold_the_path_and_tolerate_a_missing_parent():
    units = {u.unit_id: u for u in [OrgUnit("city", Level.CITY, None, "C"), OrgUnit("d", Level.DISTRICT, "city", "D"),
                                    OrgUnit("g", Level.GRID, "k", "G")]}
    assert orgdim.ancestor_ids(units["d"], units) == ["city", "d", "", "", "", ""]
    assert orgdim.ancestor_ids(units["g"], units) == ["", "", "", "", "g", ""]  # community k not seen yet


def test_a_moved_unit_rewrites_its_descendants():
    units = {u.unit_id: u for u in [OrgUnit("a", Level.CITY, None, "A"), OrgUnit("b", Level.DISTRICT, "a", "B"),
                                    OrgUnit("c", Level.STREET, "b", "C"), OrgUnit("x", Level.DISTRICT, "a", "X")]}
    assert {u.unit_id for u in orgdim.with_descendants(["b"], units)} == {"b", "c"}


def test_migrations_are_numbered_split_and_name_their_database():
    found = discover()
    assert [m.version for m in found] == sorted(m.version for m in found) and found[0].version == 1
    statements = found[0].statements("db_x")
    assert statements and all("{db}" not in s for s in statements)
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS db_x.events") for s in statements)
    assert "matter_state_mv" in materialized_views("db_x")


def test_a_changed_statement_changes_the_checksum():
    assert Migration(1, "a", "SELECT 1").checksum != Migration(1, "a", "SELECT 2").checksum


def test_badly_named_migration_files_are_refused(tmp_path):
    (tmp_path / "1_x.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError):
        discover(tmp_path)
