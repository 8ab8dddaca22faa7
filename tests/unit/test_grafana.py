"""Every PromQL expression gridflow ships (dashboard panels, recording and alert rules) parses
and names only metrics that exist: declared in docs/metrics.md (which must agree with
docs/CONVENTIONS.md), recorded by a rule, and, once streams/metrics.py and
projections/metrics.py exist, registered by that code with the documented type and labels."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "gridflow.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "gridflow.yml"
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
METRICS_DOC = ROOT / "docs" / "metrics.md"
CONVENTIONS = ROOT / "docs" / "CONVENTIONS.md"
PROCESS_MODULES = {"worker": "streams.metrics", "projector": "projections.metrics", "api": "gridflow.api.metrics"}
PROMETHEUS_BUILTIN = {"up"}

# --- a small PromQL reader: which metric names does an expression select? ----------------

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "and", "or", "unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    s = re.sub(r"\{[^}]*\}", "", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)  # range and subquery brackets
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        before = s[m.start() - 1] if m.start() else " "
        if before.isdigit() or before == ".":  # 1e3, 10m
            continue
        if s[m.end():].lstrip().startswith("(") or m.group().lower() in _KEYWORDS:
            continue  # a function or aggregation, or a keyword
        names.add(m.group())
    return names


def test_the_promql_reader_finds_metrics_and_skips_functions_labels_and_durations():
    expr = ('histogram_quantile(0.95, sum by (le) (rate(a_bucket{job=~"x|y"}[5m] offset 1h)))'
            ' / ignoring (level) group_left () (b:c:d > 1e3) unless on() vector(1) or up{job="w"}')
    assert metric_names(expr) == {"a_bucket", "b:c:d", "up"}


# --- what exists ----------------------------------------------------------------------------

def documented_metrics() -> dict[str, dict]:
    """docs/metrics.md's table: name -> {type, labels, processes}."""
    rows = {}
    for line in METRICS_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`(gridflow_\w+)`", cells[0])
        if m and len(cells) >= 4:
            rows[m.group(1)] = {
                "type": cells[1],
                "labels": {x.strip() for x in cells[2].split(",") if x.strip()},
                "processes": {x.strip() for x in cells[3].split(",") if x.strip()},
            }
    return rows


