"""The dead-letter circuit breaker: a bug that fails every record stops the projector instead of
dead-lettering the whole log.

Bad input fails for an expected reason (not msgpack, a field missing, a watermark in the log)
and goes to the dead-letter topic however often it comes. A record that fails with an
unexpected exception, or whose row ClickHouse refuses even alone, points at the projector or
the schema rather than at the record: one is dead-lettered and the loop goes on, but when they
are more than ``share`` of the last ``window`` records, the next records would most likely fail
alike, and the projector stops before it sends those dead letters or commits their offsets.
"""
from __future__ import annotations

from collections import deque


class Breaker:
    def __init__(self, window: int = 1000, share: float = 0.5) -> None:
        if window < 1 or not 0 < share <= 1:
            raise ValueError(f"breaker: expected window >= 1 and 0 < share <= 1, got {window} and {share}")
        self.window = window
        self.share = share
        self._batches: deque[tuple[int, int]] = deque()  # (records, unexpected), oldest first
        self._records = 0
        self._unexpected = 0

    def trips(self, records: int, unexpected: int) -> bool:
        """Would a batch of ``records`` with ``unexpected`` failures among them trip the breaker?

        It trips when the unexpected failures among the latest batches holding at least
        ``window`` records (with this one) exceed ``share`` of ``window``, or of those records
        when there are more: a log shorter than ``share * window`` never trips it."""
        total, bad = self._records + records, self._unexpected + unexpected
        return bad > self.share * max(self.window, total)

    def observe(self, records: int, unexpected: int) -> None:
        """Count a batch that went through."""
        self._batches.append((records, unexpected))
        self._records += records
        self._unexpected += unexpected
        while self._batches and self._records - self._batches[0][0] >= self.window:
            old_records, old_unexpected = self._batches.popleft()
            self._records -= old_records
            self._unexpected -= old_unexpected

    def describe(self, records: int, unexpected: int) -> str:
        return (f"{self._unexpected + unexpected} of the last {self._records + records} records failed "
                f"unexpectedly (limit: {self.share:.0%} of {self.window})")
