"""The simulator, published through the SDK to the real broker and processed by a real worker
running on event time, yields an event log that agrees exactly with the simulator's ground
truth: every escalation, every breach, where each matter was resolved — and no dead letters."""
from __future__ import annotations

import dataclasses
import os
import signal
from gridflow.children import free_port
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer

from events import codec
from events.orgtree import dump_csv
from events.types import MatterCancelled, MatterEscalated, MatterResolved, MatterVerified, SlaBreached
from gridflow.city import generate
from gridflow.settings import ENV_PREFIX, Settings
from gridflow.simulate import simulate

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim_settings(settings: Settings, kafka_bootstrap: str, tmp_path: Path):
    from deploy.topics import delete_topics, ensure_topics

    ours = settings.with_(topic_prefix=f"{settings.topic_prefix}-sim-{uuid.uuid4().hex[:6]}", clock="event",
                          worker_web_port=free_port(), scan_interval_seconds=0.5,
                          org_path=str(tmp_path / "city.csv"))
    ensure_topics(ours)
    yield ours
    delete_topics(ours)
    admin = KafkaAdminClient(bootstrap_servers=ours.kafka_bootstrap)
    try:  # the worker's own changelog and repartition topics
        internal = [t for t in admin.list_topics() if t.startswith(f"{ours.topic_prefix}-")]
        if internal:
            admin.delete_topics(internal)
    finally:
        admin.close()


@pytest.fixture
def worker(sim_settings: Settings, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update({ENV_PREFIX + f.name.upper(): str(getattr(sim_settings, f.name))
                for f in dataclasses.fields(Settings)})
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "gridflow.cli", "worker"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield proc, tmp_path / "worker.log"
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
    log.close()


def test_a_simulated_city_through_the_real_worker_matches_the_ground_truth(sim_settings, worker):
    proc, log_path = worker
    tree = generate(grids=150, seed=3)
    dump_csv(tree, sim_settings.org_path)
    truth = simulate(sim_settings, tree, days=3, seed=3, matters_per_day=120)
    assert len(truth) > 250

    consumer = KafkaConsumer(sim_settings.topics.events, sim_settings.topics.deadletter,
                             bootstrap_servers=sim_settings.kafka_bootstrap, group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    log, deadletters = defaultdict(dict), []

    def ended(matter) -> bool:
        events = log[matter.matter_id].values()
        if matter.status == "cancelled":
            return any(isinstance(e, MatterCancelled) for e in events)
        return sum(isinstance(e, MatterVerified) for e in events) == 1 + matter.reopened

    deadline = time.monotonic() + 180
    try:
        while not all(ended(m) for m in truth) or deadletters:
            assert proc.poll() is None, "worker exited:\n" + log_path.read_text(errors="replace")[-3000:]
            assert not deadletters, deadletters[:3]
            if time.monotonic() > deadline:
                pytest.fail(f"{sum(not ended(m) for m in truth)} of {len(truth)} matters not finished in the log "
                            f"after 180s\n" + log_path.read_text(errors="replace")[-3000:], pytrace=False)
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    if r.topic == sim_settings.topics.deadletter:
                        deadletters.append(codec.decode_deadletter(r.value)["reason"])
                    else:
                        event = codec.decode(r.value)
                        log[event.matter_id][event.event_id] = event
    finally:
        consumer.close()

    for m in truth:
        events = sorted(log[m.matter_id].values(), key=lambda e: e.occurred_at)
        escalations = [dict(from_level=e.from_level, from_unit=e.from_unit, to_level=e.to_level, to_unit=e.to_unit,
                            reason=e.reason, at=e.occurred_at, cycle=e.cycle)
                       for e in events if isinstance(e, MatterEscalated)]
        breaches = [dict(level=e.level, unit=e.unit, cycle=e.cycle, deadline=e.deadline, at=e.due_at)
                    for e in events if isinstance(e, SlaBreached)]
        resolved = [e for e in events if isinstance(e, MatterResolved)]
        assert escalations == m.escalations, m.matter_id
        assert breaches == m.breaches, m.matter_id
        assert [(e.level, e.unit) for e in resolved[-1:]] == (
            [(m.resolved_level, m.resolved_unit)] if m.resolved_level else []), m.matter_id
