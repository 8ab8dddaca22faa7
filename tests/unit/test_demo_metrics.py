"""What the demo shows of the metrics: the series a person reads first, read from a real
exposition of the worker's and projector's registries' format."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from gridflow import demo_metrics
from gridflow.demo_report import _columns


def exposition() -> tuple[str, str]:
    reg = CollectorRegistry()
    out = Counter("gridflow_events_out_total", "", ["topic", "type"], registry=reg)
    out.labels("p.matters.events", "routed").inc(7)
    out.labels("p.matters.events", "escalated").inc(3)
    out.labels("p.other.topic", "routed").inc(100)  # not the log
    esc = Counter("gridflow_escalations_total", "", ["from_level", "reason"], registry=reg)
    esc.labels("grid", "breach").inc(2)
    esc.labels("grid", "whistle").inc(1)
    esc.labels("community", "breach").inc(4)
    Gauge("gridflow_open_matters", "", ["level"], registry=reg).labels("grid").set(5)
    worker = generate_latest(reg).decode()
    reg2 = CollectorRegistry()
    Gauge("gridflow_projection_delay_seconds", "", registry=reg2).set(1.25)
    return worker, generate_latest(reg2).decode()


def test_the_summary_counts_log_events_and_escalations_by_level():
    worker, projector = exposition()
    rows = {name: value for _, name, value in demo_metrics.summary([worker], projector, events_topic="p.matters.events")}
    assert rows["gridflow_events_out_total"] == "10"
    assert rows["gridflow_escalations_total"] == "grid 3 · community 4"
    assert rows["gridflow_open_matters"] == "5"
    assert rows["gridflow_projection_delay_seconds"] == "1.2"
    assert rows["gridflow_sla_breaches_total"] == "none"


def test_a_process_that_did_not_answer_is_named_not_hidden():
    worker, _ = exposition()
    rows = demo_metrics.summary([worker, None], None, events_topic="p.matters.events")
    assert ("the projector had stopped", "projector /metrics", "no answer") in rows
    assert ("1 worker(s) had stopped", "worker /metrics", "no answer") in rows


def test_the_workers_add_up():
    worker, projector = exposition()
    rows = {name: value for _, name, value in
            demo_metrics.summary([worker, worker], projector, events_topic="p.matters.events")}
    assert rows["gridflow_events_out_total"] == "20" and rows["gridflow_escalations_total"] == "grid 6 · community 8"


def test_nothing_listening_gives_none():
    from gridflow.children import free_port

    assert demo_metrics.scrape(free_port(), timeout=1) is None


def test_columns_align_but_a_long_cell_with_nothing_after_it_does_not_widen_them():
    lines = _columns([("a", "first"), ("a much longer command with no description", ""), ("bbb", "second")])
    assert lines == ["  a    first", "  a much longer command with no description", "  bbb  second"]
    assert _columns([("网格", "x"), ("ab", "y")]) == ["  网格  x", "  ab    y"]
