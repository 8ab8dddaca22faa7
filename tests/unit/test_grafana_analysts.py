"""The analysts' Grafana dashboard is the one deploy/grafana/analysts.py builds from the figures,
reads only the provisioned ClickHouse datasource, and uses only the plugin's macros and the
dashboard's own variables. (tests/integration/test_grafana_analysts_sql.py runs its SQL.)"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from deploy.grafana import analysts
from projections.figures import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "gridflow-analysts.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "clickhouse.yml"
GRAFANA_USER = ROOT / "deploy" / "docker" / "clickhouse" / "users.d" / "gridflow-grafana.xml"
# the macros of grafana-clickhouse-datasource 4.x that these queries may use
PLUGIN_MACROS = {"$__fromTime", "$__toTime", "$__fromTime_ms", "$__toTime_ms", "$__timeFilter", "$__dateFilter",
                 "$__timeInterval", "$__interval_s", "$__conditionalAll"}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_the_committed_dashboard_is_what_the_generator_builds():
    assert dashboard() == json.loads(json.dumps(analysts.dashboard())), \
        "regenerate: python -m deploy.grafana.analysts > deploy/grafana/dashboards/gridflow-analysts.json"


def test_every_panel_reads_the_provisioned_clickhouse_datasource_with_sql():
    source = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]
    assert source["type"] == "grafana-clickhouse-datasource" and source["jsonData"]["username"] == "grafana"
    assert source["secureJsonData"]["password"].startswith("$"), "the password comes from the environment"
    d = dashboard()
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)) and d["uid"] != "gridflow-overview"
    for panel in d["panels"]:
        assert panel["datasource"] == {"type": source["type"], "uid": source["uid"]}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"] and target["editorType"] == "sql"
            assert target["format"] in (analysts.TABLE, analysts.TIMESERIES) and target["rawSql"].strip()


def test_queries_use_only_the_plugins_macros_and_the_dashboards_variables():
    d = dashboard()
    variables = {v["name"] for v in d["templating"]["list"]}
    sqls = [t["rawSql"] for p in d["panels"] for t in p["targets"]] + [v["query"] for v in d["templating"]["list"]]
    for sql in sqls:
        assert set(re.findall(r"\$__\w+", sql)) <= PLUGIN_MACROS, sql
        assert set(re.findall(r"\$\{(\w+)\}", sql)) <= variables, sql
        assert not re.search(r"\$(?!__|\{)", sql), f"a bare $variable: {sql}"
        assert ";" not in sql, "one statement per query"


def test_the_rates_are_the_figures_of_the_catalogue():
    sql = analysts.monthly_sql(("on_time_rate",))
    assert CATALOGUE.rate_sql(CATALOGUE.rate("on_time_rate")) in sql
    assert "sum(n_closed_on_time) AS t_closed_on_time" in sql and "sum(n_closed) AS t_closed" in sql
    headline = next(p for p in dashboard()["panels"] if p["id"] == 1)["targets"][0]["rawSql"]
    for rate in analysts.SHOWN:
        assert CATALOGUE.rate_sql(CATALOGUE.rate(rate)) in headline


def test_the_queries_read_only_the_analysts_views_and_no_personal_data():
    views = {"matters", "unit_monthly", "escalations_by_unit", "org"}
    for panel in dashboard()["panels"]:
        sql = panel["targets"][0]["rawSql"]
        assert set(re.findall(r"\$\{database\}\.(\w+)", sql)) <= views, panel["title"]
        assert not re.search(r"reporter|phone|address|\btext\b|note", sql), panel["title"]


def test_grafanas_clickhouse_user_is_read_only_with_the_analysts_limits_from_the_grafana_container_only():
    from deploy.clickhouse_server import ANALYST_LIMITS

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    root = ET.parse(GRAFANA_USER).getroot()
    user = root.find("users/grafana")
    source = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]
    assert user is not None and source["jsonData"]["username"] == "grafana"
    profile = root.find(f"profiles/{user.findtext('profile')}")
    assert profile.findtext("readonly") == "1" and profile.findtext("log_queries") == "0"
    for name, value in ANALYST_LIMITS.items():
        assert int(profile.findtext(name.removeprefix("analyst_"))) == value, name
    # the plugin sets max_execution_time on each query: allowed in readonly, never above the limit
    constraint = profile.find("constraints/max_execution_time")
    assert constraint.find("changeable_in_readonly") is not None
    assert int(constraint.findtext("max")) == ANALYST_LIMITS["analyst_max_execution_time"]
    assert [d.text for d in user.findall("allow_databases/database")] == ["gridflow"]
    address = compose["grafana"]["networks"]["default"]["ipv4_address"]
    assert [ip.text for ip in user.findall("networks/ip")] == [address] and not user.findall("networks/host")
    # one password, set for ClickHouse (the user) and for Grafana (the datasource)
    variable = user.find("password").get("from_env")
    assert source["secureJsonData"]["password"] == f"${variable}"
    assert variable in compose["clickhouse"]["environment"] and variable in compose["grafana"]["environment"]
    mounts = [v.split(":")[0] for v in compose["clickhouse"]["volumes"]]
    assert "./deploy/docker/clickhouse/users.d/gridflow-grafana.xml" in mounts
