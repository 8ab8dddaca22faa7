"""The publisher SDK against the real broker: acks=all, keyed by matter id, and every event
comes back from the intake topic decodable; watermarks on every partition; gridflow publish."""
from __future__ import annotations

import json
import time
from argparse import Namespace
from typing import Callable

import pytest
from kafka import KafkaConsumer

from events import codec
from gridflow.commands import publish as publish_command
from gridflow.sdk import Publisher, PublishError
from gridflow.settings import Settings

pytestmark = pytest.mark.integration

AT = 1_772_415_000_000  # 2026-03-02 09:30 CST


def read_back(settings: Settings, topic: str, until: Callable[[list], bool], timeout: float = 30.0) -> list:
    """Every record of ``topic`` from the start, until ``until(records)`` holds or the deadline passes."""
    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    records, deadline = [], time.monotonic() + timeout
    try:
        while not until(records) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
    finally:
        consumer.close()
    return records


def ids(records: list) -> set[str]:
    return {codec.decode(r.value).event_id for r in records}


@pytest.fixture(scope="module")
def published(settings, kafka_topics):
    with Publisher(settings, producer="sdk-test") as pub:
        assert pub._producer.config["acks"] in (-1, "all")
        matter = pub.report(category="utility_repair", place="u-beijiang-c03", reporter="r-1",
                            text="宽带故障", at=AT)
        sent = [pub.accept(matter, unit="u-beijiang", handler="h-comm-1", at=AT + 1),
                pub.dispatch(matter, unit="cb-telecom-sanshui", at=AT + 2),
                pub.claim(matter, handler="h-cb-1", unit="cb-telecom-sanshui", at=AT + 3),
                pub.resolve(matter, unit="u-beijiang", handler="h-cb-1", at=AT + 4),
                pub.verify(matter, verifier="h-verify-1", at=AT + 5),
                pub.feedback(matter, contacted=True, solved=True, satisfaction="satisfied", at=AT + 6)]
        watermark = pub.watermark(AT + 7, event_id="wm-1")
        partitions = pub.partitions()
        with pub.batch(flush_every=500) as batch:
            many = [pub.events.resumed(f"m-batch-{i}", at=AT + i) for i in range(2000)]
            batch.add_all(many)
    return matter, sent, watermark, partitions, many, batch


def test_every_call_comes_back_from_the_intake_topic_keyed_by_its_matter(settings, published):
    matter, sent, watermark, partitions, many, batch = published
    want = 1 + len(sent) + len(partitions) + len(many)
    records = read_back(settings, settings.topics.intake, lambda rs: len(rs) >= want)
    assert len(records) == want
    events = {codec.decode(r.value).event_id: (r, codec.decode(r.value)) for r in records}
    for event in sent:
        record, back = events[event.event_id]
        assert back == event and record.key == matter.encode()
    copies = [(r.partition, e) for r, e in events.values() if e.TYPE == "watermark"]
    assert sorted(p for p, _ in copies) == partitions == list(range(settings.partitions))
    assert {e.event_id for _, e in copies} == {f"wm-1.p{p}" for p in partitions}
    assert (batch.events, batch.acknowledged) == (2000, 2000)
    assert all(events[e.event_id][1] == e for e in many)


def test_gridflow_publish_sends_valid_lines_and_reports_the_rejected(settings, kafka_topics, tmp_path, capsys):
    good = {"id": "jsonl-1", "matter": "m-jsonl", "type": "reported", "v": 1, "at": "2026-03-02T09:30:00+08:00",
            "producer": "jsonl-app", "data": {"kind": "incident", "category": "sanitation", "priority": "normal",
                                              "channel": "app", "place": "u-beijiang-c01", "reporter": "r-2",
                                              "text": "垃圾"}}
    bad = dict(good, id="jsonl-2", data=dict(good["data"], priority="high"))
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n" + json.dumps(bad, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    code = publish_command.run(Namespace(file=str(path), dry_run=False, timeout=30.0), settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "published   1" in out and "   2  data.priority: expected one of low, normal, urgent, got 'high'" in out
    records = read_back(settings, settings.topics.intake, lambda rs: "jsonl-1" in ids(rs))
    assert "jsonl-1" in ids(records) and "jsonl-2" not in ids(records)


def test_a_missing_topic_fails_with_publish_error_instead_of_being_created(settings, kafka_bootstrap):
    lost = settings.with_(topic_prefix=settings.topic_prefix + "-missing")
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"-missing\.matters\.intake"):
        with Publisher(lost, producer="sdk-test", timeout=3.0) as pub:
            pub.resume("m-1", at=AT)
    assert time.monotonic() - started < 20
