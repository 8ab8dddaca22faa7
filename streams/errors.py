"""The one root exception of the streams package, and the exit codes a supervisor reads."""
from __future__ import annotations

# Exit codes of `gridflow worker` (docs/operations.md). None commits past the last record whose
# outputs and state Kafka acknowledged, so a restart loses nothing.
EXIT_LOG_WRITE_FAILED = 70  # Kafka did not acknowledge a write within the bound: restart
EXIT_BUG = 71  # too many records failed on an internal error: a bug to fix, a restart repeats it
EXIT_STALLED = 75  # records wait and none is handled, and a repair did not help: restart


class StreamsError(Exception):
    """Root of every error raised by ``streams``."""


class LogWriteError(StreamsError):
    """Kafka did not acknowledge writes the worker depends on (outputs, states) in time. Fatal:
    offsets are not committed, so the records are processed again after the restart."""

    def __init__(self, what: str, cause: BaseException):
        self.what, self.cause = what, cause
        super().__init__(f"writing {what} failed: {cause!r}")


class CircuitOpen(StreamsError):
    """Too many recent records failed on an internal error: stop instead of dead-lettering the stream."""


class NoOrgTree(StreamsError):
    """Neither an org file nor org units on the org topic."""


class OrgTopicError(StreamsError):
    """The org topic could not be read to its end in time (not the record's fault: exit 70)."""


class OrgBehind(StreamsError):
    """An event names a unit the worker's tree lacks: read the org topic to its end first."""

    def __init__(self, unit_id: str):
        self.unit_id = unit_id
        super().__init__(f"unit {unit_id!r} is not in the worker's org tree")
