"""Rates, ranking and the three output formats of a statistics report (no ClickHouse)."""
from __future__ import annotations

import csv
import io
import json

from projections import render
from projections.stats import Figures, Report, Scope, _rank_key


def figures(unit: str, **counts) -> Figures:
    f = Figures(unit=unit, name=f"{unit} 社区", level="community", **counts)
    return f


def sample() -> Report:
    total = figures("s1", matters=10, cancelled=1, valid=9, resolved=6, closed=4, closed_on_time=3,
                    ever_resolved=7, reworked=1, escalations=3, escalated_matters=2, with_feedback=4, contacted=4,
                    solved=3, satisfied=4, accepted=8)
    total.level = "street"
    total.resolved_by_level.update(compound=1, grid=3, community=1, street=1)
    total.accept_seconds = {"p50": 600.0, "p80": 5400.0, "p95": 90000.0}
    total.resolve_seconds = {"p50": 7200.0, "p80": 86400.0, "p95": 200000.0}
    a = figures("k1", matters=6, valid=6, resolved=4)
    a.resolved_by_level.update(grid=4)
    b = figures("k2", matters=4, valid=3, resolved=2)
    b.resolved_by_level.update(grid=1, street=1)
    return Report(Scope(unit="s1", since=1_767_196_800_000, until=1_769_875_200_000), total,
                  {"district": 0, "street": 0, "community": 1, "grid": 2, "compound": 0}, [a, b], "community",
                  "grid_rate")


def test_rates_follow_their_definitions():
    t = sample().total
    assert t.grid_rate == 4 / 6 and t.community_rate == 5 / 6
    assert t.on_time_rate == 3 / 4 and t.closure_rate == 4 / 9 and t.rework_rate == 1 / 7
    assert t.response_rate == 1.0 and t.resolution_rate == 3 / 4 and t.escalation_rate == 2 / 9


def test_a_rate_without_a_denominator_is_none_not_zero():
    empty = Figures(unit="x")
    assert empty.grid_rate is None and empty.satisfaction_rate is None
    assert render.pct(None) == "-"


def test_children_rank_by_the_figure_then_by_size_and_unknown_last():
    low, high, none = Figures(unit="a", resolved=2), Figures(unit="b", resolved=2), Figures(unit="c")
    low.resolved_by_level["street"] = 2
    high.resolved_by_level["grid"] = 2
    blank = Figures(unit="", matters=99, resolved=1)
    blank.resolved_by_level["grid"] = 1
    ranked = sorted([none, blank, low, high], key=lambda f: _rank_key(f, "grid_rate"))
    assert [f.unit for f in ranked] == ["b", "a", "c", ""]


def test_durations_read_like_a_person_would_say_them():
    assert [render.duration(s) for s in (59, 600, 5400, 90000, None)] == ["1m", "10m", "1h30m", "1d01h", "-"]


def test_table_shows_the_headline_figures_and_the_drill_down():
    text = render.table(sample())
    assert "小事不出网格" in text and "66.7%" in text and "大事不出社区" in text
    assert "按期结案率" in text and "满意率" in text and "p95 2d07h" in text
    assert "community units, ranked by 小事不出网格" in text
    lines = text.splitlines()
    assert lines.index(next(l for l in lines if "k1 社区" in l)) < lines.index(next(l for l in lines if "k2 社区" in l))


def test_chinese_names_are_padded_by_display_width():
    assert render.width("北江社区") == 8 and render.pad("北江", 6) == "北江  "


def test_csv_has_the_total_then_the_children():
    rows = list(csv.DictReader(io.StringIO(render.to_csv(sample()))))
    assert [r["unit"] for r in rows] == ["s1", "k1", "k2"] and rows[0]["scope"] == "total"
    assert float(rows[0]["grid_rate"]) == 4 / 6 and rows[0]["accept_seconds_p95"] == "90000.0"
    assert rows[2]["accept_seconds_p50"] == ""


def test_json_carries_scope_counts_and_rates():
    data = json.loads(render.to_json(sample()))
    assert data["scope"]["unit"] == "s1" and data["total"]["resolved_by_level"]["grid"] == 3
    assert data["total"]["share_by_level"]["grid"] == 0.5 and data["children"][0]["unit"] == "k1"
