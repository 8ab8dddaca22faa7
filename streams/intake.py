"""What one intake record is: an upstream event, a watermark, or a dead letter with a reason.

Pure (no Kafka): the partition processor calls ``classify`` on every record before the state
machine sees it. Codes are short and bounded (they are metric labels); stage ``intake``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aiokafka.partitioner import murmur2

from events import codec
from events.codec import MAX_RECORD_BYTES
from events.errors import DecodeError, ValidationError
from events.state import REJECTIONS
from events.types import Event

STAGE = "intake"
CODES = ("too_large", "undecodable", "invalid", "not_upstream", "wrong_partition")
# `gridflow deadletters redrive` marks what it sends with the code of the dead letter it cures;
# the worker counts those records by it (a label: unknown values count as "other").
REDRIVE_HEADER = "gridflow-redriven-code"
REDRIVE_CODES = frozenset(CODES) | frozenset(REJECTIONS) | {"internal"}


@dataclass(frozen=True, slots=True)
class Bad:
    """Why a record goes to the dead-letter topic instead of the state machine."""

    stage: str
    code: str
    message: str
    event_id: str | None = None
    type: str = ""  # the event type when it decoded, for the metrics


@lru_cache(maxsize=1 << 16)  # a matter's events come close together; murmur2 in Python is slow
def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client) gives a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def classify(value: bytes | None, partition: int, partitions: int) -> Event | Bad:
    """The record's event, or why it is a dead letter."""
    if value is None:
        return Bad(STAGE, "undecodable", "an empty record (a tombstone) is not an event")
    if len(value) > MAX_RECORD_BYTES:
        return Bad(STAGE, "too_large", f"the record has {len(value):,} bytes; an intake record may have at most "
                                       f"{MAX_RECORD_BYTES:,}")
    try:
        event = codec.decode(value)
    except DecodeError as exc:
        return Bad(STAGE, "undecodable", str(exc))
    except ValidationError as exc:
        return Bad(STAGE, "invalid", str(exc))
    if event.DERIVED or event.INTERNAL:
        return Bad(STAGE, "not_upstream", f"{event.TYPE} is derived by the pipeline, not accepted from upstream",
                   event.event_id, event.TYPE)
    if event.TYPE == "watermark":
        return event  # sent to every partition on purpose
    home = partition_of(event.matter_id.encode("utf-8"), partitions)
    if home != partition:
        return Bad(STAGE, "wrong_partition",
                   f"matter {event.matter_id} belongs on partition {home}, the record came on {partition}: key "
                   "every record by its matter id and use Kafka's default (murmur2) partitioner",
                   event.event_id, event.TYPE)
    return event


def redriven_code(headers) -> str | None:
    """The dead-letter code a re-driven record carries (bounded), or None for any other record."""
    for name, value in headers:
        if name == REDRIVE_HEADER:
            code = bytes(value or b"").decode("utf-8", "replace")
            return code if code in REDRIVE_CODES else "other"
    return None
