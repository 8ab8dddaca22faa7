"""The analysts' Grafana dashboard (``dashboards/gridflow-analysts.json``), built from the figures.

It reads ClickHouse through the grafana-clickhouse-datasource plugin (provisioned by
``provisioning/datasources/clickhouse.yml``, uid ``gridflow-clickhouse``) as the read-only
``analyst`` user: per org unit and over time, what Prometheus cannot answer. Every rate is
the one of ``projections/figures.py`` (numerator and denominator counts summed, then divided),
so its SQL is generated here, never typed. After changing a figure:

    python -m deploy.grafana.analysts > deploy/grafana/dashboards/gridflow-analysts.json

(tests/unit/test_grafana_analysts.py fails while the file and this code disagree.)

Grafana replaces ``$__fromTime`` / ``$__toTime`` (the dashboard's time range, as DateTime) and
``${unit}`` / ``${database}`` (the dashboard's variables) before the query reaches ClickHouse.
"""
from __future__ import annotations

import json
import sys

from projections.figures import CATALOGUE, Catalogue

UID = "gridflow-clickhouse"
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": UID}
TABLE, TIMESERIES = 1, 0  # the plugin's query formats
SHOWN = ("grid_rate", "community_rate", "on_time_rate", "closure_rate", "rework_rate", "satisfaction_rate")
REPORTED_IN_RANGE = ("reported_at >= toUnixTimestamp($__fromTime) * 1000 "
                     "AND reported_at < toUnixTimestamp($__toTime) * 1000")
MONTHS_IN_RANGE = ("month >= toYYYYMM($__fromTime, 'Asia/Shanghai') "
                   "AND month <= toYYYYMM($__toTime, 'Asia/Shanghai')")
MONTH_START = ("toDateTime(toDate(concat(substring(toString(month), 1, 4), '-', substring(toString(month), 5, 2), "
               "'-01')), 'Asia/Shanghai')")
IN_UNIT = "has([l1, l2, l3, l4, l5, l6], '${unit}')"


def _needed(catalogue: Catalogue, rates: tuple[str, ...], counts: tuple[str, ...] = ()) -> list[str]:
    """The counts the rates are made of, and ``counts``, in catalogue order."""
    wanted = set(counts)
    for name in rates:
        rate = catalogue.rate(name)
        wanted |= {*rate.numerator, rate.denominator}
    return [c.name for c in catalogue.counts if c.name in wanted]


def _rates(catalogue: Catalogue, rates: tuple[str, ...]) -> str:
    return ", ".join(catalogue.rate_sql(catalogue.rate(r)) for r in rates)


def summed(catalogue: Catalogue, key: str, source: str, where: str, rates: tuple[str, ...],
           counts: tuple[str, ...] = ()) -> str:
    """The rates (and counts) per ``key`` over rows of ``unit_monthly``: counts summed, then divided.
    (Sums are named t_ first: ClickHouse 18.16 would read ``sum(n_x) AS n_x`` as a nested aggregate.)"""
    needed = _needed(catalogue, rates, counts)
    sums = ", ".join(f"sum(n_{c}) AS t_{c}" for c in needed)
    renamed = ", ".join(f"t_{c} AS n_{c}" for c in needed)
    shown = ", ".join([*(f"n_{c} AS {c}" for c in counts), _rates(catalogue, rates)])
    return (f"SELECT {key}, {shown}\nFROM (SELECT {key}, {renamed}\n      FROM (SELECT {key}, {sums}\n"
            f"            FROM {source}\n            WHERE {where}\n            GROUP BY {key}))\nORDER BY {key}")


def headline_sql(catalogue: Catalogue = CATALOGUE) -> str:
    """The unit's figures over the matters reported in the time range, from ``matters``."""
    counts = ("matters", "resolved", "closed")
    needed = _needed(catalogue, SHOWN, counts)
    aggregates = [a for a in catalogue.aggregates() if a.rsplit(" AS n_", 1)[1] in needed]
    return (f"SELECT {', '.join(f'n_{c} AS {c}' for c in counts)}, {_rates(catalogue, SHOWN)}\n"
            f"FROM (SELECT {', '.join(aggregates)}\n      FROM ${{database}}.matters\n"
            f"      WHERE reported_at > 0 AND {IN_UNIT} AND {REPORTED_IN_RANGE})")


def monthly_sql(rates: tuple[str, ...], catalogue: Catalogue = CATALOGUE) -> str:
    return summed(catalogue, "time", f"(SELECT {MONTH_START} AS time, * FROM ${{database}}.unit_monthly)",
                  f"unit_id = '${{unit}}' AND {MONTHS_IN_RANGE}", rates)


def shares_sql() -> str:
    levels = ("compound", "grid", "community", "street", "district", "city")
    shares = ", ".join(f"if(t_resolved = 0, nan, t_resolved_{lv} / t_resolved) AS {lv}" for lv in levels)
    sums = ", ".join(f"sum(n_resolved_{lv}) AS t_resolved_{lv}" for lv in levels)
    return (f"SELECT time, {shares}\nFROM (SELECT {MONTH_START} AS time, sum(n_resolved) AS t_resolved, {sums}\n"
            f"      FROM ${{database}}.unit_monthly\n      WHERE unit_id = '${{unit}}' AND {MONTHS_IN_RANGE}\n"
            "      GROUP BY time)\nORDER BY time")


