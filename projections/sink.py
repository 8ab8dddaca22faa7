"""Writing one batch to ClickHouse: columnar inserts that never stall the projector.

- ClickHouse away or not ready (``StoreUnavailable``, ``StoreNotReady``): the insert is retried
  with capped exponential backoff until it works or the projector stops.
- ClickHouse refuses the rows (``StoreRejected``): the rows are split in halves and each half
  written on its own, recursively, so the good rows land; a row refused alone comes back to the
  caller with the error, to be dead-lettered.
- A batch spanning more years than ``MAX_YEARS_PER_INSERT`` is inserted a group of years at a
  time, so no insert creates more partitions than ClickHouse allows (chdb: 100).

Nothing is committed to Kafka before this returns, and a batch written twice changes no
statistic, so a retry after a half-written batch is safe.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from events.orgtree import OrgUnit
from projections import metrics, orgdim, resourcerows, rows
from projections.errors import StoreError, StoreRejected, StoreUnavailable
from projections.store import Store

MAX_YEARS_PER_INSERT = 50  # events is partitioned by year (migrations/0005_events_by_year.py)


@dataclass
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def delays(self):
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap)


@dataclass
class Batch:
    event_rows: list[list] = field(default_factory=list)  # one list per row, as the projector builds them
    event_columns: list[list] | None = None  # or one list per column (what the rebuild's readers send)
    sources: list[Any] = field(default_factory=list)  # where each row came from, for dead letters
    org_changed: dict[str, OrgUnit] = field(default_factory=dict)
    org_sources: dict[str, Any] = field(default_factory=dict)
    resource_rows: list[list] = field(default_factory=list)  # rows of resource_events (projections/resourcerows.py)
    resource_sources: list[Any] = field(default_factory=list)
    max_event_at: int = 0

    def __len__(self) -> int:
        return len(self.sources) + len(self.org_changed) + len(self.resource_rows)

    def columns(self) -> list[list]:
        """The event rows column by column, as inserts take them."""
        if self.event_columns is None:
            self.event_columns = [list(c) for c in zip(*self.event_rows)] if self.event_rows else []
        return self.event_columns


Refused = tuple[Any, list | None, StoreRejected]  # (where the row came from, the row, ClickHouse's refusal)


class _Stopped(Exception):
    """The projector stopped while waiting to retry."""


def year_groups(stamps: Sequence[int], max_years: int = MAX_YEARS_PER_INSERT) -> list[list[int]]:
    """Indexes of event times (epoch ms) in groups spanning at most ``max_years`` calendar years
    (UTC) each."""
    if not stamps or _year(max(stamps)) - _year(min(stamps)) < max_years:
        return [list(range(len(stamps)))]
    by_year: dict[int, list[int]] = {}
    for i, at in enumerate(stamps):
        by_year.setdefault(_year(at), []).append(i)
    years = sorted(by_year)
    return [[i for y in years[k:k + max_years] for i in by_year[y]] for k in range(0, len(years), max_years)]


def _year(ms: int) -> int:
    return time.gmtime(ms // 1000).tm_year


def _take(columns: list[list], indexes: list[int]) -> list[list]:
    return [[column[i] for i in indexes] for column in columns]


class Sink:
    def __init__(self, store: Store, *, backoff: Backoff | None = None, log: Callable[[str], None] = print,
                 known_units: dict[str, OrgUnit] | None = None) -> None:
        self.store = store
        self.backoff = backoff or Backoff()
        self.log = log
        self.units = known_units if known_units is not None else {}
        self.written_event_at = 0
        self._layout: tuple[Sequence[str], list[int] | None] | None = None

    def write(self, batch: Batch, wait: Callable[[float], bool]) -> list[Refused] | None:
        """Write the batch; return the records whose rows ClickHouse refused even alone, or None
        when ``wait(seconds)`` returned False during a retry (shutdown): then nothing may be
        committed, and the batch will be read again."""
        started = time.monotonic()
        refused: list[Refused] = []
        try:
            columns = batch.columns()
            if columns:
                names, keep = self._event_layout()
                if keep is not None:
                    columns = [columns[i] for i in keep]
                groups = year_groups(columns[rows.OCCURRED_AT])
                for group in groups:
                    part, sources = (columns, batch.sources) if len(groups) == 1 else \
                        (_take(columns, group), [batch.sources[i] for i in group])
                    refused += self._write_splitting("events", names, part, sources, wait)
            if batch.org_changed:
                refused += self._write_org(batch, wait)
            if batch.resource_rows:
                refused += self._write_splitting("resource_events", resourcerows.COLUMNS,
                                                 [list(c) for c in zip(*batch.resource_rows)],
                                                 batch.resource_sources, wait)
        except _Stopped:
            return None
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        self.written_event_at = max(self.written_event_at, batch.max_event_at)
        return refused

    def _event_layout(self) -> tuple[Sequence[str], list[int] | None]:
        """The columns of ``events`` to insert: all of ``rows.COLUMNS``, or, on a database whose
        migrations stop before a column was added (``resource``, 0007), those it has; asked once."""
        if self._layout is None:
            try:
                have = {name for (name,) in self.store.query(
                    "SELECT name FROM system.columns WHERE database = %(db)s AND table = 'events'",
                    {"db": self.store.database})}
            except StoreError:
                return rows.COLUMNS, None  # asked again with the next batch
            if not have or set(rows.COLUMNS) <= have:
                self._layout = (rows.COLUMNS, None)
            else:
                keep = [i for i, c in enumerate(rows.COLUMNS) if c in have]
                self._layout = (tuple(rows.COLUMNS[i] for i in keep), keep)
        return self._layout

    def _write_splitting(self, table: str, names: Sequence[str], columns: list[list], sources: list,
                         wait: Callable[[float], bool]) -> list[Refused]:
        refused: list[Refused] = []
        pending = [(columns, sources)]
        while pending:
            part, part_sources = pending.pop()
            error = self._insert(table, names, part, wait)
            if error is None:
                continue
            if len(part_sources) == 1:
                refused.append((part_sources[0], [column[0] for column in part], error))
                continue
            if part is columns:
                self.log(f"projector: ClickHouse refused {len(sources)} rows of {table} ({error}); "
                         "writing them in halves to find the rows it refuses")
            mid = len(part_sources) // 2
            pending += [([c[mid:] for c in part], part_sources[mid:]), ([c[:mid] for c in part], part_sources[:mid])]
        return refused

    def _write_org(self, batch: Batch, wait: Callable[[float], bool]) -> list[Refused]:
        merged = {**self.units, **batch.org_changed}
        touched = orgdim.with_descendants(batch.org_changed, merged)
        org_rows = orgdim.to_rows(touched, merged)
        error = self._insert("org_units", orgdim.COLUMNS, [list(c) for c in zip(*org_rows)], wait)
        if error is not None:  # org records are few and arrive rarely: no splitting, each goes
            return [(source, None, error) for source in batch.org_sources.values()]
        self.units.update(batch.org_changed)
        return []

    def _insert(self, table: str, names: Sequence[str], columns: list[list],
                wait: Callable[[float], bool]) -> StoreRejected | None:
        """Insert, retrying while ClickHouse is away or not ready; return its refusal of the rows."""
        delays = self.backoff.delays()
        while True:
            try:
                n = self.store.insert(table, names, columns, columnar=True)
            except StoreRejected as exc:
                metrics.CLICKHOUSE_UP.set(1)
                metrics.REJECTED_INSERTS.inc()
                return exc
            except StoreError as exc:
                metrics.INSERT_ERRORS.inc()
                metrics.CLICKHOUSE_UP.set(0 if isinstance(exc, StoreUnavailable) else 1)
                delay = next(delays)
                self.log(f"projector: ClickHouse write failed ({exc}); retrying in {delay:.1f}s")
                if not wait(delay):
                    raise _Stopped() from exc
                metrics.RETRIES.inc()
                continue
            metrics.CLICKHOUSE_UP.set(1)
            metrics.ROWS_WRITTEN.labels(table).inc(n)
            return None
