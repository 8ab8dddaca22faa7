"""The publisher SDK builds valid events, keys them by matter id, and refuses bad calls before sending."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from kafka.errors import KafkaTimeoutError

from events import DecodeError, ValidationError, codec
from events.types import EscalationRequested, MatterEscalated
from gridflow.sdk import Publisher, PublishError
from gridflow.settings import Settings

AT = 1_772_415_000_000  # 2026-03-02 09:30 CST
CST = timezone(timedelta(hours=8))


class FakeFuture:
    """Already answered, like a kafka-python future after flush."""

    def __init__(self, error: Exception | None) -> None:
        self.is_done, self.exception = True, error

    def succeeded(self) -> bool:
        return self.exception is None

    def get(self, timeout=None):
        if self.exception is not None:
            raise self.exception
        return "metadata"


class FakeKafkaProducer:
    """Stands in for kafka-python's producer in unit tests; the integration test uses the real broker."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.partitions: list[int | None] = []
        self.fail = fail
        self.flushes = 0

    def send(self, topic, key, value, partition=None):
        self.sent.append((topic, key, value))
        self.partitions.append(partition)
        return FakeFuture(KafkaTimeoutError("broker gone") if self.fail else None)

    def partitions_for(self, topic):
        return {0, 1, 2}

    def flush(self, timeout=None):
        self.flushes += 1

    def close(self, timeout=None):
        pass


@pytest.fixture
def kafka():
    return FakeKafkaProducer()


@pytest.fixture
def pub(kafka):
    return Publisher(Settings(topic_prefix="t"), producer="test-app", kafka_producer=kafka)


def test_report_mints_a_matter_id_infers_the_kind_and_sends_to_intake_keyed_by_matter(pub, kafka):
    matter = pub.report(category="utility_repair", place="u-beijiang-c03", reporter="r-1", text="broadband down", at=AT)
    [(topic, key, value)] = kafka.sent
    event = codec.decode(value)
    assert topic == "t.matters.intake" and key == matter.encode() and matter.startswith("m-")
    assert (event.TYPE, event.kind, event.priority, event.channel, event.producer) == (
        "reported", "request", "normal", "app", "test-app")
    assert event.occurred_at == AT


LIFECYCLE = [
    ("accept", {"unit": "u-beijiang-g01", "handler": "h-grid-1"}, "accepted"),
    ("dispatch", {"handler": "h-pm-42"}, "dispatched"),
    ("claim", {"handler": "h-pm-42", "unit": "cb-telecom-sanshui"}, "claimed"),
    ("suspend", {"reason": "waiting for the gas company"}, "suspended"),
    ("resume", {}, "resumed"),
    ("resolve", {"unit": "u-beijiang-g01", "handler": "h-grid-1"}, "resolved"),
    ("verify", {"verifier": "h-comm-7"}, "verified"),
    ("fail_verification", {"verifier": "h-comm-7", "reason": "still leaking"}, "verification_failed"),
    ("feedback", {"contacted": True, "solved": True, "satisfaction": "satisfied"}, "feedback"),
    ("reopen", {"reason": "leak is back"}, "reopened"),
    ("cancel", {"reason": "duplicate", "duplicate_of": "m-0"}, "cancelled"),
    ("request_escalation", {"handler": "h-grid-1", "reason": "beyond_authority"}, "escalation_requested"),
]


@pytest.mark.parametrize("method, kwargs, type_name", LIFECYCLE)
def test_every_lifecycle_call_sends_one_valid_event_that_round_trips(pub, kafka, method, kwargs, type_name):
    event = getattr(pub, method)("m-1", at=AT, event_id="e-1", **kwargs)
    [(topic, key, value)] = kafka.sent
    assert codec.decode(value) == event
    assert (event.TYPE, event.matter_id, event.event_id, event.occurred_at) == (type_name, "m-1", "e-1", AT)
    assert key == b"m-1" and topic == "t.matters.intake"


def test_a_watermark_goes_to_every_intake_partition_with_an_id_per_copy(pub, kafka):
    event = pub.watermark(datetime(2026, 3, 2, 9, 30, tzinfo=CST), event_id="w-1")
    assert event.matter_id == "clock-test-app" and event.occurred_at == AT
    assert kafka.partitions == [0, 1, 2]
    copies = [codec.decode(value) for _, _, value in kafka.sent]
    assert [c.event_id for c in copies] == ["w-1.p0", "w-1.p1", "w-1.p2"]
    assert {(c.TYPE, c.matter_id, c.occurred_at) for c in copies} == {("watermark", "clock-test-app", AT)}
    assert {key for _, key, _ in kafka.sent} == {b"clock-test-app"}


def test_matter_events_are_left_to_the_key_partitioner(pub, kafka):
    pub.resume("m-1", at=AT)
    assert kafka.partitions == [None]


def test_times_default_to_now_and_ids_to_fresh_uuids(pub):
    before = int(datetime.now(timezone.utc).timestamp() * 1000)
    first, second = pub.resume("m-1"), pub.resume("m-1")
    assert first.occurred_at >= before and first.event_id != second.event_id and len(first.event_id) == 36


