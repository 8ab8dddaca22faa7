"""`gridflow report` on the real stack: a small city projected through Kafka into ClickHouse (the
server and chdb), the page opened in headless Chromium. No console error, no network request,
and every chart holds what the rows of the analysts' `matters` view give, counted here in plain
Python. The screenshot is kept in .gridflow/artifacts/report-<store>.png."""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from browser import Chromium
from events.levels import LEVEL_NAMES
from projection_support import (DAY, ROOT, START, generate, gridflow, own, produce,  # noqa: F401
                                project_until_idle, store)
from projections import orgdim
from projections.pictures import write
from projections.pictures.data import ACCEPT_EDGES, RESOLVE_EDGES
from projections.stats import Scope

pytestmark = pytest.mark.integration

LOG = generate(seed=11, matters=300)
ARTIFACTS = ROOT / ".gridflow" / "artifacts"
UNIT = "c-d1"  # a district: its streets are the drill-down
TZ = ZoneInfo("Asia/Shanghai")
READ_BACK = {
    # what plotly drew: the traces of each chart's graph div
    "charts": "Object.fromEntries(Object.keys(window.gridflowReport.charts).map("
              "id => [id, document.getElementById('chart-' + id).data]))",
    "svgs": "Object.keys(window.gridflowReport.charts).map("
            "id => document.querySelectorAll('#chart-' + id + ' .main-svg').length)",
    "sankey_nodes": "document.querySelectorAll('#chart-flow .sankey-node').length",
}
COLUMNS = ("reported_at", "status", "valid", "is_resolved", "is_closed", "on_time", "resolved_level", "entry_level",
           "holder_level", "escalation_marks", "accepted_at", "accept_seconds", "resolve_seconds", "l3")


def matters_of(st) -> list[dict]:
    names = ", ".join(COLUMNS)
    return [dict(zip(COLUMNS, row)) for row in
            st.query(f"SELECT {names} FROM {st.table('matters')} WHERE l2 = '{UNIT}'")]


def week(ms: int) -> str:
    day = datetime.fromtimestamp(ms / 1000, TZ).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def ratio(n: int, d: int) -> float | None:
    return n / d if d else None


def expected(rows: list[dict]) -> dict:
    weeks = sorted({week(r["reported_at"]) for r in rows})
    resolved = [r for r in rows if r["is_resolved"]]
    share = {lv: [ratio(sum(1 for r in resolved if week(r["reported_at"]) == w and r["resolved_level"] == lv),
                        sum(1 for r in resolved if week(r["reported_at"]) == w)) for w in weeks] for lv in LEVEL_NAMES}
    valid = [r for r in rows if r["valid"]]
    flow = Counter()
    for r in valid:
        flow[("entered", r["entry_level"])] += 1
        for mark in r["escalation_marks"]:
            flow[(LEVEL_NAMES[mark % 8 - 1], LEVEL_NAMES[mark % 8 - 2])] += 1
    for r in resolved:
        flow[(r["resolved_level"], "resolved")] += 1
    for r in rows:
        if r["status"] in ("open", "suspended"):
            flow[(r["holder_level"], "still")] += 1
    units = sorted({r["l3"] for r in rows})
    grid_rate = {u: ratio(sum(1 for r in resolved if r["l3"] == u and r["resolved_level"] in ("grid", "compound")),
                          sum(1 for r in resolved if r["l3"] == u)) for u in units}
    on_time = {u: [ratio(sum(1 for r in rows if r["l3"] == u and week(r["reported_at"]) == w and r["on_time"]),
                         sum(1 for r in rows if r["l3"] == u and week(r["reported_at"]) == w and r["is_closed"]))
                   for w in weeks] for u in units}
    resolve = defaultdict(lambda: [0] * (len(RESOLVE_EDGES) + 1))
    for r in resolved:
        resolve[r["resolved_level"]][bisect_right(RESOLVE_EDGES, r["resolve_seconds"])] += 1
    accept = [0] * (len(ACCEPT_EDGES) + 1)
    for r in valid:
        if r["accepted_at"]:
            accept[bisect_right(ACCEPT_EDGES, r["accept_seconds"])] += 1
    return {"weeks": weeks, "share": share, "flow": {k: v for k, v in flow.items() if v}, "grid_rate": grid_rate,
            "on_time": on_time, "resolve": dict(resolve), "accept": accept}


