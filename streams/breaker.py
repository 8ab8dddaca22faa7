"""The circuit breaker: when more than a share of the recent records failed on an internal error
(a bug of ours, not a bad record), the worker stops instead of dead-lettering the stream."""
from __future__ import annotations

from collections import deque


class Breaker:
    """Counts internal failures among the recent records."""

    def __init__(self, window: int, share: float, minimum: int) -> None:
        self.recent: deque[bool] = deque(maxlen=window)
        self.failures = 0
        self.share, self.minimum = share, minimum

    def record(self, failed: bool) -> bool:
        """Note one record; True when the breaker opens."""
        if len(self.recent) == self.recent.maxlen and self.recent[0]:
            self.failures -= 1
        self.recent.append(failed)
        self.failures += failed
        return failed and self.failures >= self.minimum and self.failures > self.share * len(self.recent)
