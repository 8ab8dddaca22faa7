"""One self-contained HTML page: plotly.js inlined, the charts' figures embedded as JSON.

The page loads nothing at view time (no network, no other file). The figures are in
``<script type="application/json" id="gridflow-report">`` and, once every chart is drawn, in
``window.gridflowReport`` (``window.gridflowReportReady`` is then true): a browser test reads
them back, and so can anyone with the developer tools.
"""
from __future__ import annotations

import html
import json
from datetime import datetime, timezone
import importlib.util
from pathlib import Path

from projections.errors import ProjectionError
from projections.pictures.charts import figures
from projections.pictures.data import Pictures
from projections.render import _scope_line, duration, pct

TITLES = {"share": "Where matters are resolved", "flow": "Escalation flow", "on_time": "On time, unit by week",
          "drill": "Drill-down", "resolve": "Time to resolve", "accept": "Time to accept"}

STYLE = """
body { font: 14px/1.45 system-ui, 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif; margin: 24px auto;
       max-width: 1180px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin: 0 0 4px; } .scope { color: #555; margin-bottom: 16px; }
table.headline { border-collapse: collapse; margin: 8px 0 20px; }
table.headline td { padding: 2px 14px 2px 0; } table.headline td.v { text-align: right; font-weight: 600; }
section { margin: 18px 0 26px; border-top: 1px solid #ddd; padding-top: 8px; }
.note { color: #666; font-size: 12px; }
"""

SCRIPT = """
(function () {
  var report = JSON.parse(document.getElementById('gridflow-report').textContent);
  var drawn = Object.keys(report.charts).map(function (id) {
    var fig = report.charts[id];
    return Plotly.newPlot('chart-' + id, fig.data, fig.layout,
                          {displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud']});
  });
  window.gridflowReport = report;
  Promise.all(drawn).then(function () { window.gridflowReportReady = true; });
})();
"""


def plotly_js() -> str:
    """plotly.min.js as the ``plotly`` Python package ships it (MIT licence), found without
    importing that package (the Python side of plotly is not used)."""
    spec = importlib.util.find_spec("plotly")
    path = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js" if spec else None
    if path is None or not path.is_file():
        raise ProjectionError("gridflow report needs the plotly package for its charting script: "
                              "pip install 'plotly>=6,<8'")
    return path.read_text(encoding="utf-8")


def _json_for_script(value) -> str:
    # "</" would end the <script> element early; "<\/" means the same inside a JSON string
    return json.dumps(value, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")


def headline(p: Pictures) -> list[tuple[str, str]]:
    t = p.report.total
    rows = [("matters", f"{t.matters:,}"), ("resolved", f"{t.resolved:,}")]
    rows += [(f"resolved at {lv}", pct(share)) for lv, share in reversed(list(t.share_by_level.items()))]
    for rate in t.catalogue.rates:
        rows.append((f"{rate.chinese} {rate.label}".strip() if rate.chinese else rate.label, pct(getattr(t, rate.name))))
    rows.append(("escalations", f"{t.escalations:,}"))
    for label, q in (("time to accept", t.accept_seconds), ("time to resolve", t.resolve_seconds)):
        rows.append((f"{label} p50 · p80 · p95", " · ".join(duration(v) for v in q.values()) if q else "-"))
    return rows


def render(p: Pictures, *, script: str | None = None) -> str:
    """The HTML page of ``p``."""
    charts = figures(p)
    payload = {"scope": {"unit": p.report.total.unit, "name": p.report.total.name, "level": p.report.total.level,
                         "since": p.report.scope.since, "until": p.report.scope.until,
                         "categories": list(p.report.scope.categories), "kind": p.report.scope.kind, "tz": p.tz},
               "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "headline": p.report.total.to_dict(), "charts": charts}
    rows = "\n".join(f"<tr><td>{html.escape(k)}</td><td class=v>{html.escape(v)}</td></tr>" for k, v in headline(p))
    sections = "\n".join(f'<section><h2>{html.escape(TITLES[c])}</h2><div id="chart-{c}"></div></section>' for c in charts)
    title = f"gridflow report: {p.report.total.name}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
<script>{plotly_js() if script is None else script}</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<div class="scope">{html.escape(_scope_line(p.report, p.tz))}</div>
<table class="headline">
{rows}
</table>
<p class="note">Every figure is defined in docs/statistics.md and computed in ClickHouse from the event log;
generated {payload['generated_at']}. Weeks start on Monday ({html.escape(p.tz)}); a matter counts in the week it
was reported, with its state as of now.</p>
{sections}
<script type="application/json" id="gridflow-report">{_json_for_script(payload)}</script>
<script>{SCRIPT}</script>
</body>
</html>
"""
