"""A living org tree: checking a file, diffing it against the org topic, the tree in force
from records in any order, and where a matter of a retired or moved unit escalates."""
from __future__ import annotations

from dataclasses import replace

import pytest

from events import Level, OrgTreeError, ValidationError, codec
from events import policy as policy_mod
from events.calendar import Calendar
from events.orgchanges import check, diff, in_force
from events.orgtree import OrgTree, OrgUnit, read_rows
from events.routing import escalation_target
from events.state import Context, decide
from events.types import CHANNELS, DeadlineReached, MatterReported

C, D, S = (OrgUnit("c", Level.CITY, None, "City"), OrgUnit("d", Level.DISTRICT, "c", "District"),
           OrgUnit("s", Level.STREET, "d", "Street"))
CM1, CM2 = OrgUnit("cm1", Level.COMMUNITY, "s", "Community 1"), OrgUnit("cm2", Level.COMMUNITY, "s", "Community 2")
G1, G2 = OrgUnit("g1", Level.GRID, "cm1", "Grid 1"), OrgUnit("g2", Level.GRID, "cm1", "Grid 2")
K1 = OrgUnit("k1", Level.COMPOUND, "g1", "Compound 1")
BASE = [C, D, S, CM1, CM2, G1, G2, K1]


def published(*units: OrgUnit) -> dict[str, OrgUnit]:
    return {u.unit_id: u for u in units}


def rows(*units: OrgUnit) -> list[tuple[str, OrgUnit]]:
    return [(f"org.csv:{n}", u) for n, u in enumerate(units, start=2)]


# --- diff ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, wanted, expected", [
    ("nothing changed", BASE, []),
    ("a grid added", BASE + [OrgUnit("g3", Level.GRID, "cm2", "Grid 3")], [("g3", "added", 1)]),
    ("a grid moved", [G2.__class__("g2", Level.GRID, "cm2", "Grid 2") if u is G2 else u for u in BASE],
     [("g2", "moved", 2)]),
    ("a grid renamed", [replace(G2, name="Grid Two") if u is G2 else u for u in BASE], [("g2", "renamed", 2)]),
    ("moved and renamed", [replace(G2, parent_id="cm2", name="X") if u is G2 else u for u in BASE],
     [("g2", "moved, renamed", 2)]),
    ("a grid retired", [u for u in BASE if u is not G2], [("g2", "retired", 2)]),
    ("a subtree retired bottom up", [u for u in BASE if u not in (G1, K1)],
     [("k1", "retired", 2), ("g1", "retired", 2)]),
    ("merged: a grid retired, its compound moved to the other",
     [replace(K1, parent_id="g2") if u is K1 else u for u in BASE if u is not G1],
     [("k1", "moved", 2), ("g1", "retired", 2)]),
])
def test_diff_names_each_change_with_its_next_revision(name, wanted, expected):
    changes = diff(published(*BASE), OrgTree(wanted))
    assert [(c.unit.unit_id, c.label, c.unit.rev) for c in changes] == expected
    for change in changes:
        assert change.unit.retired == (change.kinds == ("retired",))


def test_a_retired_unit_in_the_file_again_is_restored():
    on_topic = published(*BASE[:-1], replace(K1, rev=3, retired=True))
    [change] = diff(on_topic, OrgTree(BASE))
    assert (change.label, change.unit.rev, change.unit.retired) == ("restored", 4, False)


def test_an_already_retired_unit_is_not_retired_again():
    assert diff(published(*BASE, OrgUnit("old", Level.GRID, "cm2", "Old", 2, True)), OrgTree(BASE)) == []


def test_additions_come_parents_first():
    new = [OrgUnit("k9", Level.COMPOUND, "g9", "K9"), OrgUnit("g9", Level.GRID, "cm9", "G9"),
           OrgUnit("cm9", Level.COMMUNITY, "s", "CM9")]
    assert [c.unit.unit_id for c in diff(published(*BASE), OrgTree(BASE + new))] == ["cm9", "g9", "k9"]


# --- check -----------------------------------------------------------------------------------

@pytest.mark.parametrize("units, message", [
    ([C, D, S, replace(D, name="again")], r"org.csv:5: unit 'd' is defined twice \(first at org.csv:3\)"),
    ([C, D, OrgUnit("s", Level.STREET, "nowhere", "S")], r"org.csv:4: unit 's': parent 'nowhere' is not in the tree"),
    ([C, D, OrgUnit("g", Level.GRID, "d", "G")], r"org.csv:4: unit 'g' \(grid\): parent 'd' is a district, "
                                                 r"expected a community"),
    ([C, D, OrgUnit("s", Level.STREET, None, "S")], r"org.csv:4: unit 's' is a street without a parent"),
    ([C, D, OrgUnit("c2", Level.CITY, None, "C2")], r"exactly one city root, found 2: 'c' \(org.csv:2\), 'c2'"),
    ([D, S], r"exactly one city root, found 0"),
    ([C, replace(D, retired=True), S], r"org.csv:4: unit 's': parent 'd' is retired"),
    ([C, OrgUnit("a", Level.DISTRICT, "b", "A"), OrgUnit("b", Level.DISTRICT, "a", "B")],
     r"units 'a' -> 'b' -> 'a' form a cycle"),
])
def test_check_names_the_row_of_each_fault(units, message):
    with pytest.raises(OrgTreeError, match=message):
        check(rows(*units))


