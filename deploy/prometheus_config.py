"""The Prometheus config for gridflow processes on this host (no Docker), made from Settings:
the worker's, the projector's and the API's metrics ports, and the rule files of
``deploy/prometheus/rules/`` by absolute path. ``gridflow stack up`` writes it to
``<stack dir>/prometheus/prometheus.yml``; docker-compose uses ``deploy/prometheus/prometheus.yml``."""
from __future__ import annotations

from pathlib import Path

import yaml

from gridflow.settings import Settings

RULES_DIR = Path(__file__).parent / "prometheus" / "rules"
RULE_FILES = ("gridflow-recording.yml", "gridflow-alerts.yml")
HEADER = """\
# Made by `gridflow stack up` from the GRIDFLOW_* settings (deploy/prometheus_config.py);
# written again by every `up`, so edit the settings, not this file. Run:
#   prometheus --config.file={path} \\
#     --storage.tsdb.path=.gridflow/prometheus --web.listen-address=127.0.0.1:9090
# One target per process; several workers on one host each need their own
# GRIDFLOW_WORKER_WEB_PORT and a target of their own here.
"""


def local_config(settings: Settings) -> dict:
    host = "127.0.0.1" if settings.listen_host in ("0.0.0.0", "::", "") else settings.listen_host
    jobs = (("gridflow-worker", settings.worker_web_port), ("gridflow-projector", settings.projector_metrics_port),
            ("gridflow-api", settings.api_metrics_port))
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s", "external_labels": {"system": "gridflow"}},
        "rule_files": [str(RULES_DIR / name) for name in RULE_FILES],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [f"{host}:{port}"]}]}
                           for job, port in jobs],
    }


def local_config_path(settings: Settings) -> Path:
    return settings.stack_path / "prometheus" / "prometheus.yml"


def write_local_config(settings: Settings) -> Path:
    path = local_config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = HEADER.format(path=path) + yaml.safe_dump(local_config(settings), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path
