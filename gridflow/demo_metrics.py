"""The demo's look at the metrics: each child's ``/metrics`` scraped once the pipeline has
drained (before it stops), kept in the run's folder, and the few series a person reads
first, as rows of a table."""
from __future__ import annotations

import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

from events.levels import LEVEL_NAMES


def scrape(port: int, timeout: float = 5.0) -> str | None:
    """The exposition text from 127.0.0.1:<port>/metrics, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Metric sample name -> [(labels, value)]."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name].append((dict(sample.labels), sample.value))
    return dict(out)


def merged(texts) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The samples of several processes of one kind (the workers), side by side: totals add up."""
    out: dict[str, list] = defaultdict(list)
    for text in texts:
        for name, found in samples(text).items():
            out[name] += found
    return dict(out)


def total(found: dict, name: str, **where: str) -> float:
    return sum(v for labels, v in found.get(name, []) if all(labels.get(k) == w for k, w in where.items()))


def by_label(found: dict, name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for labels, value in found.get(name, []):
        out[labels.get(label, "")] += value
    return dict(out)


def _levels(counts: dict[str, float]) -> str:
    parts = [f"{lv} {counts[lv]:,.0f}" for lv in reversed(LEVEL_NAMES) if counts.get(lv)]  # bottom up
    return " · ".join(parts) or "none"


def summary(workers: list[str | None], projector: str | None, *, events_topic: str) -> list[tuple[str, str, str]]:
    """(what it says, metric, value) rows, the workers added up; a process that did not answer says so."""
    rows: list[tuple[str, str, str]] = []
    silent = sum(1 for text in workers if text is None)
    if silent:
        rows.append((f"{silent} worker(s) had stopped", "worker /metrics", "no answer"))
    if silent < len(workers):
        w = merged(text for text in workers if text is not None)
        rows += [
            ("intake records read by the worker", "gridflow_events_in_total", f"{total(w, 'gridflow_events_in_total'):,.0f}"),
            ("events written to the log", "gridflow_events_out_total",
             f"{total(w, 'gridflow_events_out_total', topic=events_topic):,.0f}"),
            ("due timers fired", "gridflow_scanner_proposals_total",
             f"{total(w, 'gridflow_scanner_proposals_total'):,.0f}"),
            ("missed deadlines, by level", "gridflow_sla_breaches_total",
             _levels(by_label(w, "gridflow_sla_breaches_total", "level"))),
            ("escalations, by level handing over", "gridflow_escalations_total",
             _levels(by_label(w, "gridflow_escalations_total", "from_level"))),
            ("records dead-lettered", "gridflow_deadletters_total", f"{total(w, 'gridflow_deadletters_total'):,.0f}"),
            ("matters still open", "gridflow_open_matters", f"{total(w, 'gridflow_open_matters'):,.0f}"),
        ]
    if projector is None:
        rows.append(("the projector had stopped", "projector /metrics", "no answer"))
    else:
        p = samples(projector)
        rows += [
            ("log events projected (replays count again)", "gridflow_projector_events_total",
             f"{total(p, 'gridflow_projector_events_total'):,.0f}"),
            ("seconds ClickHouse is behind the log", "gridflow_projection_delay_seconds",
             f"{total(p, 'gridflow_projection_delay_seconds'):,.1f}"),
        ]
    return rows


def save(workdir: Path, name: str, text: str | None) -> Path | None:
    if text is None:
        return None
    path = workdir / f"{name}.metrics"
    path.write_text(text, encoding="utf-8")
    return path
