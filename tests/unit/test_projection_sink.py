"""The sink with a fake store: rows ClickHouse refuses are found by splitting the batch in
halves, the good rows land, an outage in the middle of it is waited out, and no insert spans
more years than ClickHouse should get partitions."""
from __future__ import annotations

import time

from events import codec
from projection_fakes import FakeStore, records, reported
from projections import logrow, metrics, rows
from projections.sink import MAX_YEARS_PER_INSERT, Backoff, Batch, Sink, year_groups

YEAR_MS = 365 * 86_400_000


def batch_of(n: int) -> Batch:
    batch = Batch()
    for record in records(n):
        batch.event_rows.append(logrow.decode(record.value, record.partition, record.offset))
        batch.sources.append(record)
    return batch


def sink(store: FakeStore) -> Sink:
    return Sink(store, backoff=Backoff(initial=0.001, factor=2, cap=0.002), log=lambda _: None)


def refuses(*ids: str):
    return lambda row: row.get("event_id") in ids


def never_stop(seconds: float) -> bool:
    return True


def test_a_batch_without_bad_rows_is_one_insert():
    store = FakeStore()
    assert sink(store).write(batch_of(10), never_stop) == [] and store.log == ["insert 10"]


def test_rows_clickhouse_refuses_alone_come_back_and_every_other_row_lands():
    store = FakeStore(refuses=refuses("e3", "e11"))
    refused = sink(store).write(batch_of(16), never_stop)
    assert sorted(record.offset for record, _, _ in refused) == [3, 11]
    assert all("does not fit" in str(error) for _, _, error in refused)
    assert sorted(store.event_ids()) == sorted(f"e{i}" for i in range(16) if i not in (3, 11))


def test_splitting_costs_a_few_inserts_per_bad_row_not_one_per_row():
    store = FakeStore(refuses=refuses("e100"))
    before = metrics.REJECTED_INSERTS._value.get()
    sink(store).write(batch_of(1024), never_stop)
    assert len(store.log) <= 2 * 11 + 1 and len(store.rows) == 1023
    assert metrics.REJECTED_INSERTS._value.get() - before == 11  # 1024, 512, ..., 1 rows


def test_a_refusal_leaves_clickhouse_up_and_an_outage_during_the_split_is_waited_out():
    store = FakeStore(refuses=refuses("e0"))
    waits = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return True

    s = sink(store)
    original = store.insert

    def insert_away_once(*args, **kwargs):
        if len(store.log) == 1 and not waits:
            store.failures = 1  # ClickHouse goes away right after the first refusal
        return original(*args, **kwargs)

    store.insert = insert_away_once
    refused = s.write(batch_of(4), wait)
    assert [record.offset for record, _, _ in refused] == [0] and len(store.rows) == 3 and waits
    assert metrics.CLICKHOUSE_UP._value.get() == 1


def test_stopping_while_clickhouse_is_away_returns_none():
    store = FakeStore(failures=10)
    assert sink(store).write(batch_of(3), lambda seconds: False) is None and store.rows == []


def test_a_backfill_spanning_a_century_is_inserted_in_groups_of_at_most_50_years():
    store = FakeStore()
    batch = Batch()
    for n in range(150):
        value = reported(n, at=946_684_800_000 + n * 99 * YEAR_MS // 150)  # 2000 to 2099
        batch.event_rows.append(rows.to_row(codec.decode(value), 0, n))
        batch.sources.append(None)
    batch.event_rows.reverse()  # any order
    assert sink(store).write(batch, never_stop) == []
    assert len(store.rows) == 150 and len(store.inserts) == 2
    for insert in store.inserts:
        years = {time.gmtime(row[rows.OCCURRED_AT] // 1000).tm_year for row in insert}
        assert len(years) <= MAX_YEARS_PER_INSERT


def test_a_batch_within_the_limit_is_not_regrouped():
    stamps = [row[rows.OCCURRED_AT] for row in batch_of(5).event_rows]
    assert year_groups(stamps) == [[0, 1, 2, 3, 4]]
    assert year_groups([]) == [[]]
