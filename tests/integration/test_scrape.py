"""A real scrape: Debian's Prometheus, with gridflow's recording and alert rules, scrapes a
running worker and projector; through Prometheus' HTTP API the metrics arrive and the
recording rules evaluate, including the headline share of resolutions at grid level.

Everything runs for real on loopback: the stack's Kafka, a `gridflow worker` and a
`gridflow project` (embedded chdb in a temporary directory) on topics of their own, and
`prometheus` on a free port with a temporary TSDB. A missing piece fails the test.
"""
from __future__ import annotations

import json
import os
import shutil
from gridflow.children import free_port
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from gridflow.settings import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
START_TIMEOUT = 120.0  # a Faust worker joins its group and assigns partitions within this
PIPELINE_TIMEOUT = 120.0

# Metrics without labels exist from the process' start, so they must show up in Prometheus
# even before anything flows (labelled ones appear with their first increment).
WORKER_UNLABELLED = {"gridflow_event_time_lag_seconds", "gridflow_scanner_proposals_total",
                     "gridflow_calendar_fallbacks_total"}
PROJECTOR_UNLABELLED = {"gridflow_projector_events_total", "gridflow_projector_batch_seconds_bucket",
                        "gridflow_projector_insert_errors_total", "gridflow_projector_retries_total",
                        "gridflow_projector_clickhouse_up", "gridflow_projection_delay_seconds"}

# The smallest org tree that has all six levels.
ORG = [("c", "city", ""), ("c-d1", "district", "c"), ("c-d1-s1", "street", "c-d1"),
       ("c-d1-s1-m1", "community", "c-d1-s1"), ("c-d1-s1-m1-g1", "grid", "c-d1-s1-m1"),
       ("c-d1-s1-m1-g1-x1", "compound", "c-d1-s1-m1-g1")]
GRID, COMPOUND = "c-d1-s1-m1-g1", "c-d1-s1-m1-g1-x1"


def wait_for(what: str, probe: Callable[[], object], timeout: float, diagnose: Callable[[], str]) -> object:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, ValueError, KeyError) as exc:  # not listening yet, or a partial answer
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f}s (last: {last!r})\n{diagnose()}", pytrace=False)


