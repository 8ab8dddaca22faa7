"""Fakes of the projector's ports for unit tests: a consumer over a list of records, a store that
can be away for a while or refuse some rows, a producer that keeps what it sent."""
from __future__ import annotations

from collections import namedtuple
from typing import Callable

from kafka.structs import TopicPartition

from events import MatterReported, codec
from projections import rows
from projections.errors import StoreRejected, StoreUnavailable
from projections.store import Store

Record = namedtuple("Record", "topic partition offset key value")
TOPIC = "t.matters.events"
AT = 1_767_234_600_000


def reported(n: int, at: int = AT) -> bytes:
    return codec.encode(MatterReported(event_id=f"e{n}", matter_id=f"m{n}", occurred_at=at + n, producer="app",
                                       kind="incident", category="sanitation", priority="low", channel="app",
                                       place="c1", reporter="r", text="t"))


def records(n: int, first: int = 0) -> list[Record]:
    return [Record(TOPIC, 0, i, f"m{i}".encode(), reported(i)) for i in range(first, first + n)]


class FakeConsumer:
    def __init__(self, records):
        self.records = list(records)
        self.commits: list[dict] = []
        self.paused = False

    broken_polls = 0  # the next polls raise as kafka-python does while the broker is away

    def poll(self, timeout_ms=0, max_records=None):
        if self.broken_polls:
            self.broken_polls -= 1
            from kafka.errors import KafkaConnectionError

            raise KafkaConnectionError("111 ECONNREFUSED")
        if self.paused or not self.records:
            return {}
        batch, self.records = self.records[:max_records], self.records[max_records:]
        polled: dict[TopicPartition, list] = {}
        for record in batch:
            polled.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        return polled

    def commit(self, offsets):
        self.commits.append({tp: o.offset for tp, o in offsets.items()})

    def assignment(self):
        return {TopicPartition(TOPIC, 0)}

    def pause(self, *tps):
        self.paused = True

    def resume(self, *tps):
        self.paused = False

    def end_offsets(self, tps):
        return {tp: 10**9 if self.records else 0 for tp in tps}

    def position(self, tp):
        return 0

    def committed(self) -> int | None:
        return self.commits[-1][TopicPartition(TOPIC, 0)] if self.commits else None


class FakeStore(Store):
    """Away for the first ``failures`` inserts; refuses every insert holding a row ``refuses``."""

    kind = "fake"

    def __init__(self, failures: int = 0, on_fail=None, refuses: Callable[[dict], bool] | None = None):
        super().__init__("db")
        self.rows: list = []
        self.failures = failures
        self.on_fail = on_fail
        self.refuses = refuses
        self.log: list[str] = []
        self.inserts: list[list] = []

    def insert(self, table, columns, data, *, columnar=False):
        if self.failures:
            self.failures -= 1
            if self.on_fail:
                self.on_fail()
            raise StoreUnavailable("ClickHouse away")
        got = list(zip(*data)) if columnar else list(data)
        if self.refuses and any(self.refuses(dict(zip(columns, row))) for row in got):
            self.log.append(f"refused {len(got)}")
            raise StoreRejected("Code: 53. a value does not fit its column")
        self.rows += got
        self.inserts.append(got)
        self.log.append(f"insert {len(got)}")
        return len(got)

    def execute(self, sql, params=None):
        pass

    def query(self, sql, params=None):
        return []

    def query_columns(self, sql, params=None):
        return [], []

    def event_ids(self) -> list[str]:
        return [row[rows.COLUMNS.index("event_id")] for row in self.rows]


class Acknowledged:
    """What kafka-python's send returns, already acknowledged (or refused with ``error``)."""

    def __init__(self, error: Exception | None = None):
        self.error = error

    def get(self, timeout=None):
        if self.error is not None:
            raise self.error


class FakeProducer:
    def __init__(self, store_log, refuse: int = 0):
        self.sent, self.flushed, self.store_log = [], 0, store_log
        self.refuse = refuse  # the first sends Kafka does not acknowledge

    def send(self, topic, key=None, value=None):
        if self.refuse:
            self.refuse -= 1
            from kafka.errors import KafkaTimeoutError

            return Acknowledged(KafkaTimeoutError("no broker"))
        self.sent.append((topic, key, codec.decode_deadletter(value)))
        return Acknowledged()

    def flush(self):
        self.flushed += 1
        self.store_log.append("deadletters flushed")
