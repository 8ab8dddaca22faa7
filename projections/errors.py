"""The one root exception of the projections package."""
from __future__ import annotations


class ProjectionError(Exception):
    """Root of every error raised by ``projections``."""


class StoreError(ProjectionError):
    """ClickHouse (server or chdb) refused a statement."""


class StoreUnavailable(StoreError):
    """ClickHouse cannot be reached (down, restarting, network): worth retrying."""


class StoreNotReady(StoreError):
    """ClickHouse answered but cannot take the statement now, whatever its rows (schema behind
    the code, no rights, memory or disk short, merges behind): worth retrying."""


class StoreRejected(StoreError):
    """ClickHouse refused the rows themselves (a value it cannot store, too many partitions in
    one insert): the same rows fail again, other rows may not."""


class MigrationError(ProjectionError):
    """A migration file is malformed, or changed after it was applied."""


class ProjectorHalted(ProjectionError):
    """The projector stopped on purpose (the dead-letter circuit breaker tripped); nothing past
    the last good batch was committed."""


class RecordRejected(ProjectionError):
    """One record of the log cannot become a row; ``reason`` is a short fixed code for metrics
    and dead letters (``decode_error``, ``validation_error``, ``not_a_log_event``)."""

    def __init__(self, reason: str, detail: str, event_id: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.event_id = event_id
