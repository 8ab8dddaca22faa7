"""Hostile input on the whole pipeline (docs/reliability.md): a record of a megabyte, junk, a
record on the wrong partition, an event stamped ten years ahead, names and phone numbers in
every field that takes text. Each bad record is dead-lettered with its reason, nothing else
changes, and nothing personal reaches ClickHouse."""
from __future__ import annotations

import pytest

from events import codec
from events.types import (EscalationRequested, MatterReopened, MatterReported, MatterSuspended,
                          VerificationFailed)
from harness import Pipeline
from streams.intake import partition_of

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

NAME, PHONE = "张三丰", "13800138000"
PERSONAL = f"{NAME} 电话 {PHONE}, Zhang Sanfeng, zhang.sanfeng@example.com"


def home(p: Pipeline, matter_id: str) -> int:
    return partition_of(matter_id.encode(), p.settings.partitions)


def reasons(p: Pipeline) -> list[str]:
    return sorted(d["reason"].split(":")[0] for d in p.log()[1])


def test_bad_records_mid_stream_are_dead_lettered_and_change_nothing(settings, kafka_bootstrap, pipelines,
                                                                    tmp_path):
    p = Pipeline(settings, tmp_path)
    pipelines.append(p)
    p.start()
    first, second = p.parts(2)
    p.publish(first)
    report = next(e for e in first if isinstance(e, MatterReported))
    key, partition = report.matter_id.encode(), home(p, report.matter_id)
    p.raw(b"\x92" + b"x" * 1_000_000, key=key, partition=partition)  # a megabyte ahead of the matter's records
    p.raw(b"\xc1 junk", key=b"junk", partition=partition)
    p.raw(codec.encode(report.replace(event_id="elsewhere")), key=b"x", partition=(partition + 1) % 4)
    future = report.replace(event_id="from-2099", occurred_at=4_070_908_800_000)  # 2099: rejected, changes nothing
    p.raw(codec.encode(future), key=key, partition=partition)
    p.publish(second)
    p.drain()
    p.stop()
    p.check(deadletters=4)
    assert reasons(p) == ["from_future", "too_large", "undecodable", "wrong_partition"]


def with_personal_text(event):
    """The same event with a name, a phone number and an email in every free-text field."""
    if isinstance(event, MatterReported):
        return event.replace(text=PERSONAL)
    if isinstance(event, (MatterSuspended, MatterReopened, VerificationFailed)):
        return event.replace(reason=PERSONAL)
    if isinstance(event, EscalationRequested):
        return event.replace(note=PERSONAL)
    return event


def test_names_and_phone_numbers_in_every_field_never_reach_clickhouse(settings, kafka_bootstrap, pipelines,
                                                                      tmp_path):
    p = Pipeline(settings, tmp_path, days=4)
    p.events = [with_personal_text(e) for e in p.events]
    pipelines.append(p)
    p.start()
    p.publish(p.events)
    # identifiers with personal data in them, past the SDK: each is refused as invalid
    report = next(e for e in p.events if isinstance(e, MatterReported))
    hostile = [report.replace(**{"event_id": f"pii-{i}", **change}) for i, change in enumerate([
        {"reporter": PHONE}, {"reporter": NAME}, {"producer": "Zhang Sanfeng"}, {"place": PHONE},
        {"matter_id": PHONE}, {"event_id": "zhang.sanfeng@example.com"}, {"category": NAME}])]
    for event in hostile:
        from events.validation import to_wire

        p.raw(codec.pack(to_wire(event)), key=event.matter_id.encode(), partition=home(p, event.matter_id))
    p.drain()
    p.stop()
    p.check(deadletters=len(hostile))
    assert set(reasons(p)) == {"invalid"}

    from projections.store import open_store

    db = p.settings.clickhouse_database
    with open_store(p.settings) as store:
        columns = store.query("SELECT table, name FROM system.columns WHERE database = %(db)s "
                              "AND type LIKE '%%String%%'", {"db": db})
        assert len(columns) > 20
        for table, column in columns:
            for needle in (NAME, PHONE, "Zhang", "example.com", "电话"):
                hits = store.scalar(f"SELECT count() FROM {db}.{table} WHERE positionUTF8(toString({column}), "
                                    "%(needle)s) > 0", {"needle": needle})
                assert hits == 0, f"{needle!r} found in {db}.{table}.{column}"
