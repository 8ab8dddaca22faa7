"""The one root exception of the events package and its validation error."""
from __future__ import annotations


class EventError(Exception):
    """Root of every error raised by ``events``."""


class ValidationError(EventError):
    """A value does not fit the contract. Names the field, what was expected and what came."""

    def __init__(self, field: str, expected: str, got: object) -> None:
        self.field = field
        self.expected = expected
        self.got = got
        shown = repr(got)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: expected {expected}, got {shown}")


class DecodeError(EventError):
    """Bytes that are not a gridflow record at all (not msgpack, not a map)."""


class PolicyError(EventError):
    """The routing and SLA policy file is invalid."""


class OrgTreeError(EventError):
    """The org tree is inconsistent (unknown parent, level gap, cycle, duplicate id)."""
