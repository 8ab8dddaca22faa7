"""`gridflow deadletters` on the real stack: bad records go through a real worker, the command
lists and filters them, shows one decoded, and re-drives after a fix — the re-driven events are
processed by the worker, counted in its metrics, and a second re-drive sends nothing; the
projector's dead letters are listed too, and never sent to the intake."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from events import codec
from events.validation import to_wire
from gridflow.children import settings_env
from projection_support import wait_for
from streams_fixtures import (ROOT, T0, H, Log, Publisher, WorkerProcess, _event, _report, cleanup_topics,
                              stream_settings)

pytestmark = pytest.mark.integration


def gridflow(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridflow.cli", "deadletters", *args], cwd=ROOT,
                          env=settings_env(settings), capture_output=True, text=True, timeout=120)


def listed(settings, *filters: str) -> list[dict]:
    done = gridflow(settings, "list", "--format", "jsonl", *filters)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def intake_end(settings) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        tps = [TopicPartition(settings.topics.intake, p) for p in consumer.partitions_for_topic(settings.topics.intake)]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def redriven_metric(worker: WorkerProcess, code: str) -> float:
    for line in worker.metrics().splitlines():
        if line.startswith(f'gridflow_redriven_total{{code="{code}"}}'):
            return float(line.split()[-1])
    return 0.0


@pytest.fixture
def pipeline(settings, kafka_bootstrap, tmp_path):
    s = stream_settings(settings, tmp_path, "deadletters", clock="event")
    worker = WorkerProcess(s, tmp_path).start()
    pub, log = Publisher(s), Log(s, [worker])
    yield s, worker, pub, log
    for thing in (log, pub):
        thing.close()
    worker.stop()
    cleanup_topics(s)


def test_dead_letters_are_listed_shown_and_redriven_once_after_a_fix(pipeline, tmp_path):
    settings, worker, pub, log = pipeline
    early = _event("accepted", "m-early", T0 + H, 1, unit="g1", handler="h-g1")  # its report comes later
    pub.send(early)
    bad = to_wire(_report("m-bad", T0 + H, "sanitation", "k1"))
    bad["data"]["priority"] = "high"
    pub.raw(codec.pack(bad), "m-bad")
    pub.raw(codec.encode(_event("routed", "m-ok", T0 + H, 9, place="k1", unit="g1", level="grid",
                                policy_version="2026.1")), "m-ok")
    pub.raw(b"\x93not msgpack at all", "m-junk")
    pub.send(_report("m-ok", T0 + H, "sanitation", "k1"))
    log.wait_until(lambda l: len(l.deadletters) == 4 and "m-ok-00-reported" in l.ids(), "4 dead letters")

    everything = listed(settings)
    assert sorted((r["stage"], r["code"], r["matter"]) for r in everything) == [
        ("intake", "invalid", "m-bad"), ("intake", "not_upstream", "m-ok"), ("intake", "undecodable", "m-junk"),
        ("matters", "unknown_matter", "m-early")]
    assert all(r["source"].startswith(settings.topics.intake + "[") and not r["redriven"] for r in everything)
    ref = {r["code"]: r["ref"] for r in everything}

    # filters: stage, code, matter, time range; and the formats
    assert [r["code"] for r in listed(settings, "--stage", "matters")] == ["unknown_matter"]
    assert sorted(r["code"] for r in listed(settings, "--code", "invalid", "--code", "undecodable")) == \
        ["invalid", "undecodable"]
    assert [r["ref"] for r in listed(settings, "--matter", "m-early")] == [ref["unknown_matter"]]
    assert listed(settings, "--from", "2099-01-01") == [] and listed(settings, "--to", "2001-01-01") == []
    assert len(listed(settings, "--from", "2001-01-01", "--to", "2099-01-01")) == 4
    as_csv = gridflow(settings, "list", "--format", "csv", "--code", "invalid").stdout
    assert [r["matter"] for r in csv.DictReader(io.StringIO(as_csv))] == ["m-bad"]
    assert len(json.loads(gridflow(settings, "list", "--format", "json").stdout)) == 4
    table = gridflow(settings, "list").stdout
    assert "unknown_matter" in table and "(4 dead letters of 4 read" in table

    shown = gridflow(settings, "show", ref["invalid"])
    assert shown.returncode == 0, shown.stderr
    assert "data.priority: expected one of low, normal, urgent, got 'high'" in shown.stdout
    assert f"{settings.topics.intake} partition" in shown.stdout and '"priority": "high"' in shown.stdout
    assert "--file" in shown.stdout  # it says how to re-drive it
    junk = json.loads(gridflow(settings, "show", ref["undecodable"], "--format", "json").stdout)
    assert junk["original"] is None and junk["original_bytes"] == 19
    missing = gridflow(settings, "show", "0:999999")
    assert missing.returncode == 1 and "no dead letter 0:999999" in missing.stderr

    # the fix for the early acceptance: its report arrives; then a dry run, then the re-drive
    pub.send(_report("m-early", T0, "sanitation", "k1"))
    log.wait_until(lambda l: "m-early-00-reported" in l.ids(), "the late report applied")
    before = intake_end(settings)
    dry = gridflow(settings, "redrive", ref["unknown_matter"], "--dry-run")
    assert dry.returncode == 0 and "would send the original event m-early-01-accepted" in dry.stdout, dry.stdout
    assert intake_end(settings) == before
    done = gridflow(settings, "redrive", ref["unknown_matter"])
    assert done.returncode == 0 and "re-drove 1" in done.stdout, done.stdout + done.stderr
    log.wait_until(lambda l: "m-early-01-accepted" in l.ids(), "the re-driven acceptance applied")

    # the invalid report: the same id is refused, a corrected event under a new id goes through
    fixed = dict(bad, data={**bad["data"], "priority": "urgent"})
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps(fixed), encoding="utf-8")
    same_id = gridflow(settings, "redrive", ref["invalid"], "--file", str(path))
    assert same_id.returncode == 1 and "needs a new event id" in same_id.stdout, same_id.stdout
    path.write_text(json.dumps(fixed | {"id": "m-bad-00-reported-fixed"}), encoding="utf-8")
    corrected = gridflow(settings, "redrive", ref["invalid"], "--file", str(path))
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    log.wait_until(lambda l: "m-bad-00-reported-fixed" in l.ids() and
                   any(e.TYPE == "routed" and e.matter_id == "m-bad" for e in l.events), "the corrected report routed")

    # never re-driven: a derived event, and junk without a corrected file
    derived = gridflow(settings, "redrive", "--code", "not_upstream")
    assert derived.returncode == 1 and "only the pipeline writes those" in derived.stdout
    junk_again = gridflow(settings, "redrive", ref["undecodable"])
    assert junk_again.returncode == 1 and "pass it with --file" in junk_again.stdout

    # a second re-drive sends nothing
    before = intake_end(settings)
    again = gridflow(settings, "redrive", "--stage", "matters", "--stage", "intake", "--code", "unknown_matter",
                     "--code", "invalid")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("skipped: already re-driven") == 2 and "re-drove 0" in again.stdout
    assert intake_end(settings) == before
    marked = {r["code"]: r["redriven"] for r in listed(settings)}
    assert marked == {"invalid": True, "unknown_matter": True, "not_upstream": False, "undecodable": False}
    assert len(log.deadletters) == 4, "a re-driven record was dead-lettered again"

    # the projector's dead letters are on the same topic, and go back through a rebuild, not the intake
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    producer.send(settings.topics.events, key=b"m-log", value=b"\xc1 not a log record").get(timeout=30)
    producer.close()
    own = settings.with_(store="chdb", chdb_path=str(tmp_path / "chdb"), projector_group=f"{settings.topic_prefix}-p")
    projected = subprocess.run([sys.executable, "-m", "gridflow.cli", "project", "--until-idle", "--no-metrics"],
                               cwd=ROOT, env=settings_env(own), capture_output=True, text=True, timeout=120)
    assert projected.returncode == 0 and "1 dead letters" in projected.stdout, projected.stdout + projected.stderr
    from_projector = listed(settings, "--stage", "projector")
    assert [r["code"] for r in from_projector] == ["decode_error"]
    assert from_projector[0]["source"].startswith(settings.topics.events + "[")
    log_record = gridflow(settings, "redrive", from_projector[0]["ref"])
    assert log_record.returncode == 1 and "gridflow rebuild" in log_record.stdout, log_record.stdout

    # the worker counted what it read back
    wait_for("gridflow_redriven_total on the worker",  # not log.wait_until: the log now holds a bad record
             lambda: redriven_metric(worker, "unknown_matter") == 1 and redriven_metric(worker, "invalid") == 1,
             timeout=30, detail=worker.tail)
