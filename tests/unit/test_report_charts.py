"""The charts of `gridflow report` draw the figures they are given, and the page embeds them
safely (no store, no browser: tests/integration/test_report_browser.py opens the real page)."""
from __future__ import annotations

import json
import re

import pytest

from events.levels import LEVEL_NAMES
from gridflow.cli import main
from projections.pictures.charts import figures
from projections.pictures.data import ACCEPT_EDGES, RESOLVE_EDGES, Pictures, bin_labels, bin_sql
from projections.pictures.page import render
from projections.report import Figures, Report, Scope


def fig(unit: str = "", name: str = "", **counts) -> Figures:
    by_level = {lv: counts.pop(f"resolved_{lv}", 0) for lv in LEVEL_NAMES}
    return Figures(unit=unit, name=name, resolved_by_level=by_level, **counts)


def pictures() -> Pictures:
    total = fig("c-d1", "第1区", level="district", matters=10, valid=9, resolved=6, closed=4, closed_on_time=3,
                resolved_grid=3, resolved_community=2, resolved_street=1)
    children = [fig("c-d1-s0", "东街 </script><b>", matters=6, resolved=4, resolved_grid=3, resolved_street=1,
                    closed=2, closed_on_time=2),
                fig("c-d1-s1", "西街", matters=4, resolved=2, resolved_grid=0, resolved_community=2, closed=2,
                    closed_on_time=1)]
    report = Report(Scope(unit="c-d1"), total, {"district": 0, "street": 1, "community": 2, "grid": 3,
                                                "compound": 0}, children, "street", "grid_rate")
    weekly = [fig(resolved=4, resolved_grid=3, resolved_street=1), fig(resolved=0)]
    return Pictures(report, "Asia/Shanghai", weeks=["2026-01-05", "2026-01-12"], weekly=weekly,
                    flow={"entered": {"grid": 7, "community": 2}, "escalated": {"grid": 3, "community": 2},
                          "resolved": {"grid": 3, "community": 2, "street": 1}, "open": {"street": 1}},
                    units=children, on_time=[[1.0, None], [0.5, None]], closed=[[2, 0], [2, 0]],
                    resolve_bins={"grid": [1, 2] + [0] * (len(RESOLVE_EDGES) - 1)},
                    accept_bins=[5] + [0] * len(ACCEPT_EDGES))


def test_the_weekly_share_bars_are_the_share_by_level_of_each_week():
    share = figures(pictures())["share"]
    bars = {t["name"].split()[0]: t["y"] for t in share["data"] if t["type"] == "bar"}
    assert set(bars) == set(LEVEL_NAMES)
    assert bars["grid"] == [0.75, None] and bars["street"] == [0.25, None] and bars["city"] == [0.0, None]
    line = next(t for t in share["data"] if t["type"] == "scatter")
    assert line["y"] == [0.75, None]  # 小事不出网格: grid + compound over resolved


def test_the_flow_links_go_from_entry_up_the_levels_to_where_matters_ended():
    sankey = figures(pictures())["flow"]["data"][0]
    labels = sankey["node"]["label"]
    links = {(labels[s].split()[0], labels[t].split()[0]): v
             for s, t, v in zip(sankey["link"]["source"], sankey["link"]["target"], sankey["link"]["value"])}
    assert links == {("entered", "grid"): 7, ("entered", "community"): 2, ("grid", "community"): 3,
                     ("community", "street"): 2, ("grid", "resolved"): 3, ("community", "resolved"): 2,
                     ("street", "resolved"): 1, ("street", "still"): 1}


def test_the_heatmap_and_the_drill_down_show_the_ranked_units():
    charts = figures(pictures())
    heat = charts["on_time"]["data"][0]
    assert heat["z"] == [[1.0, None], [0.5, None]] and heat["x"] == ["2026-01-05", "2026-01-12"]
    assert [y.split(" (")[-1] for y in heat["y"]] == ["c-d1-s0)", "c-d1-s1)"]
    bars = charts["drill"]["data"][0]
    assert bars["x"] == [0.75, 0.0] and bars["customdata"] == [6, 4]
    assert charts["drill"]["meta"] == {"figure": "grid_rate", "child_level": "street"}


def test_time_histograms_have_one_bar_per_bin():
    assert bin_labels(RESOLVE_EDGES)[:3] == ["<1h", "1h–4h", "4h–12h"] and bin_labels(RESOLVE_EDGES)[-1] == "≥30d"
    assert bin_labels(ACCEPT_EDGES)[0] == "<10m"
    assert bin_sql("x", (60, 120)) == "multiIf(x < 60, 0, x < 120, 1, 2)"
    charts = figures(pictures())
    assert charts["resolve"]["data"][0]["y"][:2] == [1, 2]
    assert len(charts["resolve"]["data"][0]["x"]) == len(RESOLVE_EDGES) + 1
    assert charts["accept"]["data"][0]["y"][0] == 5


def test_a_scope_without_matters_draws_no_trace_but_says_so():
    empty = Pictures(Report(Scope(unit="c-d1"), fig("c-d1", "第1区"), {}, [], "street", "grid_rate"),
                     "Asia/Shanghai", accept_bins=[0] * (len(ACCEPT_EDGES) + 1))
    for name, chart in figures(empty).items():
        assert chart["data"] == [], name  # plotly.js throws on a heatmap or a Sankey of nothing
        assert chart["layout"]["annotations"][0]["text"] == "no matters to show in this scope"


def test_the_page_embeds_every_chart_as_json_and_a_unit_name_cannot_close_the_script():
    page = render(pictures(), script="/* plotly stub */")
    assert page.count("</script>") == 3  # the library, the data, the drawing code
    data = re.search(r'<script type="application/json" id="gridflow-report">(.*?)</script>', page, re.S).group(1)
    payload = json.loads(data)
    assert list(payload["charts"]) == ["share", "flow", "on_time", "drill", "resolve", "accept"]
    assert payload["charts"] == json.loads(json.dumps(figures(pictures())))
    assert payload["scope"]["unit"] == "c-d1" and payload["headline"]["matters"] == 10
    assert "<\\/script><b>" in data and payload["charts"]["drill"]["data"][0]["y"][0].startswith("东街 </script><b>")
    for chart in payload["charts"]:
        assert f'<div id="chart-{chart}"></div>' in page


def test_the_page_inlines_the_plotly_library():
    page = render(pictures())
    assert "plotly.js v" in page[:5000] and len(page) > 1_000_000
    assert not re.search(r"<script[^>]*\bsrc=", page)


@pytest.mark.parametrize("args, message", [
    (["report", "--tz", "Mars/Base"], "--tz: unknown time zone 'Mars/Base'"),
    (["report", "--limit", "0"], "--limit: expected a positive number"),
])
def test_bad_options_are_one_line_on_stderr(args, message, capsys):
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