def test_check_returns_the_tree_in_force_with_the_retired_apart():
    tree = check(rows(*BASE, OrgUnit("old", Level.GRID, "cm2", "Old", 1, True)))
    assert len(tree) == len(BASE) and "old" not in tree and tree.retired("old") is not None


def test_a_file_lists_every_fault_at_once():
    with pytest.raises(OrgTreeError) as caught:
        check(rows(C, OrgUnit("x", Level.STREET, "nope", "X"), OrgUnit("y", Level.STREET, "nope", "Y")))
    assert "org.csv:3" in str(caught.value) and "org.csv:4" in str(caught.value)


def test_read_rows_names_a_bad_header(tmp_path):
    path = tmp_path / "org.csv"
    path.write_text("id,level,parent,name\n", encoding="utf-8")
    with pytest.raises(OrgTreeError, match=r"org.csv:1: the header lacks parent_id, unit_id"):
        read_rows(path)


def test_read_rows_names_a_bad_json_line(tmp_path):
    path = tmp_path / "org.jsonl"
    path.write_text('{"unit": "c", "level": "city", "parent": null, "name": "C"}\n\n{oops\n', encoding="utf-8")
    with pytest.raises(OrgTreeError, match=r"org.jsonl:3: not a JSON object"):
        read_rows(path)


# --- the tree in force -----------------------------------------------------------------------

@pytest.mark.parametrize("name, records, in_tree, waiting", [
    ("all present", BASE, {u.unit_id for u in BASE}, {}),
    ("a child before its parent", [C, D, S, G1], {"c", "d", "s"}, {"g1": "parent 'cm1' unknown"}),
    ("below a retired unit", [C, D, S, replace(CM1, retired=True), G1], {"c", "d", "s"},
     {"g1": "parent 'cm1' retired"}),
    ("a subtree waits with its root", [C, D, CM1, G1], {"c", "d"},
     {"cm1": "parent 's' unknown", "g1": "an ancestor of 'cm1' is not in force"}),
    ("a level gap", [C, D, OrgUnit("g", Level.GRID, "d", "G")], {"c", "d"}, {"g": "parent 'd' is a district"}),
])
def test_the_tree_in_force_takes_records_in_any_order(name, records, in_tree, waiting):
    tree, left_out = in_force(published(*records))
    assert {u.unit_id for u in tree} == in_tree
    assert left_out == waiting


# --- escalation along the tree in force ------------------------------------------------------

@pytest.mark.parametrize("name, records, holder, target", [
    ("in force: its parent", BASE, "g1", "cm1"),
    ("moved: its new parent", [replace(G1, parent_id="cm2") if u is G1 else u for u in BASE], "g1", "cm2"),
    ("retired: its last parent", [replace(G1, retired=True) if u is G1 else u for u in BASE], "g1", "cm1"),
    ("retired with its parent: the next ancestor in force",
     [replace(u, retired=True) if u in (G1, CM1, G2) else u for u in BASE], "g1", "s"),
    ("at the city: nowhere", BASE, "c", None),
    ("never known: nowhere", BASE, "atlantis", None),
])
def test_escalation_goes_to_the_parent_in_force(name, records, holder, target):
    tree, _ = in_force(published(*records))
    found = escalation_target(tree, holder)
    assert (found.unit_id if found else None) == target


def test_a_retired_grids_open_matter_escalates_to_its_community_on_breach():
    policy = policy_mod.load(None)
    ctx = Context(policy, OrgTree(BASE), Calendar())
    category = next(c for c in policy.categories.values() if policy.entry_level(c.name, "normal") == Level.GRID)
    report = MatterReported(event_id="e1", matter_id="m1", occurred_at=1_767_000_000_000, producer="t",
                            kind=category.kind, category=category.name, priority="normal", place="k1",
                            channel=CHANNELS[0], reporter="r1", text="")
    state = decide(None, report, ctx).state
    assert (state.unit, state.level) == ("g1", "grid")
    retired, _ = in_force(published(*[replace(G1, rev=2, retired=True) if u is G1 else u for u in BASE]))
    later = replace(ctx, tree=retired)
    due = state.next_timer()
    proposal = DeadlineReached(event_id="timer", matter_id="m1", occurred_at=due.due, producer="t", cycle=state.cycle,
                               deadline=due.deadline, due_at=due.due)
    new = decide(state, proposal, later).state
    assert (new.unit, new.level, new.place) == ("cm1", "community", "k1")


# --- records ---------------------------------------------------------------------------------

def test_org_records_round_trip_with_revision_and_retirement():
    unit = OrgUnit("g1", Level.GRID, "cm1", "Grid 1", rev=3, retired=True)
    assert codec.decode_org_unit(codec.encode_org_unit(unit)) == unit
    assert unit.to_record() == {"unit": "g1", "level": "grid", "parent": "cm1", "name": "Grid 1", "v": 2,
                                "rev": 3, "retired": True}


def test_a_version_1_record_reads_as_revision_1_in_force():
    unit = OrgUnit.from_record({"unit": "g1", "level": "grid", "parent": "cm1", "name": "Grid 1", "v": 1})
    assert (unit.rev, unit.retired) == (1, False)


@pytest.mark.parametrize("field, value", [("v", 3), ("rev", 0), ("rev", "2"), ("retired", "yes")])
def test_a_bad_versioned_field_is_named(field, value):
    record = {"unit": "g1", "level": "grid", "parent": "cm1", "name": "G", "v": 2, field: value}
    with pytest.raises(ValidationError, match=f"^{field}: expected"):
        OrgUnit.from_record(record)
