"""The one root exception of the events package and its validation error."""
from __future__ import annotations

SHOWN_MAX = 80  # characters of an offending value quoted in a message


class EventError(Exception):
    """Root of every error raised by ``events``."""


class ValidationError(EventError):
    """A value does not fit the contract. Names the field, what was expected and what came."""

    def __init__(self, field: str, expected: str, got: object) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        super().__init__(f"{field}: expected {expected}, got {describe(got)}")


def describe(value: object) -> str:
    """A short, bounded rendering of what came. Containers are named, never printed: a
    hostile record can nest a thousand levels deep, and ``repr`` of that recurses."""
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, (set, frozenset)):
        return "a set"
    if isinstance(value, str):
        shown = repr(value[:SHOWN_MAX])
    elif isinstance(value, (bytes, bytearray, memoryview)):
        shown = repr(bytes(value[:SHOWN_MAX]))
    else:
        shown = repr(value)
    return shown if len(shown) <= SHOWN_MAX else shown[:SHOWN_MAX - 3] + "..."


class RecordTooLarge(ValidationError):
    """An event whose encoding is larger than ``events.codec.MAX_RECORD_BYTES``."""

    def __init__(self, event_id: str, size: int, limit: int) -> None:
        self.field, self.expected, self.got = "record", f"at most {limit} bytes", size
        self.event_id, self.size, self.limit = event_id, size, limit
        EventError.__init__(self, f"record: event {event_id} encodes to {size} bytes, more than the maximum "
                                  f"record of {limit} bytes")


class DecodeError(EventError):
    """Bytes that are not a gridflow record at all (not msgpack, not a map)."""


class PolicyError(EventError):
    """The routing and SLA policy file is invalid."""


class OrgTreeError(EventError):
    """The org tree is inconsistent (unknown parent, level gap, cycle, duplicate id)."""


class StateError(EventError, ValueError):
    """A stored matter state that cannot be read: malformed, or of an unknown schema version."""