def recorded_series() -> set[str]:
    return {rule["record"] for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"] if "record" in rule}


def rule_exprs() -> list[tuple[str, str]]:
    return [(rule.get("alert") or rule["record"], rule["expr"]) for path in RULE_FILES
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def series_names(name: str, kind: str) -> set[str]:
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return {name}


def known_series() -> set[str]:
    known = set(PROMETHEUS_BUILTIN) | recorded_series()
    for name, row in documented_metrics().items():
        known |= series_names(name, row["type"])
    return known


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict]:
    out = []
    for panel in dashboard()["panels"]:
        out += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    return [(f"{p['title']} [{t['refId']}]", t["expr"]) for p in panels() for t in p.get("targets", [])]


# --- the catalogue agrees with the conventions ----------------------------------------------

def test_metrics_doc_lists_exactly_the_metrics_in_the_conventions():
    conventions = set(re.findall(r"`(gridflow_[a-z_]+)", CONVENTIONS.read_text()))
    assert conventions, "no metric names found in docs/CONVENTIONS.md"
    assert set(documented_metrics()) == conventions


def test_documented_metric_names_follow_prometheus_conventions():
    for name, row in documented_metrics().items():
        assert row["type"] in {"counter", "gauge", "histogram"}, name
        assert row["processes"] <= set(PROCESS_MODULES), name
        assert (row["type"] == "counter") == name.endswith("_total"), name
        assert not row["labels"] & {"matter_id", "unit", "unit_id", "person", "reporter"}, name


# --- the dashboard ----------------------------------------------------------------------------

def test_every_panel_has_queries_on_the_provisioned_datasource():
    uid = yaml.safe_load(DATASOURCES.read_text())["datasources"][0]["uid"]
    ids = [p["id"] for p in dashboard()["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels():
        assert panel.get("targets"), f"{panel['title']}: no query"
        assert panel["datasource"]["uid"] == uid, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
            assert target["expr"].strip(), panel["title"]


def test_every_panel_query_names_only_metrics_that_exist():
    known = known_series()
    for where, expr in dashboard_exprs():
        unknown = metric_names(expr) - known
        assert not unknown, f"{where}: {expr!r} names {sorted(unknown)}, not in docs/metrics.md or the rules"
        assert metric_names(expr), f"{where}: {expr!r} names no metric"


def test_every_rule_names_only_metrics_that_exist():
    known = known_series()
    for where, expr in rule_exprs():
        unknown = metric_names(expr) - known
        assert not unknown, f"{where}: names {sorted(unknown)}, not in docs/metrics.md or the rules"


def test_the_dashboard_shows_what_operators_were_promised():
    used = set().union(*(metric_names(e) for _, e in dashboard_exprs()))
    promised = {
        "throughput": "gridflow:events_in:rate5m",
        "consumer lag": "gridflow:consumer_lag_messages:sum",
        "open matters per level": "gridflow:open_matters:sum",
        "breaches": "gridflow:sla_breaches:rate1h",
        "escalations": "gridflow:escalations:rate1h",
        "dead letters": "gridflow:deadletters:rate5m",
        "projection delay": "gridflow_projection_delay_seconds",
        "the headline share": "gridflow:resolved_share_grid_or_below:ratio_rate1h",
    }
    missing = {what for what, series in promised.items() if series not in used}
    assert not missing, f"no panel for {sorted(missing)}"


def test_every_query_parses(tmp_path):
    """promtool parses each panel query as the expression of a throwaway recording rule."""
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install Debian's prometheus package (.ci/run does)"
    rules = [{"record": f"panel:q{i}:check", "expr": expr} for i, (_, expr) in enumerate(dashboard_exprs())]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run([exe, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def headline_panels() -> list[dict]:
    """The panels above the dashboard's second row: what an operator sees first."""
    second_row = [p for p in dashboard()["panels"] if p["type"] == "row"][1]["gridPos"]["y"]
    return [p for p in dashboard()["panels"] if p["type"] != "row" and p["gridPos"]["y"] < second_row]


def test_the_headline_panels_show_data_when_the_counters_stopped_before_prometheus_started(tmp_path):
    """The README's tour: the worker handled every matter, then Prometheus started. Every sample
    of its counters is the same, so rates are 0 and ratios of rates empty; each headline query
    must still return a series, from the first evaluation on."""
    exe = shutil.which("promtool")
    assert exe, "promtool not found: install Debian's prometheus package (.ci/run does)"
    resolved = {"grid": 30, "compound": 6, "community": 9, "street": 5}
    series = [{"series": f'gridflow_resolved_total{{job="gridflow-worker",instance="127.0.0.1:6066",level="{lv}"}}',
               "values": f"{n}x480"} for lv, n in resolved.items()]  # 2 hours
    exprs = [t["expr"] for p in headline_panels() for t in p["targets"]]
    assert len(exprs) >= 3, "the headline lost its panels"
    cases = [{"expr": f"absent({expr})", "eval_time": when, "exp_samples": []} for expr in exprs for when in ("1m", "90m")]
    suite = tmp_path / "headline_test.yml"
    suite.write_text(yaml.safe_dump({
        "rule_files": [str(p) for p in RULE_FILES], "evaluation_interval": "15s",
        "tests": [{"name": "tour order", "interval": "15s", "input_series": series, "promql_expr_test": cases}]}))
    result = subprocess.run([exe, "test", "rules", str(suite)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, "a headline panel is empty in the tour's order:\n" + result.stdout + result.stderr


def test_the_dashboard_provider_loads_from_the_folder_grafana_mounts():
    provider = yaml.safe_load(PROVIDERS.read_text())["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/gridflow"


# --- the code registers what the docs say -----------------------------------------------

_DUMP_REGISTERED = r"""
import importlib, json, sys
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
name = sys.argv[1]
try:
    module = importlib.import_module(name)
except ModuleNotFoundError as exc:
    if exc.name in (name, name.split(".")[0]):
        sys.exit(3)
    raise
collectors = [v for v in vars(module).values() if isinstance(v, MetricWrapperBase)]
registries = [REGISTRY] + [v for v in vars(module).values() if isinstance(v, CollectorRegistry)]
for registry in registries:
    collectors += [c for c in getattr(registry, "_collector_to_names", {}) if isinstance(c, MetricWrapperBase)]
found = {}
for c in collectors:
    metric = c._name + ("_total" if c._type == "counter" else "")
    if metric.startswith("gridflow_"):
        found[metric] = {"type": c._type, "labels": sorted(c._labelnames)}
print(json.dumps(found))
"""


def registered_metrics(module_name: str) -> dict[str, dict]:
    """Import the module in a fresh interpreter (so the worker's and the projector's metrics do
    not mix in one default registry) and read its prometheus-client metrics."""
    result = subprocess.run([sys.executable, "-c", _DUMP_REGISTERED, module_name], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    if result.returncode == 3:
        pytest.skip(f"{module_name} is not built yet")
    assert result.returncode == 0, f"importing {module_name} failed:\n{result.stderr}"
    return {name: {"type": m["type"], "labels": set(m["labels"])}
            for name, m in json.loads(result.stdout).items()}


@pytest.mark.parametrize("process", sorted(PROCESS_MODULES))
def test_the_code_registers_every_documented_metric_with_its_type_and_labels(process):
    registered = registered_metrics(PROCESS_MODULES[process])
    documented = {n: r for n, r in documented_metrics().items() if process in r["processes"]}
    missing = sorted(set(documented) - set(registered))
    assert not missing, f"{PROCESS_MODULES[process]} does not register {missing}"
    for name, row in documented.items():
        assert registered[name]["type"] == row["type"], name
        assert registered[name]["labels"] == row["labels"], name


@pytest.mark.parametrize("process", sorted(PROCESS_MODULES))
def test_every_gridflow_metric_the_code_registers_is_documented(process):
    registered = registered_metrics(PROCESS_MODULES[process])
    documented = {n for n, r in documented_metrics().items() if process in r["processes"]}
    undocumented = sorted(set(registered) - documented)
    assert not undocumented, f"{PROCESS_MODULES[process]} registers {undocumented}: add them to docs/metrics.md"