class Processes:
    """Subprocesses of this test: started with logs in the test's directory, always stopped."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: dict[str, tuple[subprocess.Popen, Path]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs[name] = (proc, log)
        return proc

    def check_alive(self) -> None:
        for name, (proc, log) in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with code {proc.returncode}\n{self.tail(name)}", pytrace=False)

    def tail(self, name: str, lines: int = 40) -> str:
        _, log = self.procs[name]
        text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
        return f"--- {name} ({log}), last {lines} lines:\n" + "\n".join(text)

    def diagnose(self) -> str:
        return "\n".join(self.tail(name) for name in self.procs)

    def stop_all(self) -> None:
        for proc, _ in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class PrometheusAPI:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: str) -> dict:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise ValueError(f"{url}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.get("/api/v1/query", query=expr)["result"]

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def targets_up(self) -> dict[str, str]:
        return {t["labels"]["job"]: t["health"] for t in self.get("/api/v1/targets")["activeTargets"]}


def prometheus_config(worker_port: int, projector_port: int) -> dict:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in RULES],
        "scrape_configs": [
            {"job_name": "gridflow-worker", "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]},
            {"job_name": "gridflow-projector", "static_configs": [{"targets": [f"127.0.0.1:{projector_port}"]}]},
        ],
    }


@pytest.fixture
def pipeline(settings: Settings, kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Settings, PrometheusAPI, Processes]]:
    """Topics of its own, a worker, a projector and Prometheus scraping both."""
    from deploy.topics import delete_topics, ensure_topics

    exe = shutil.which("prometheus")
    assert exe, "prometheus not found: install Debian's prometheus package (.ci/run does)"
    own = settings.with_(topic_prefix=f"{settings.topic_prefix}-scrape-{uuid.uuid4().hex[:6]}",
                         worker_web_port=free_port(), projector_metrics_port=free_port(),
                         org_path=str(tmp_path / "org.csv"))
    (tmp_path / "org.csv").write_text("unit_id,level,parent_id,name\n"
                                      + "".join(f"{u},{lvl},{p},{u}\n" for u, lvl, p in ORG))
    ensure_topics(own)
    env = {**os.environ,
           "GRIDFLOW_KAFKA_BOOTSTRAP": own.kafka_bootstrap,
           "GRIDFLOW_TOPIC_PREFIX": own.topic_prefix,
           "GRIDFLOW_WORKER_WEB_PORT": str(own.worker_web_port),
           "GRIDFLOW_CLOCK": "event",
           "GRIDFLOW_ORG_PATH": own.org_path,
           "GRIDFLOW_PROJECTOR_METRICS_PORT": str(own.projector_metrics_port),
           "GRIDFLOW_PROJECTOR_GROUP": f"{own.topic_prefix}-projector",
           "GRIDFLOW_STORE": "chdb",
           "GRIDFLOW_CHDB_PATH": str(tmp_path / "chdb")}
    procs = Processes(tmp_path)
    try:
        cli = [sys.executable, "-m", "gridflow.cli"]
        migrate = subprocess.run([*cli, "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True,
                                 timeout=120)
        assert migrate.returncode == 0, f"gridflow migrate failed:\n{migrate.stdout}\n{migrate.stderr}"
        procs.start("worker", [*cli, "worker"], env)
        procs.start("projector", [*cli, "project"], env)
        prom_port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(own.worker_web_port, own.projector_metrics_port)))
        procs.start("prometheus", [exe, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                   f"--web.listen-address=127.0.0.1:{prom_port}"], env)
        yield own, PrometheusAPI(f"http://127.0.0.1:{prom_port}"), procs
    finally:
        procs.stop_all()
        delete_topics(own)


def publish_resolved_matter(own: Settings, at: datetime) -> None:
    """Publish the org tree, then one matter reported at a compound, accepted and resolved by
    its grid (sanitation enters at grid level)."""
    from events.orgtree import load
    from gridflow.sdk import Publisher

    with Publisher(own, producer="scrape-test") as pub:
        pub.publish_org(load(own.org_path))
        matter = pub.report(category="sanitation", place=COMPOUND, reporter="r-scrape", text="rubbish at gate 3",
                            at=at)
        pub.accept(matter, unit=GRID, handler="h-scrape", at=at + timedelta(seconds=1))
        pub.resolve(matter, unit=GRID, handler="h-scrape", at=at + timedelta(seconds=2))
        pub.watermark(at + timedelta(seconds=3))


def test_prometheus_scrapes_worker_and_projector_and_evaluates_the_recording_rules(pipeline):
    own, prom, procs = pipeline

    def alive(probe: Callable[[], object]) -> Callable[[], object]:
        def checked():
            procs.check_alive()
            return probe()
        return checked

    # Both targets answer scrapes, and the metrics that exist from start-up arrive.
    wait_for("worker and projector targets up in Prometheus",
             alive(lambda: prom.targets_up() == {"gridflow-worker": "up", "gridflow-projector": "up"}),
             START_TIMEOUT, procs.diagnose)
    for job, expected in (("gridflow-worker", WORKER_UNLABELLED), ("gridflow-projector", PROJECTOR_UNLABELLED)):
        wait_for(f"{job}'s metrics in Prometheus",
                 alive(lambda: expected <= {r["metric"]["__name__"] for r in
                                            prom.query(f'group by (__name__) ({{job="{job}"}})')}),
                 30, procs.diagnose)

    # A matter resolved at grid level moves the counters. Event time is a fixed working day
    # (GRIDFLOW_CLOCK=event), so deadlines never depend on the day the test runs.
    start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    publish_resolved_matter(own, start)
    wait_for("the worker's resolution counted and scraped",
             alive(lambda: (prom.scalar('sum(gridflow_resolved_total{level="grid"})') or 0) >= 1),
             PIPELINE_TIMEOUT, procs.diagnose)
    wait_for("the projector's events counted and scraped",
             alive(lambda: (prom.scalar("sum(gridflow_projector_events_total)") or 0) >= 1),
             PIPELINE_TIMEOUT, procs.diagnose)

    # A second one after the first was scraped, so the counters increase inside the rule windows.
    publish_resolved_matter(own, start + timedelta(minutes=10))
    wait_for("gridflow:resolved_share_grid_or_below:ratio_rate1h at 1 (every resolution at grid level)",
             alive(lambda: prom.scalar("gridflow:resolved_share_grid_or_below:ratio_rate1h") == 1.0),
             PIPELINE_TIMEOUT, procs.diagnose)
    wait_for("gridflow:events_in:rate5m above 0",
             alive(lambda: any(float(r["value"][1]) > 0 for r in prom.query("gridflow:events_in:rate5m"))),
             30, procs.diagnose)
    wait_for("gridflow:projector_events:rate5m above 0",
             alive(lambda: (prom.scalar("gridflow:projector_events:rate5m") or 0) > 0),
             PIPELINE_TIMEOUT, procs.diagnose)
    shares = {r["metric"]["level"]: float(r["value"][1]) for r in prom.query("gridflow:resolved_share:ratio_rate1h")}
    assert shares == {"grid": 1.0}

    # The rules loaded are the shipped ones, all healthy.
    groups = prom.get("/api/v1/rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {r["health"] for r in rules} == {"ok"}, [r for r in rules if r["health"] != "ok"]
    firing = [r["name"] for r in rules if r["type"] == "alerting" and r["state"] == "firing"]
    assert not firing, f"alerts firing on a healthy pipeline: {firing}"
