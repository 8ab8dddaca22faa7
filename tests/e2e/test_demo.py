"""End to end: the demo's pipeline (real Kafka, Faust worker in event time, projector, ClickHouse)
reproduces exactly what the simulator knows really happened to every matter."""
from __future__ import annotations

import uuid

import pytest

from gridflow import demo_metrics
from gridflow.demo import DEMO_DATABASE, Bar, DemoOptions, run_demo
from gridflow.demo_report import agreement, problems, render
from projections.stats import Scope, compute
from projections.store import open_store
from readme_commands import readme_sql

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def readme_query_and_drill_down(settings):
    """The README tour's SQL on the demo's tables, and the drill-down it mirrors."""
    with open_store(settings) as store:
        rows = store.query(readme_sql().replace(f"{DEMO_DATABASE}.", f"{settings.clickhouse_database}."))
        report = compute(store, Scope(unit="u-chengdu"))
    return rows, {child.unit: child.grid_rate for child in report.children}


class Quiet(Bar):
    def show(self, *args, **kwargs) -> None:
        pass


@pytest.mark.parametrize("store, workers", [("chdb", 1), ("server", 3)])
def test_demo_statistics_agree_with_the_simulators_ground_truth(settings, kafka_bootstrap, clickhouse_server,
                                                               tmp_path, store, workers):
    database, theirs = f"e2e_{uuid.uuid4().hex[:8]}", f"e2e_theirs_{uuid.uuid4().hex[:8]}"
    # the configured database holds someone else's data: the demo must leave it as it is
    configured = settings.with_(store=store, clickhouse_database=theirs, chdb_path=str(tmp_path / "chdb"))
    with open_store(configured) as other:
        other.execute(f"CREATE DATABASE IF NOT EXISTS {theirs}")
        other.execute(f"CREATE TABLE {theirs}.matters (matter_id String) ENGINE = MergeTree ORDER BY matter_id")
        other.execute(f"INSERT INTO {theirs}.matters SELECT 'theirs'")
    try:
        result = run_demo(configured, DemoOptions(days=4, grids=120, seed=7, workers=workers, drain_timeout=300,
                                                  clean_old_runs=False, database=database),
                          say=lambda line: None, bar=Quiet())
        assert result.settings.clickhouse_database == database
        assert result.settings.topic_prefix.startswith("gridflow-demo-")
        readme_rows, drill = readme_query_and_drill_down(result.settings)
        with open_store(configured) as other:
            assert other.query(f"SELECT matter_id FROM {theirs}.matters") == [("theirs",)]
    finally:
        if store == "server":
            for name in (database, theirs):
                clickhouse_server().execute(f"DROP DATABASE IF EXISTS {name}")
    rows = agreement(result)
    assert {name for name, _, _ in rows} >= {"matters", "cancelled", "escalations", "resolved at grid"}
    differing = [(name, got, want) for name, got, want in rows if got != want]
    assert not differing, render(result)
    assert result.deadletters == 0 and problems(result) == [], render(result)
    assert render(result).splitlines()[0].startswith("OK: ")
    summary = result.truth.summary()
    # the scenario is worth checking: matters escalated, and were resolved at several levels
    assert summary["matters"] > 50 and summary["escalated_matters"] > 0
    assert sum(1 for n in summary["resolved_by_level"].values() if n) >= 3
    assert result.report.total.resolved == summary["resolved"]
    # the three lists: needs matched and gaps, orders dispatched to resources and claimed in time
    assert {"needs with candidates", "needs with no resource", "time to claim p50 (s)"} <= {n for n, _, _ in rows}
    assert result.lists.matched > 0 and result.lists.gap > 0 and result.lists.claimed > 0
    assert {"units summoned", "report-in deadlines missed", "points awarded"} <= {n for n, _, _ in rows}
    assert result.lists.points and result.lists.report_ins
    assert "三张清单" in render(result)

    # the operator's view agrees with the analyst's: the worker's counters, scraped before it
    # stopped, count the same escalations by level as the simulator, and nothing is left open
    worker = demo_metrics.merged(text for name, text in result.metric_texts.items() if name.startswith("worker"))
    escalations = {lv: n for lv, n in demo_metrics.by_label(worker, "gridflow_escalations_total",
                                                            "from_level").items() if n}
    assert escalations == summary["escalations_from"]
    assert demo_metrics.total(worker, "gridflow_open_matters") == summary["open"]
    assert demo_metrics.total(worker, "gridflow_deadletters_total") == 0
    assert (result.workdir / "projector.metrics").exists()
    # the charts of the whole city, written into the run's folder and named in the output
    assert result.report_html == result.workdir / "report.html"
    assert result.report_html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert str(result.report_html) in render(result)

    # the README's SQL gives, per district of 成都市, the 小事不出网格 rate of the drill-down
    assert readme_rows and {district: rate for district, _, rate in readme_rows} == \
        pytest.approx({unit: round(rate, 3) for unit, rate in drill.items() if rate is not None}, abs=1e-9)
