"""Backfills of years of old matters project on both stores; the migration to yearly partitions
copies an existing database without changing a figure; rows ClickHouse refuses are found by
splitting and the good rows land."""
from __future__ import annotations

import time

import pytest

from events import codec
from projection_support import (assert_report_matches, bare_store, generate, in_matter_order, own,  # noqa: F401
                                produce, project_until_idle, read_deadletters, reference, store)
from projections import metrics, orgdim, rows
from projections.app import build_projector
from projections.migrate import discover, migrate
from projections.sink import Backoff, Batch, Sink
from projections.stats import Scope, compute

pytestmark = pytest.mark.integration

MONTH_DAYS = 30.44
BACKFILL = generate(seed=21, matters=700, span_days=int(152 * MONTH_DAYS), bad=False)
LOG = generate(seed=22, matters=120, bad=False)


def months(events) -> int:
    return len({time.gmtime(e.occurred_at // 1000)[:2] for e in events})


def each_event_once(st, events) -> None:
    ids = {e.event_id for e in events}
    assert st.scalar(f"SELECT count() FROM {st.table('event_log')}") == len(ids)
    assert st.scalar(f"SELECT uniqExact(event_id) FROM {st.table('events')}") == len(ids)


def same_figures(st, log) -> None:
    for unit in (None, "c-d1", "c-d0-s1-k1"):
        assert_report_matches(compute(st, Scope(unit=unit)), reference(log.events, log.units, unit=unit))


def partition_key(st) -> str:
    return st.scalar("SELECT partition_key FROM system.tables WHERE database = %(db)s AND name = 'events'",
                     {"db": st.database}).replace(" ", "")


def test_a_backfill_of_150_months_in_one_batch_projects_every_event_once(store):
    assert months(BACKFILL.events) >= 150
    settings = store.settings.with_(projector_batch_size=50_000, projector_batch_seconds=3.0)
    orgdim.write_units(store, BACKFILL.units)
    produce(settings, in_matter_order(BACKFILL.records))
    totals = project_until_idle(settings, store)
    assert totals.batches == 1 and totals.written == len(BACKFILL.events) and totals.deadletters == 0
    each_event_once(store, BACKFILL.events)
    same_figures(store, BACKFILL)
    assert partition_key(store) == "toYear(occurred)"


def test_a_backfill_into_monthly_partitions_is_split_until_clickhouse_takes_it(bare_store):
    """A database still partitioned by month (migration 0005 not applied): chdb refuses an insert
    touching more than 100 partitions (code 252); the halves land. 18.16 has no such limit."""
    st = bare_store
    migrate(st, migrations=discover()[:4], log=lambda _: None)
    assert partition_key(st) == "toYYYYMM(occurred)"
    settings = st.settings.with_(projector_batch_size=50_000, projector_batch_seconds=3.0)
    orgdim.write_units(st, BACKFILL.units)
    produce(settings, in_matter_order(BACKFILL.records))
    refused_before = metrics.REJECTED_INSERTS._value.get()
    totals = project_until_idle(settings, st)
    assert totals.written == len(BACKFILL.events) and totals.deadletters == 0
    if st.kind == "chdb":
        assert metrics.REJECTED_INSERTS._value.get() > refused_before
    each_event_once(st, BACKFILL.events)
    migrate(st, log=lambda _: None)  # the statistics read tables of later migrations
    each_event_once(st, BACKFILL.events)
    same_figures(st, BACKFILL)


def test_the_migration_to_yearly_partitions_copies_an_existing_database_and_keeps_every_figure(bare_store):
    st = bare_store
    migrate(st, migrations=discover()[:4], log=lambda _: None)
    orgdim.write_units(st, LOG.units)
    produce(st.settings, LOG.records)
    project_until_idle(st.settings, st)

    assert [m.name for m in migrate(st, log=lambda _: None)] == ["events_by_year", "matter_rows", "resources"]
    assert partition_key(st) == "toYear(occurred)"
    names = {n for (n,) in st.query("SELECT name FROM system.tables WHERE database = %(db)s", {"db": st.database})}
    assert "events_by_month" not in names and "events_by_year" not in names and "matter_changes_mv" in names
    assert_report_matches(compute(st, Scope(unit="c-d0")), reference(LOG.events, LOG.units, unit="c-d0"))
    each_event_once(st, LOG.events)
    # the view feeding matter_changes follows the new table
    more = generate(seed=23, matters=5, bad=False, first=5000)
    produce(st.settings, more.records)
    project_until_idle(st.settings, st)
    assert compute(st).total.matters == len({e.matter_id for e in LOG.events + more.events})


def test_a_migration_to_yearly_partitions_stopped_after_the_swap_is_finished_by_the_next_run(bare_store):
    st = bare_store
    migrate(st, migrations=discover()[:4], log=lambda _: None)
    orgdim.write_units(st, LOG.units)
    produce(st.settings, LOG.records)
    project_until_idle(st.settings, st)
    db = st.database  # the first steps of 0005, then a crash: no view, the old rows not copied yet
    st.execute(f"CREATE TABLE {db}.events_by_year AS {db}.events ENGINE = ReplacingMergeTree() "
               "PARTITION BY toYear(occurred) ORDER BY (matter_id, event_id)")
    st.execute(f"DROP TABLE {db}.matter_state_mv")
    st.execute(f"RENAME TABLE {db}.events TO {db}.events_by_month, {db}.events_by_year TO {db}.events")

    migrate(st, log=lambda _: None)
    same_figures(st, LOG)
    each_event_once(st, LOG.events)


def row_of(event, offset: int) -> list:
    return list(rows.to_row(event, 0, offset))


@pytest.mark.parametrize("column, value", [("log_offset", 1 << 64), ("cycle", "three")])
def test_rows_clickhouse_refuses_are_found_by_splitting_and_the_good_rows_land(store, column, value):
    """Rows the row builder never makes (it checks every range), written straight to the sink:
    a value beyond UInt64, a string for a number; both stores refuse them."""
    events = LOG.events[:40]
    batch = Batch()
    for offset, event in enumerate(events):
        row = row_of(event, offset)
        if offset in (7, 30):
            row[rows.COLUMNS.index(column)] = value
        batch.event_rows.append(row)
        batch.sources.append(offset)
    refused = Sink(store, log=lambda _: None).write(batch, lambda seconds: True)
    assert sorted(source for source, _, _ in refused) == [7, 30]
    landed = {i for (i,) in store.query(f"SELECT event_id FROM {store.table('events')}")}
    assert landed == {e.event_id for i, e in enumerate(events) if i not in (7, 30)}
    assert metrics.CLICKHOUSE_UP._value.get() == 1


def test_a_row_clickhouse_refuses_in_the_projector_is_dead_lettered_with_its_record_and_the_rest_land(store):
    """A row-builder bug (simulated: one row gets a value beyond its column) is caught by
    ClickHouse; the record goes to the dead-letter topic with its bytes and position."""
    settings = store.settings
    orgdim.write_units(store, LOG.units)
    produce(settings, LOG.records)
    bad_id = LOG.events[10].event_id
    projector = build_projector(settings, store, log=lambda _: None, progress_seconds=3600,
                                backoff=Backoff(initial=0.05, cap=0.2))
    decode = projector.decode

    def buggy(value: bytes, partition: int, offset: int) -> list:
        row = decode(value, partition, offset)
        if row[0] == bad_id:
            row[rows.COLUMNS.index("due_at")] = 1 << 64
        return row

    projector.decode = buggy
    try:
        totals = projector.run(until_idle=True)
    finally:
        projector.consumer.close()
        projector.producer.close()
    copies = sum(1 for e in LOG.events if e.event_id == bad_id)
    assert totals.deadletters == copies and totals.written == len(LOG.events) - copies
    letter = read_deadletters(settings, 1)[0]
    assert letter["reason"].startswith("clickhouse_rejected") and letter["event_id"] == bad_id
    assert codec.decode(letter["original"]).event_id == bad_id and letter["topic"] == settings.topics.events
    ids = {i for (i,) in store.query(f"SELECT DISTINCT event_id FROM {store.table('events')}")}
    assert ids == {e.event_id for e in LOG.events} - {bad_id}