def same(got, want) -> bool:
    """Equal, numbers to 1e-12 (a rate crossed JSON and JavaScript on its way back)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, float) and isinstance(got, (int, float)):
        return abs(got - want) <= 1e-12
    return got == want


def unit_of(label: str) -> str:
    return label.rsplit("(", 1)[1].rstrip(")")


def test_the_report_renders_in_headless_chromium_and_each_chart_holds_what_the_sql_gives(store, tmp_path):
    orgdim.write_units(store, LOG.units)
    produce(store.settings, LOG.records)
    project_until_idle(store.settings, store)
    page = tmp_path / "report.html"
    if store.settings.store == "server":  # through the command; chdb here is this process's session
        done = gridflow(store.settings, "report", "--unit", UNIT, "-o", str(page))
        assert done.returncode == 0 and f"wrote {page}" in done.stdout, done.stdout + done.stderr
    else:
        write(store, page, Scope(unit=UNIT))
    shot = ARTIFACTS / f"report-{store.settings.store}.png"
    shot.unlink(missing_ok=True)

    nothing = tmp_path / "nothing.html"  # a window with no matter: every chart empty, and still no error
    write(store, nothing, Scope(unit=UNIT, since=START + 3650 * DAY))

    with Chromium(tmp_path / "chromium") as browser:
        visit = browser.visit(page.as_uri(), ready="window.gridflowReportReady === true", values=READ_BACK,
                              screenshot=shot)
        empty = browser.visit(nothing.as_uri(), ready="window.gridflowReportReady === true",
                              values={"traces": "Object.keys(window.gridflowReport.charts).map("
                                                "id => document.getElementById('chart-' + id).data.length)"})

    assert empty.console_errors == [] and empty.values["traces"] == [0] * 6
    assert visit.console_errors == []
    assert [u for u in visit.requests if not u.startswith(("file:", "data:", "blob:"))] == []
    assert visit.values["svgs"] and all(n >= 1 for n in visit.values["svgs"]), visit.values["svgs"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    charts, want = visit.values["charts"], expected(matters_of(store))
    assert len(want["weeks"]) >= 8 and sum(want["accept"]) > 100  # the city has something to draw

    bars = {t["name"].split()[0]: t for t in charts["share"] if t["type"] == "bar"}
    shares = {lv: t["y"] for lv, t in bars.items()}
    assert same(shares, want["share"]), (shares, want["share"])
    assert all(t["x"] == want["weeks"] for t in bars.values())

    sankey = charts["flow"][0]
    labels = sankey["node"]["label"]
    assert visit.values["sankey_nodes"] == len(labels)
    drawn = {(labels[s].split()[0], labels[t].split()[0]): v
             for s, t, v in zip(sankey["link"]["source"], sankey["link"]["target"], sankey["link"]["value"])}
    assert drawn == want["flow"]

    drill = charts["drill"][0]
    ranked = {unit_of(y): x for y, x in zip(drill["y"], drill["x"])}
    assert same(ranked, want["grid_rate"]), (ranked, want["grid_rate"])
    assert drill["x"] == sorted(drill["x"], reverse=True)

    heat = charts["on_time"][0]
    assert heat["x"] == want["weeks"]
    cells = {unit_of(y): z for y, z in zip(heat["y"], heat["z"])}
    assert same(cells, want["on_time"]), (cells, want["on_time"])

    assert {t["name"].split()[0]: t["y"] for t in charts["resolve"]} == want["resolve"]
    assert charts["accept"][0]["y"] == want["accept"]
