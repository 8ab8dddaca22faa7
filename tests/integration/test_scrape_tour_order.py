"""The README's tour order on the real pieces: a `gridflow worker` resolves a matter, its counters
stop moving, and only then does Debian's Prometheus start scraping it (with gridflow's rules).
Every query of the dashboard's headline row must still return a series — the rate-based shares
cannot (the counters never move while scraped), which is why the headline shows the shares
since the workers started."""
from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from gridflow.children import free_port
from test_scrape import ORG, Processes, PrometheusAPI, prometheus_config, publish_resolved_matter, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "gridflow.json"


def headline_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    second_row = [p for p in panels if p["type"] == "row"][1]["gridPos"]["y"]
    return [t["expr"] for p in panels if p["type"] != "row" and p["gridPos"]["y"] < second_row for t in p["targets"]]


def resolved_at_grid(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("gridflow_resolved_total{") and 'level="grid"' in line)


def test_the_headline_panels_show_the_shares_when_prometheus_starts_after_the_work(settings, kafka_bootstrap,
                                                                                  tmp_path):
    from deploy.topics import delete_topics, ensure_topics

    exe = shutil.which("prometheus")
    assert exe, "prometheus not found: install Debian's prometheus package (.ci/run does)"
    own = settings.with_(topic_prefix=f"{settings.topic_prefix}-tour-{uuid.uuid4().hex[:6]}",
                         worker_web_port=free_port(), org_path=str(tmp_path / "org.csv"))
    (tmp_path / "org.csv").write_text("unit_id,level,parent_id,name\n"
                                      + "".join(f"{u},{lvl},{p},{u}\n" for u, lvl, p in ORG))
    ensure_topics(own)
    env = {**os.environ, "GRIDFLOW_KAFKA_BOOTSTRAP": own.kafka_bootstrap, "GRIDFLOW_TOPIC_PREFIX": own.topic_prefix,
           "GRIDFLOW_WORKER_WEB_PORT": str(own.worker_web_port), "GRIDFLOW_CLOCK": "event",
           "GRIDFLOW_ORG_PATH": own.org_path}
    procs = Processes(tmp_path)
    try:
        procs.start("worker", [sys.executable, "-m", "gridflow.cli", "worker"], env)
        wait_for("the worker's /metrics", lambda: procs.check_alive() or resolved_at_grid(own.worker_web_port) >= 0,
                 120, procs.diagnose)
        # the work happens before Prometheus exists: two matters resolved at grid level
        start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
        publish_resolved_matter(own, start)
        publish_resolved_matter(own, start + timedelta(minutes=10))
        wait_for("both resolutions counted by the worker",
                 lambda: procs.check_alive() or resolved_at_grid(own.worker_web_port) == 2, 120, procs.diagnose)

        prom_port = free_port()
        config = tmp_path / "prometheus.yml"
        scrape = prometheus_config(own.worker_web_port, free_port())  # no projector: it ran --until-idle
        config.write_text(yaml.safe_dump(scrape))
        procs.start("prometheus", [exe, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                   f"--web.listen-address=127.0.0.1:{prom_port}"], env)
        prom = PrometheusAPI(f"http://127.0.0.1:{prom_port}")
        wait_for("the share since start at 1 (every resolution at grid level)",
                 lambda: prom.scalar("gridflow:resolved_share_grid_or_below:ratio_since_start") == 1.0,
                 60, procs.diagnose)
        # several scrapes of flat counters: the last hour's rate is 0, so its shares stay empty
        wait_for("five scrapes of the flat counter",
                 lambda: (prom.scalar('count_over_time(gridflow_resolved_total{level="grid"}[1m])') or 0) >= 5,
                 60, procs.diagnose)
        assert prom.query("gridflow:resolved_share_grid_or_below:ratio_rate1h") == []
        assert {r["metric"]["level"]: float(r["value"][1])
                for r in prom.query("gridflow:resolved_share:ratio_since_start")} == {"grid": 1.0}
        empty = [expr for expr in headline_exprs() if not prom.query(expr)]
        assert not empty, f"headline panels without data in the tour's order: {empty}"
    finally:
        procs.stop_all()
        delete_topics(own)
