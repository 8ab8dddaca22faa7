"""The charts of ``gridflow report`` as plotly.js figures (plain dicts: ``data`` and ``layout``).

Pure functions of ``Pictures``: no store, no HTML. Each chart's ``meta.figure`` says which
figure of docs/statistics.md it draws, so a reader (or a test) can tell them apart.
"""
from __future__ import annotations

from events.levels import CHINESE, LEVEL_NAMES, Level
from projections.figures import CATALOGUE
from projections.pictures.data import ACCEPT_EDGES, RESOLVE_EDGES, Pictures, bin_labels
from projections.render import duration, rank_label

LEVEL_COLOURS = {"city": "#7f3c8d", "district": "#3969ac", "street": "#11a579", "community": "#f2b701",
                 "grid": "#e73f74", "compound": "#80ba5a"}
LEGEND = {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"}  # above the plot
FONT = {"family": "system-ui, 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif", "size": 13}


def level_name(level: str) -> str:
    return f"{level} {CHINESE[Level[level.upper()]]}"


def _layout(title: str, subtitle: str = "", **extra) -> dict:
    text = f"{title}<br><sub>{subtitle}</sub>" if subtitle else title
    for axis in ("xaxis", "yaxis"):  # long tick labels (53 weeks, unit names) push the axis title out
        if axis in extra:
            extra[axis] = {"automargin": True, **extra[axis]}
    top = 110 if "legend" in extra else 80
    return {"title": {"text": text, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top"}, "font": FONT,
            "margin": {"l": 60, "r": 20, "t": top, "b": 50},
            "paper_bgcolor": "#fff", "plot_bgcolor": "#fff", "height": 420, **extra}


def _empty(figure: dict) -> dict:
    """The figure without traces, saying so (plotly.js cannot draw a heatmap or a Sankey of nothing)."""
    figure["data"] = []
    figure["layout"]["annotations"] = [{"text": "no matters to show in this scope", "showarrow": False,
                                        "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "font": {"size": 16}}]
    figure["layout"]["xaxis"] = {"visible": False}
    figure["layout"]["yaxis"] = {"visible": False}
    figure["layout"]["height"] = 240
    return figure


def share_by_week(p: Pictures) -> dict:
    """Stacked shares of the resolved matters by resolving level, per report week."""
    data = [{"type": "bar", "name": level_name(lv), "x": p.weeks, "marker": {"color": LEVEL_COLOURS[lv]},
             "y": [f.share_by_level[lv] for f in p.weekly],
             "customdata": [f.resolved_by_level[lv] for f in p.weekly],
             "hovertemplate": "%{y:.1%} (%{customdata} matters)<extra>" + lv + "</extra>"}
            for lv in reversed(LEVEL_NAMES)]
    data.append({"type": "scatter", "mode": "lines+markers", "name": "小事不出网格 (grid or below)", "x": p.weeks,
                 "y": [f.grid_rate for f in p.weekly], "line": {"color": "#222", "dash": "dot"}})
    figure = {"data": data, "meta": {"figure": "share_by_level"},
              "layout": _layout("Share of resolved matters by the level that resolved them, by week reported",
                                barmode="stack", yaxis={"tickformat": ".0%", "range": [0, 1]},
                                xaxis={"title": {"text": "week (Monday)"}, "type": "category"},
                                legend=LEGEND)}
    return figure if p.weeks else _empty(figure)


def flow(p: Pictures) -> dict:
    """Sankey: where valid matters entered, the escalations up the levels, where they ended."""
    nodes = ["entered", *(level_name(lv) for lv in LEVEL_NAMES), "resolved", "still open"]
    index = {lv: i + 1 for i, lv in enumerate(LEVEL_NAMES)}
    links: list[tuple[int, int, int, str]] = []
    for lv, n in p.flow.get("entered", {}).items():
        links.append((0, index[lv], n, "entered at"))
    for lv, n in p.flow.get("escalated", {}).items():
        links.append((index[lv], index[lv] - 1, n, "escalated"))
    for lv, n in p.flow.get("resolved", {}).items():
        links.append((index[lv], len(nodes) - 2, n, "resolved"))
    for lv, n in p.flow.get("open", {}).items():
        links.append((index[lv], len(nodes) - 1, n, "open"))
    colours = ["#999", *(LEVEL_COLOURS[lv] for lv in LEVEL_NAMES), "#4c9a2a", "#c44"]
    data = [{"type": "sankey", "arrangement": "snap", "valueformat": "d",
             "node": {"label": nodes, "color": colours, "pad": 18, "thickness": 16},
             "link": {"source": [s for s, *_ in links], "target": [t for _, t, *_ in links],
                      "value": [n for *_, n, _ in links], "label": [k for *_, k in links],
                      "color": ["rgba(120,120,120,0.25)"] * len(links)}}]
    figure = {"data": data, "meta": {"figure": "escalation_flow"},
              "layout": _layout("Escalation flow: where matters entered, were handed up (上报), and ended", height=460)}
    return figure if links else _empty(figure)


def on_time_heatmap(p: Pictures) -> dict:
    """按期结案率 per unit (rows) and report week (columns)."""
    names = [_unit_label(u.unit, u.name) for u in p.units]
    data = [{"type": "heatmap", "x": p.weeks, "y": names, "z": p.on_time, "customdata": p.closed,
             "zmin": 0, "zmax": 1, "colorscale": [[0, "#d73027"], [0.5, "#fee08b"], [1, "#1a9850"]], "xgap": 1, "ygap": 1,
             "colorbar": {"tickformat": ".0%", "title": {"text": "on time"}},
             "hovertemplate": "%{y}<br>week %{x}: %{z:.1%} of %{customdata} closed<extra></extra>"}]
    height = max(300, 120 + 24 * len(names))
    figure = {"data": data, "meta": {"figure": "on_time_rate"},
              "layout": _layout("按期结案率 on-time rate (closed without a breached deadline), by unit and week reported",
                                height=height, xaxis={"type": "category", "title": {"text": "week (Monday)"}},
                                yaxis={"autorange": "reversed", "type": "category", "automargin": True})}
    return figure if p.weeks and names else _empty(figure)


def drill_down(p: Pictures) -> dict:
    """The units one level down, ranked by ``rank_by``."""
    r = p.report
    rank = r.rank_by
    is_rate = any(x.name == rank for x in CATALOGUE.rates)
    units = p.units if r.child_level else []
    values = [getattr(u, rank) for u in units]
    data = [{"type": "bar", "orientation": "h", "y": [_unit_label(u.unit, u.name) for u in units], "x": values,
             "customdata": [u.matters for u in units], "marker": {"color": "#3969ac"},
             "hovertemplate": "%{y}: %{x" + (":.1%" if is_rate else "") + "} (%{customdata} matters)<extra></extra>"}]
    title = (f"{r.child_level} units of {r.total.name}, ranked by {rank_label(CATALOGUE, rank)} ({rank})"
             if r.child_level else "No units one level down")
    figure = {"data": data, "meta": {"figure": rank, "child_level": r.child_level},
              "layout": _layout(title, height=max(300, 120 + 24 * len(units)),
                                xaxis={"tickformat": ".0%" if is_rate else ""},
                                yaxis={"autorange": "reversed", "type": "category", "automargin": True})}
    return figure if units else _empty(figure)


def resolve_times(p: Pictures) -> dict:
    labels = bin_labels(RESOLVE_EDGES)
    q = p.report.total.resolve_seconds or {}
    data = [{"type": "bar", "name": level_name(lv), "x": labels, "y": counts, "marker": {"color": LEVEL_COLOURS[lv]}}
            for lv, counts in p.resolve_bins.items()]
    quantiles = " · ".join(f"{k} {duration(v)}" for k, v in q.items()) or "none resolved"
    figure = {"data": data, "meta": {"figure": "resolve_seconds"},
              "layout": _layout("Time to resolve (report to the resolution that stands), by resolving level", quantiles,
                                barmode="stack", xaxis={"type": "category", "title": {"text": "time to resolve"}},
                                yaxis={"title": {"text": "matters"}}, legend=LEGEND)}
    return figure if data else _empty(figure)


def accept_times(p: Pictures) -> dict:
    q = p.report.total.accept_seconds or {}
    quantiles = " · ".join(f"{k} {duration(v)}" for k, v in q.items()) or "none accepted"
    data = [{"type": "bar", "name": "accepted", "x": bin_labels(ACCEPT_EDGES), "y": p.accept_bins,
             "marker": {"color": "#11a579"}}]
    figure = {"data": data, "meta": {"figure": "accept_seconds"},
              "layout": _layout("Time to accept (report to the first acceptance)", quantiles,
                                xaxis={"type": "category", "title": {"text": "time to accept"}},
                                yaxis={"title": {"text": "matters"}})}
    return figure if any(p.accept_bins) else _empty(figure)


def _unit_label(unit: str, name: str) -> str:
    return f"{name} ({unit})" if unit else name


CHARTS = {"share": share_by_week, "flow": flow, "on_time": on_time_heatmap, "drill": drill_down,
          "resolve": resolve_times, "accept": accept_times}


def figures(p: Pictures) -> dict[str, dict]:
    """Chart id -> plotly figure, in the order of the page."""
    return {name: build(p) for name, build in CHARTS.items()}
