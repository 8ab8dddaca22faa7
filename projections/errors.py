"""The one root exception of the projections package."""
from __future__ import annotations


class ProjectionError(Exception):
    """Root of every error raised by ``projections``."""


class StoreError(ProjectionError):
    """ClickHouse (server or chdb) refused a statement."""


class StoreUnavailable(StoreError):
    """ClickHouse cannot be reached (down, restarting, network): worth retrying."""


class MigrationError(ProjectionError):
    """A migration file is malformed, or changed after it was applied."""
