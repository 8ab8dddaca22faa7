"""What one batch must write, collected while its records are decided and written once, when
the batch is done: the events for the log, the dead letters, the offsets it moves, its metrics.

A dead letter is bounded: the original bytes travel whole up to the intake limit; beyond it an
excerpt, the size and a SHA-256 of the whole record say what it was.
"""
from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field

from events import codec
from events.codec import MAX_RECORD_BYTES
from streams.intake import Bad

KEY_MAX = 256  # bytes of an original key kept in a dead letter
EXCERPT = 1024  # bytes of an oversized record kept in its dead letter


@dataclass(slots=True)
class Pending:
    log: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # (partition, key, value)
    dead: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    resources: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # accepted resource events
    offsets: dict = field(default_factory=dict)  # TopicPartition -> next offset to read
    counts: Counter = field(default_factory=Counter)  # (metric, label values) -> increment
    latencies: list[float] = field(default_factory=list)  # event time to handled, seconds
    records: int = 0
    internal: int = 0  # records dead-lettered because our code failed on them

    def count(self, metric, *labels: str, n: int = 1) -> None:
        self.counts[(metric, labels)] += n

    def deadletter(self, record, bad: Bad) -> None:
        """The record goes to the dead-letter topic, on its own partition, with why and where from."""
        self.dead.append((record.partition, bounded_key(record.key), deadletter_value(record, bad)))


def bounded_key(key: bytes | None) -> bytes:
    return bytes(key or b"")[:KEY_MAX]


def deadletter_value(record, bad: Bad, now_ms: int | None = None) -> bytes:
    original = bytes(record.value or b"")
    reason = f"{bad.code}: {bad.message}"
    if len(original) > MAX_RECORD_BYTES:
        digest = hashlib.sha256(original).hexdigest()
        reason += f" (original: {len(original):,} bytes, sha256 {digest}; the first {EXCERPT} kept)"
        original = original[:EXCERPT]
    return codec.encode_deadletter(reason=reason[:2000], original=original, topic=record.topic,
                                   partition=record.partition, offset=record.offset, stage=bad.stage,
                                   at=int(time.time() * 1000) if now_ms is None else now_ms,
                                   event_id=bad.event_id)
