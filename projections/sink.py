"""Writing one batch to ClickHouse: columnar inserts, retried with capped exponential
backoff while ClickHouse is away. Nothing is committed to Kafka before this returns, and a
batch written twice changes no statistic, so a retry after a half-written batch is safe."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from events.orgtree import OrgUnit
from projections import metrics, orgdim, rows
from projections.errors import StoreError
from projections.store import Store


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
    event_rows: list[tuple] = field(default_factory=list)
    org_changed: dict[str, OrgUnit] = field(default_factory=dict)
    max_event_at: int = 0

    def __len__(self) -> int:
        return len(self.event_rows) + len(self.org_changed)


class Sink:
    def __init__(self, store: Store, *, backoff: Backoff | None = None, log: Callable[[str], None] = print,
                 known_units: dict[str, OrgUnit] | None = None) -> None:
        self.store = store
        self.backoff = backoff or Backoff()
        self.log = log
        self.units = known_units if known_units is not None else {}
        self.written_event_at = 0

    def write_once(self, batch: Batch) -> None:
        if batch.event_rows:
            n = self.store.insert("events", rows.COLUMNS, rows.to_columns(batch.event_rows), columnar=True)
            metrics.ROWS_WRITTEN.labels("events").inc(n)
        if batch.org_changed:
            merged = {**self.units, **batch.org_changed}
            touched = orgdim.with_descendants(batch.org_changed, merged)
            n = self.store.insert("org_units", orgdim.COLUMNS, orgdim.to_rows(touched, merged))
            metrics.ROWS_WRITTEN.labels("org_units").inc(n)
            self.units.update(batch.org_changed)

    def write(self, batch: Batch, wait: Callable[[float], bool]) -> bool:
        """Write the batch, retrying until it succeeds; ``wait(seconds)`` returns False to give up
        (shutdown), in which case nothing was committed and the batch will be read again."""
        started = time.monotonic()
        delays = self.backoff.delays()
        while True:
            try:
                self.write_once(batch)
            except StoreError as exc:
                metrics.INSERT_ERRORS.inc()
                metrics.CLICKHOUSE_UP.set(0)
                delay = next(delays)
                self.log(f"projector: ClickHouse write failed ({exc}); retrying in {delay:.1f}s")
                if not wait(delay):
                    return False
                metrics.RETRIES.inc()
                continue
            metrics.CLICKHOUSE_UP.set(1)
            metrics.BATCH_SECONDS.observe(time.monotonic() - started)
            self.written_event_at = max(self.written_event_at, batch.max_event_at)
            return True
