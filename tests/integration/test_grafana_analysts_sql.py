"""Every query of the analysts' Grafana dashboard runs on the real ClickHouse server and on chdb,
with Grafana's macros and variables replaced as the ClickHouse plugin does, and gives the
figures `gridflow stats` computes for the same unit and window. (Grafana itself and its plugin
are not run here: there is no Grafana package for this machine.)"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from projection_support import ROOT, generate, own, produce, project_until_idle, store  # noqa: F401
from projections import orgdim
from projections.stats import Scope, compute

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "gridflow-analysts.json"
LOG = generate(seed=5, matters=300)
UNIT = "c-d0"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FROM = datetime(2026, 1, 1, tzinfo=SHANGHAI)  # the dashboard's time range: all of January, in whole months
TO = datetime(2026, 1, 31, 23, 0, tzinfo=SHANGHAI)
JANUARY = Scope(unit=UNIT, since=int(FROM.timestamp() * 1000), until=int(datetime(2026, 2, 1, tzinfo=SHANGHAI).timestamp() * 1000))
RANGE = Scope(unit=UNIT, since=int(FROM.timestamp() * 1000), until=int(TO.timestamp() * 1000))


def expand(sql: str, database: str) -> str:
    """The SQL as the plugin sends it: time macros as DateTime literals, variables as values."""
    sql = sql.replace("$__fromTime", f"toDateTime({int(FROM.timestamp())})")
    sql = sql.replace("$__toTime", f"toDateTime({int(TO.timestamp())})")
    sql = sql.replace("${database}", database).replace("${unit}", UNIT)
    assert not re.search(r"\$\{?\w", sql), f"a macro or variable is left: {sql}"
    return sql


def panel_rows(st) -> dict[int, list[dict]]:
    dashboard = json.loads(DASHBOARD.read_text())
    out = {}
    for panel in dashboard["panels"]:
        (target,) = panel["targets"]
        out[panel["id"]] = st.query_dicts(expand(target["rawSql"], st.database))
    return out


def same(got, want) -> bool:
    if want is None:
        return isinstance(got, float) and math.isnan(got)
    return abs(got - want) < 1e-12


def test_every_panel_query_runs_and_agrees_with_gridflow_stats(store):
    orgdim.write_units(store, LOG.units)
    produce(store.settings, LOG.records)
    project_until_idle(store.settings, store)
    rows = panel_rows(store)
    rates = ("grid_rate", "community_rate", "on_time_rate", "closure_rate", "rework_rate", "satisfaction_rate")

    # 1: the unit's figures over the matters reported in the time range
    (headline,) = rows[1]
    want = compute(store, RANGE, drill=False).total
    assert want.matters > 30 and {k: headline[k] for k in ("matters", "resolved", "closed")} == \
        {"matters": want.matters, "resolved": want.resolved, "closed": want.closed}
    assert all(same(headline[r], getattr(want, r)) for r in rates), (headline, want.to_dict())

    # 2 and 3: per report month (only January here)
    month = compute(store, JANUARY)
    (shares,) = rows[2]
    start = shares["time"]  # the month's first day in Asia/Shanghai (chdb answers epoch seconds)
    assert (datetime.fromtimestamp(start, SHANGHAI).isoformat() if isinstance(start, int) else str(start)) \
        .startswith("2026-01-01")
    assert all(same(shares[lv], share) for lv, share in month.total.share_by_level.items()), shares
    (monthly,) = rows[3]
    assert all(same(monthly[r], getattr(month.total, r)) for r in rates), monthly

    # 4: the drill-down, ranked
    drill = {r["unit"]: r for r in rows[4]}
    children = {c.unit: c for c in month.children if c.unit}
    assert set(drill) == set(children) and len(drill) == 2
    for unit, row in drill.items():
        assert row["matters"] == children[unit].matters and row["name"] == children[unit].name
        assert all(same(row[r], getattr(children[unit], r)) for r in rates)
    assert [r["grid_rate"] for r in rows[4]] == sorted((r["grid_rate"] for r in rows[4]), reverse=True)

    # 5: escalations out of the units under the unit, by the month they happened
    under = [u.unit_id for u in LOG.units if u.unit_id.startswith(UNIT)]
    direct = store.scalar(
        f"SELECT uniqExact(event_id) FROM {store.table('event_log')} WHERE type = 'escalated' "
        f"AND from_unit IN %(under)s AND toYYYYMM(toDateTime(intDiv(occurred_at, 1000), 'Asia/Shanghai')) = 202601",
        {"under": under})
    assert direct > 0 and sum(r["escalations"] for r in rows[5]) == direct
    assert {r["from_level"] for r in rows[5]} <= {"district", "street", "community", "grid", "compound"}
