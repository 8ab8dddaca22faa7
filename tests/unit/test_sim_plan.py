"""The simulated stream: deterministic, time-ordered, valid, with watermarks, and a plausible city."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from events import codec
from events import policy as policy_module
from events.calendar import CST, DAY_MS
from events.levels import Level
from events.types import Watermark
from gridflow.city import generate
from gridflow.simulate import GroundTruth, plan

MIN = 60_000


@pytest.fixture(scope="module")
def world():
    return generate(grids=400, seed=2), policy_module.load()


@pytest.fixture(scope="module")
def week(world):
    tree, policy = world
    p = plan(tree, policy, days=7, seed=11, matters_per_day=300)
    return p, list(p)


def test_the_same_seed_gives_the_same_stream_and_another_seed_another(world):
    tree, policy = world
    one = [codec.encode(e) for e in plan(tree, policy, days=2, seed=4, matters_per_day=100)]
    two = [codec.encode(e) for e in plan(tree, policy, days=2, seed=4, matters_per_day=100)]
    other = [codec.encode(e) for e in plan(tree, policy, days=2, seed=5, matters_per_day=100)]
    assert one == two and one != other


def test_events_come_in_time_order_and_each_matter_starts_with_its_report(week):
    _, events = week
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    first = {}
    for e in events:
        if not isinstance(e, Watermark):
            first.setdefault(e.matter_id, e.TYPE)
    assert set(first.values()) == {"reported"}


def test_every_event_is_a_valid_upstream_event_with_a_unique_id(week):
    _, events = week
    assert all(codec.decode(codec.encode(e)) == e for e in events)
    assert len({e.event_id for e in events}) == len(events)


def test_watermarks_tick_every_15_minutes_then_hourly_while_draining_and_close_the_stream(week):
    p, events = week
    marks = [e.occurred_at for e in events if isinstance(e, Watermark)]
    assert {e.matter_id for e in events if isinstance(e, Watermark)} == {p.clock_id}
    steps = Counter(b - a for a, b in zip(marks, marks[1:]))
    assert set(steps) == {15 * MIN, 60 * MIN}
    assert marks[0] == p.start_ms + 15 * MIN and marks[-1] >= p.truth.last_event_at
    assert isinstance(events[-1], Watermark)
    # a watermark comes after every event at or before it
    newest = 0
    for e in events:
        if isinstance(e, Watermark):
            newest = e.occurred_at
        else:
            assert e.occurred_at > newest


def test_arrivals_peak_in_working_hours_and_on_working_days(week):
    p, events = week
    reports = [e for e in events if e.TYPE == "reported"]
    hours = Counter(datetime.fromtimestamp(e.occurred_at / 1000, tz=CST).hour for e in reports)
    assert sum(hours[h] for h in range(9, 18)) > 0.6 * len(reports)
    assert hours[10] > 10 * max(1, hours[3])
    days = Counter((e.occurred_at - p.start_ms) // DAY_MS for e in reports)  # 2026-03-02 is a Monday
    assert min(days[d] for d in range(5)) > max(days[5], days[6])


def test_the_mix_covers_every_category_kind_channel_and_priority(week):
    p, events = week
    reports = [e for e in events if e.TYPE == "reported"]
    assert {e.category for e in reports} == set(p.policy.categories)
    kinds = Counter(e.kind for e in reports)
    assert 0.5 < kinds["incident"] / len(reports) < 0.7
    assert {e.channel for e in reports} == {"app", "hotline", "patrol", "wechat", "mailbox", "visit"}
    assert {e.priority for e in reports} == {"low", "normal", "urgent"}
    places = Counter(p.tree.get(e.place).level for e in reports)
    assert places[Level.COMPOUND] > places[Level.GRID] > 0


def test_most_matters_end_at_grid_or_community_and_some_levels_escalate(week):
    p, _ = week
    s = p.truth.summary()
    share = s["share_by_level"]
    assert share["grid"] + share["community"] > 0.75
    assert share["grid"] > share["community"] > share["street"]
    assert 0.03 < s["escalated_matters"] / s["matters"] < 0.2
    assert 0.01 < s["cancelled"] / s["matters"] < 0.06
    assert s["open"] == 0 and s["closed"] + s["cancelled"] == s["matters"]


def test_the_truth_counts_what_the_stream_holds_and_survives_a_file(week, tmp_path):
    p, events = week
    truth = p.truth
    assert truth.events == sum(not isinstance(e, Watermark) for e in events)
    assert truth.watermarks == sum(isinstance(e, Watermark) for e in events)
    assert len(truth) == sum(e.TYPE == "reported" for e in events)
    back = GroundTruth.read(truth.write(tmp_path / "truth.jsonl"))
    assert back.summary() == truth.summary()
    assert back.matters == truth.matters


def test_the_size_of_the_city_sets_the_default_volume(world):
    tree, policy = world
    p = plan(tree, policy, days=1, seed=1)
    assert p.matters_per_day == 400 // 3
    for _ in p:
        pass
    assert 0.6 * p.matters_per_day < len(p.truth) < 1.4 * p.matters_per_day


def test_a_plan_is_iterated_once(world):
    tree, policy = world
    p = plan(tree, policy, days=1, seed=1, matters_per_day=5)
    list(p)
    with pytest.raises(RuntimeError, match="iterated once"):
        iter(p)


def test_runs_with_other_parameters_get_other_matter_ids(world):
    tree, policy = world
    ids = lambda **kw: plan(tree, policy, seed=1, matters_per_day=10, **kw).run_id
    assert ids(days=2) == ids(days=2) != ids(days=3)
    assert plan(tree, policy, days=2, seed=1, run_id="demo").clock_id == "clock-demo"