@pytest.mark.parametrize("call, field", [
    (lambda p: p.report(category="sanitation", place="u-x", reporter="r", text="t", priority="high"), "data.priority"),
    (lambda p: p.report(category="potholes", place="u-x", reporter="r", text="t"), "data.category"),
    (lambda p: p.report(category="sanitation", kind="request", place="u-x", reporter="r", text="t"), "data.kind"),
    (lambda p: p.report(category="sanitation", place="", reporter="r", text="t"), "data.place"),
    (lambda p: p.report(category="sanitation", place="u-x", reporter="r", text="x" * 2001), "data.text"),
    (lambda p: p.accept("m-1", unit="u-x", handler=""), "data.handler"),
    (lambda p: p.accept("", unit="u-x", handler="h"), "matter"),
    (lambda p: p.dispatch("m-1"), "data.unit"),
    (lambda p: p.cancel("m-1", reason="duplicate"), "data.duplicate_of"),
    (lambda p: p.cancel("m-1", reason="bored"), "data.reason"),
    (lambda p: p.feedback("m-1", contacted="yes", solved=True, satisfaction="satisfied"), "data.contacted"),
    (lambda p: p.resolve("m-1", unit="u-x", handler="h", level="planet"), "data.level"),
    (lambda p: p.request_escalation("m-1", handler="h", reason="tired"), "data.reason"),
    (lambda p: p.resume("m-1", at=1_772_415_000), "at"),
    (lambda p: p.resume("m-1", at=datetime(2026, 3, 2, 9, 30)), "at"),
    (lambda p: p.publish(MatterEscalated(event_id="e", matter_id="m", occurred_at=AT, producer="p",
                                         from_unit="a", from_level="grid", to_unit="b", to_level="community",
                                         reason="breach", cycle=2)), "type"),
])
def test_invalid_calls_raise_naming_the_field_and_send_nothing(pub, kafka, call, field):
    with pytest.raises(ValidationError) as caught:
        call(pub)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: expected")
    assert kafka.sent == []


def test_category_checks_can_be_left_to_the_pipeline(kafka):
    pub = Publisher(Settings(), producer="p", check_categories=False, kafka_producer=kafka)
    pub.report(category="potholes", kind="incident", place="u-x", reporter="r", text="t", at=AT)
    assert codec.decode(kafka.sent[0][2]).category == "potholes"


def test_an_unacknowledged_event_raises_publish_error_naming_topic_and_event():
    pub = Publisher(Settings(topic_prefix="t"), producer="p", kafka_producer=FakeKafkaProducer(fail=True))
    with pytest.raises(PublishError, match=r"t.matters.intake event e-9 \(matter m-1\): not acknowledged"):
        pub.resume("m-1", event_id="e-9", at=AT)


def test_a_batch_sends_many_flushes_once_and_checks_every_ack(pub, kafka):
    events = [pub.events.accepted(f"m-{i}", unit="u-g", handler="h", at=AT + i) for i in range(25)]
    with pub.batch(flush_every=10) as batch:
        batch.add_all(events)
    assert (batch.events, batch.sent, batch.acknowledged, kafka.flushes) == (25, 25, 25, 3)
    assert [codec.decode(v) for _, _, v in kafka.sent] == events


def test_a_batch_sends_a_watermark_to_every_partition_in_stream_order(pub, kafka):
    with pub.batch() as batch:
        batch.add(pub.events.resumed("m-1", at=AT))
        batch.add(pub.events.watermark(AT + 1, event_id="w"))
    assert (batch.events, batch.acknowledged) == (2, 4)
    assert [codec.decode(v).event_id for _, _, v in kafka.sent][1:] == ["w.p0", "w.p1", "w.p2"]


def test_a_batch_counts_the_events_the_broker_did_not_acknowledge(pub):
    failing = Publisher(Settings(), producer="p", kafka_producer=FakeKafkaProducer(fail=True))
    with pytest.raises(PublishError, match="3 of 3 events not acknowledged") as caught:
        with failing.batch() as batch:
            batch.add_all(pub.events.resumed("m-1", at=AT + i) for i in range(3))
    assert caught.value.failed == 3


def test_a_batch_validates_unless_told_the_events_are_built_by_the_factory(pub, kafka):
    bad = pub.events.resumed("m-1", at=AT).replace(occurred_at=5)
    with pytest.raises(ValidationError, match="^at: expected"):
        pub.batch().add(bad)
    assert kafka.sent == []


def test_an_event_larger_than_the_maximum_record_is_refused_before_anything_is_sent(pub, kafka, monkeypatch):
    monkeypatch.setattr(codec, "MAX_RECORD_BYTES", 400)  # no valid event reaches 64 KiB: shrink the limit
    with pytest.raises(ValidationError, match=r"^record: event e-big encodes to \d+ bytes, more than the "
                                              r"maximum record of 400 bytes$") as caught:
        pub.report(category="sanitation", place="u-beijiang-c03", reporter="r-1", text="垃圾" * 200, at=AT,
                   event_id="e-big")
    assert caught.value.size > 400 and caught.value.event_id == "e-big"
    with pytest.raises(ValidationError, match="e-big2"), pub.batch() as batch:
        batch.add(pub.events.reported(category="sanitation", place="u-beijiang-c03", reporter="r-1",
                                      text="垃圾" * 200, at=AT, event_id="e-big2"))
    assert kafka.sent == []


def test_the_largest_legitimate_event_is_far_below_the_maximum_record():
    text = "垃" * 2000  # the longest text, in three-byte characters
    biggest = EscalationRequested(event_id="e" * 128, matter_id="m" * 128, occurred_at=AT, producer="p" * 128,
                                  handler="h" * 128, reason="beyond_authority", note=text)
    assert len(codec.encode(biggest)) < codec.MAX_RECORD_BYTES // 4


def test_decoding_refuses_a_record_larger_than_the_maximum():
    with pytest.raises(DecodeError, match="larger than the maximum of 65536 bytes"):
        codec.decode(b"\x00" * (codec.MAX_RECORD_BYTES + 1))
