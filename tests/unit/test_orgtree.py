"""The six-level org tree: loading, checking, walking, and its records for the org topic."""
from __future__ import annotations

import pytest

from events import Level, OrgTreeError, ValidationError, codec
from events.orgtree import OrgTree, OrgUnit, dump_csv, load

CHAIN = [
    OrgUnit("foshan", Level.CITY, None, "佛山市"),
    OrgUnit("sanshui", Level.DISTRICT, "foshan", "三水区"),
    OrgUnit("xinan", Level.STREET, "sanshui", "西南街道"),
    OrgUnit("beijiang", Level.COMMUNITY, "xinan", "北江社区"),
    OrgUnit("beijiang-g1", Level.GRID, "beijiang", "北江社区第1网格"),
    OrgUnit("shidaicheng", Level.COMPOUND, "beijiang-g1", "时代城小区"),
    OrgUnit("beijiang-g2", Level.GRID, "beijiang", "北江社区第2网格"),
]


@pytest.fixture
def tree():
    return OrgTree(CHAIN)


def test_ancestors_run_from_the_unit_up_to_the_city(tree):
    assert [u.unit_id for u in tree.ancestors("shidaicheng")] == [
        "shidaicheng", "beijiang-g1", "beijiang", "xinan", "sanshui", "foshan"]


def test_ancestor_at_a_level_and_at_or_above_it(tree):
    assert tree.ancestor_at("shidaicheng", Level.GRID).unit_id == "beijiang-g1"
    assert tree.ancestor_at("shidaicheng", Level.COMMUNITY).unit_id == "beijiang"
    # a place already above the entry level is its own entry unit
    assert tree.ancestor_at("xinan", Level.GRID).unit_id == "xinan"


def test_children_and_path(tree):
    assert [u.unit_id for u in tree.children("beijiang")] == ["beijiang-g1", "beijiang-g2"]
    assert tree.path("beijiang-g2") == {Level.CITY: "foshan", Level.DISTRICT: "sanshui", Level.STREET: "xinan",
                                        Level.COMMUNITY: "beijiang", Level.GRID: "beijiang-g2"}


@pytest.mark.parametrize("units, message", [
    (CHAIN + [CHAIN[1]], "defined twice"),
    (CHAIN + [OrgUnit("g9", Level.GRID, "nowhere", "x")], "parent 'nowhere' is not in the tree"),
    (CHAIN + [OrgUnit("g9", Level.GRID, "xinan", "x")], "is a street, expected a community"),
    (CHAIN + [OrgUnit("lost", Level.STREET, None, "x")], "has no parent"),
])
def test_inconsistent_trees_are_refused(units, message):
    with pytest.raises(OrgTreeError, match=message):
        OrgTree(units)


def test_unknown_unit_is_named(tree):
    with pytest.raises(OrgTreeError, match="unknown org unit 'atlantis'"):
        tree.get("atlantis")


def test_csv_and_jsonl_files_load_to_the_same_tree(tmp_path, tree):
    dump_csv(tree, tmp_path / "org.csv")
    (tmp_path / "org.jsonl").write_text(
        "\n".join(__import__("json").dumps(u.to_record(), ensure_ascii=False) for u in tree), encoding="utf-8")
    assert list(load(tmp_path / "org.csv")) == list(tree) == list(load(tmp_path / "org.jsonl"))


def test_a_bad_row_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "org.csv"
    path.write_text("unit_id,level,parent_id,name\nfoshan,city,,佛山市\nx,village,foshan,X\n", encoding="utf-8")
    with pytest.raises(OrgTreeError, match=r"org.csv:3: level: expected one of city"):
        load(path)


def test_units_round_trip_as_org_topic_records(tree):
    for unit in tree:
        assert codec.decode_org_unit(codec.encode_org_unit(unit)) == unit


def test_org_record_without_a_name_names_the_field():
    with pytest.raises(ValidationError, match="^name: expected a non-empty name"):
        OrgUnit.from_record({"unit": "u", "level": "grid", "parent": "c", "name": ""})
