"""Upgrading from the worker that kept its states in Faust tables: a partition whose state topic
is still empty adopts the states and the event clock the old worker left in its changelog
topics, writes them to the state topic, and the matters go on as if nothing happened."""
from __future__ import annotations

import pytest

from events import codec
from events.types import MatterResolved
from streams.intake import partition_of
from streams.recovery import LEGACY_CLOCKS, LEGACY_STATES
from streams_fixtures import Log, Publisher, WorkerProcess, cleanup_topics, stream_settings, table_states

pytestmark = pytest.mark.integration

# A state as the old worker stored it (schema 1): matter m-1, accepted at grid g1.
V1 = {"matter_id": "m-1", "status": "accepted", "kind": "incident", "category": "sanitation", "priority": "normal",
      "place": "k1", "reported_at": 1773622800000, "unit": "g1", "level": "grid", "cycle": 1,
      "deadlines": {"started_at": 1773730800000, "accept_by": 1773737880000, "resolve_by": 1773903480000,
                    "warn_at": [1773817080000, 1773868920000], "thresholds": [0.5, 0.8], "accept_basis": "natural",
                    "resolve_basis": "working", "policy_version": "2026.1"},
      "fired": [], "suspended_at": None, "resolved_at": None, "resolved_level": None, "feedback": None,
      "last_at": 1773730800000, "applied": ["e-1", "e-2"], "sv": 1}


def test_states_of_the_faust_table_worker_are_adopted_once(settings, kafka_bootstrap, tmp_path):
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    from streams.app import app_id

    ours = stream_settings(settings, tmp_path, "upgrade", clock="event")
    group = app_id(ours)
    admin = KafkaAdminClient(bootstrap_servers=ours.kafka_bootstrap)
    admin.create_topics([NewTopic(LEGACY_STATES.format(group=group), ours.partitions, 1),
                         NewTopic(LEGACY_CLOCKS.format(group=group), ours.partitions, 1)])
    admin.close()
    home = partition_of(b"m-1", ours.partitions)
    producer = KafkaProducer(bootstrap_servers=ours.kafka_bootstrap, acks="all")
    producer.send(LEGACY_STATES.format(group=group), key=b"m-1", value=codec.pack(V1), partition=home).get(30)
    marks = {str(source): 1773730800000 for source in range(ours.partitions)}
    producer.send(LEGACY_CLOCKS.format(group=group), key=f"clock/{home}".encode(), value=codec.pack(marks),
                  partition=home).get(30)
    producer.close()

    worker = WorkerProcess(ours, tmp_path).start()
    pub, log = Publisher(ours), Log(ours, [worker])
    try:
        resolved = MatterResolved(event_id="e-3", matter_id="m-1", occurred_at=1773734400000, producer="t",
                                  unit="g1", handler="h-1")
        pub.send(resolved)
        log.wait_until(lambda l: any(e.event_id == "e-3" for e in l.events), "the resolution of the adopted matter")
        assert not log.deadletters
        assert [e.level for e in log.events if e.event_id == "e-3"] == ["grid"]
        log.wait_until(lambda l: table_states(ours).get("m-1") is not None and
                       table_states(ours)["m-1"].status == "resolved", "the adopted state on the state topic", 30)
    finally:
        worker.stop()
        pub.close()
        log.close()
        cleanup_topics(ours)  # the legacy topics too: they carry the group's name
