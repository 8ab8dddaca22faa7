"""The routing and SLA policy file: loading, most-specific-rule lookup, and clear errors."""
from __future__ import annotations

import copy

import pytest
import yaml

from events import Level, PolicyError, policy
from events.policy import DEFAULT_PATH

BASE = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def test_shipped_policy_loads_and_declares_every_kind():
    p = policy.load()
    assert p.version == "2026.2"
    assert {c.kind for c in p.categories.values()} == {"incident", "request"}


@pytest.mark.parametrize("category, priority, level", [
    ("sanitation", "normal", Level.GRID),
    ("safety_hazard", "urgent", Level.COMMUNITY),
    ("neighbour_dispute", "low", Level.COMPOUND),
    ("illegal_construction", "urgent", Level.STREET),
    ("utility_repair", "low", Level.COMMUNITY),
])
def test_entry_level_depends_on_category_and_priority(category, priority, level):
    assert policy.load().entry_level(category, priority) is level


@pytest.mark.parametrize("level, category, priority, accept, resolve, basis", [
    (Level.GRID, "sanitation", "normal", "2h", "2wd", "working"),      # level rule
    (Level.COMMUNITY, "sanitation", "low", "4h", "3wd", "working"),
    (Level.GRID, "sanitation", "urgent", "30m", "8h", "natural"),      # priority beats level
    (Level.COMPOUND, "sanitation", "urgent", "30m", "4h", "natural"),  # level+priority beats priority
    (Level.GRID, "elder_fraud", "urgent", "15m", "2h", "natural"),     # category+priority
    (Level.GRID, "micro_wish", "low", "2d", "10wd", "working"),        # category beats level
    (Level.COMMUNITY, "utility_repair", "normal", "4h", "3d", "natural"),
])
def test_the_most_specific_sla_rule_wins(level, category, priority, accept, resolve, basis):
    sla = policy.load().sla(level, category, priority)
    assert (sla.accept.text, sla.resolve.text, sla.resolve.basis) == (accept, resolve, basis)


def test_rules_without_warn_at_use_the_policy_wide_thresholds():
    p = policy.load()
    assert p.sla(Level.GRID, "sanitation", "normal").warn_at == (0.5, 0.8)
    assert p.sla(Level.GRID, "sanitation", "urgent").warn_at == (0.5, 0.75, 0.9)


def broken(mutate):
    raw = copy.deepcopy(BASE)
    mutate(raw)
    return raw


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.pop("version"), "version: expected a non-empty version string"),
    (lambda r: r["categories"]["sanitation"].update(kind="complaint"), "categories.sanitation.kind: expected one of incident, request"),
    (lambda r: r["categories"]["sanitation"].update(entry="village"), "categories.sanitation.entry.low: expected one of city"),
    (lambda r: r["categories"]["sanitation"].update(entry={"low": "grid"}), "categories.sanitation.entry: expected a level"),
    (lambda r: r["sla"][1].update(resolve="3 weeks"), "sla[1].resolve: expected a duration like 30m"),
    (lambda r: r["sla"][1].update(accept="0h"), "sla[1].accept: expected a positive duration"),
    (lambda r: r["sla"][1].pop("accept"), "sla[1].accept: required"),
    (lambda r: r["sla"][1].update(category="parking"), "sla[1].category: expected a declared category"),
    (lambda r: r["sla"][1].update(sla_hours=3), "sla[1]: unknown key 'sla_hours'"),
    (lambda r: r.update(warn_at=[0.5, 1.2]), "warn_at: expected a list of shares between 0 and 1"),
    (lambda r: r.update(sla=[x for x in r["sla"] if len(x) > 2 and ("level" in x or "priority" in x or "category" in x)]),
     "sla: expected a default rule"),
])
def test_invalid_policies_fail_naming_the_place(mutate, message):
    with pytest.raises(PolicyError) as caught:
        policy.parse(broken(mutate), "p.yaml")
    assert message in str(caught.value)


def test_unknown_category_lookup_lists_the_known_ones():
    with pytest.raises(PolicyError, match="category: expected one of .*sanitation.*, got 'parking'"):
        policy.load().entry_level("parking", "low")


def test_load_reports_an_unreadable_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot read the policy"):
        policy.load(tmp_path / "missing.yaml")


def test_the_future_tolerance_has_one_value_per_clock():
    tolerance = policy.load().future_tolerance
    assert (tolerance.for_clock("wall"), tolerance.for_clock("event")) == (10 * 60_000, 86_400_000)


def test_a_policy_without_a_future_tolerance_gets_the_defaults():
    raw = copy.deepcopy(BASE)
    raw.pop("future_tolerance")
    assert policy.parse(raw).future_tolerance == policy.FutureTolerance(10 * 60_000, 86_400_000)


@pytest.mark.parametrize("value, message", [
    ({"wall": "2wd"}, "future_tolerance.wall: expected natural time"),
    ({"wall": "soon"}, "future_tolerance.wall: expected a duration"),
    ({"clock": "1h"}, "future_tolerance: expected a map with wall and event"),
    ("10m", "future_tolerance: expected a map with wall and event"),
])
def test_a_bad_future_tolerance_is_refused(value, message):
    with pytest.raises(PolicyError, match=message):
        policy.parse(copy.deepcopy(BASE) | {"future_tolerance": value})


def test_a_category_name_must_be_an_identifier():
    raw = copy.deepcopy(BASE)
    raw["categories"]["垃圾 清运"] = {"kind": "incident", "entry": "grid"}
    with pytest.raises(PolicyError, match="categories.垃圾 清运: expected a category name"):
        policy.parse(raw)