def drill_sql(catalogue: Catalogue = CATALOGUE) -> str:
    inner = summed(catalogue, "unit_id", "${database}.unit_monthly",
                   f"unit_id IN (SELECT unit_id FROM ${{database}}.org WHERE parent_id = '${{unit}}') "
                   f"AND {MONTHS_IN_RANGE}", SHOWN, ("matters", "resolved"))
    return (f"SELECT unit_id AS unit, name, matters, resolved, {', '.join(SHOWN)}\nFROM ({inner}) AS figures\n"
            "ANY LEFT JOIN (SELECT unit_id, name FROM ${database}.org) AS names USING unit_id\n"
            "ORDER BY grid_rate DESC, matters DESC")


def escalations_sql() -> str:
    return (f"SELECT {MONTH_START} AS time, from_level, sum(n_escalations) AS escalations\n"
            "FROM ${database}.escalations_by_unit\n"
            f"WHERE from_unit IN (SELECT unit_id FROM ${{database}}.org WHERE {IN_UNIT})\n"
            f"  AND {MONTHS_IN_RANGE}\nGROUP BY time, from_level\nORDER BY time, from_level")


def _target(sql: str, fmt: int) -> dict:
    return {"refId": "A", "datasource": DATASOURCE, "editorType": "sql", "format": fmt,
            "queryType": "table" if fmt == TABLE else "timeseries", "rawSql": sql}


def _panel(pid: int, kind: str, title: str, description: str, sql: str, fmt: int, pos: tuple[int, int, int, int],
           unit: str = "percentunit", **extra) -> dict:
    x, y, w, h = pos
    panel = {"id": pid, "type": kind, "title": title, "description": description, "datasource": DATASOURCE,
             "gridPos": {"h": h, "w": w, "x": x, "y": y}, "targets": [_target(sql, fmt)],
             "fieldConfig": {"defaults": {"unit": unit}, "overrides": []}}
    panel.update(extra)
    return panel


def dashboard(catalogue: Catalogue = CATALOGUE) -> dict:
    labels = {r: f"{catalogue.rate(r).chinese} {catalogue.rate(r).label}".strip() for r in SHOWN}
    panels = [
        _panel(1, "stat", "${unit}: the figures of the matters reported in the time range",
               "Counts and rates of docs/statistics.md for the matters reported under the unit in the "
               "dashboard's time range, as `gridflow stats --unit ${unit} --from … --to …` prints them. "
               + "; ".join(f"{r}: {labels[r]}" for r in SHOWN) + ".",
               headline_sql(catalogue), TABLE, (0, 0, 24, 5), unit="none",
               options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "none", "textMode": "value_and_name"},
               fieldConfig={"defaults": {"unit": "percentunit", "decimals": 1},
                            "overrides": [{"matcher": {"id": "byRegexp", "options": "matters|resolved|closed"},
                                           "properties": [{"id": "unit", "value": "none"},
                                                          {"id": "decimals", "value": 0}]}]}),
        _panel(2, "timeseries", "Share of resolved matters by resolving level, by month reported",
               "Each level's share of the unit's resolved matters, per report month (Asia/Shanghai), from "
               "unit_monthly: whole months that the time range touches.", shares_sql(), TIMESERIES, (0, 5, 12, 9),
               options={"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}),
        _panel(3, "timeseries", "Rates by month reported",
               "; ".join(f"{r}: {labels[r]}" for r in SHOWN) + " — per report month, from unit_monthly.",
               monthly_sql(SHOWN, catalogue), TIMESERIES, (12, 5, 12, 9),
               options={"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}),
        _panel(4, "table", "Units one level below ${unit}, ranked by 小事不出网格",
               "The drill-down of `gridflow stats`: the unit's children over the months the time range touches, "
               "from unit_monthly.", drill_sql(catalogue), TABLE, (0, 14, 24, 10),
               fieldConfig={"defaults": {"unit": "percentunit", "decimals": 1},
                            "overrides": [{"matcher": {"id": "byRegexp", "options": "unit|name|matters|resolved"},
                                           "properties": [{"id": "unit", "value": "none"}]}]}),
        _panel(5, "barchart", "Escalations out of units under ${unit}, by level handing over and month",
               "From escalations_by_unit: each escalation event once, by the month it happened (not the month "
               "the matter was reported).", escalations_sql(), TIMESERIES, (0, 24, 24, 9), unit="none"),
    ]
    return {
        "uid": "gridflow-analysts", "title": "gridflow analysts",
        "description": "Statistics per org unit and over time, from ClickHouse (docs/statistics.md). "
                       "Operators' metrics: the gridflow dashboard.",
        "tags": ["gridflow", "clickhouse"], "timezone": "browser", "editable": True, "schemaVersion": 39,
        "version": 1, "time": {"from": "now-90d", "to": "now"}, "refresh": "", "panels": panels,
        "templating": {"list": [
            {"name": "database", "type": "constant", "hide": 2, "query": "gridflow",
             "description": "the ClickHouse database of the statistics (GRIDFLOW_CLICKHOUSE_DATABASE)"},
            {"name": "unit", "type": "query", "label": "org unit", "datasource": DATASOURCE, "refresh": 1,
             "query": "SELECT unit_id FROM ${database}.org WHERE level <= 4 ORDER BY level, unit_id",
             "definition": "SELECT unit_id FROM ${database}.org WHERE level <= 4 ORDER BY level, unit_id",
             "description": "a city, district, street or community (org unit id)", "multi": False,
             "includeAll": False, "sort": 0},
        ]},
        "annotations": {"list": []}, "links": [],
    }


def main() -> None:
    sys.stdout.write(json.dumps(dashboard(), ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
