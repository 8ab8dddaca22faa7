"""Token buckets: ``rate`` requests a second, bursts up to ``burst``, per key (or per client
address for open reads). A refused request learns when to come back."""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable


class RateLimiter:
    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 max_buckets: int = 10_000) -> None:
        self.rate, self.burst, self.clock, self.max_buckets = rate, float(burst), clock, max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # who -> (tokens, at)

    def take(self, who: str) -> float:
        """0 when a request by ``who`` may go now (and counts it); else the seconds to wait."""
        now = self.clock()
        tokens, at = self._buckets.pop(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[who] = (tokens - 1, now)
            wait = 0.0
        else:
            self._buckets[who] = (tokens, now)
            wait = (1 - tokens) / self.rate
        while len(self._buckets) > self.max_buckets:  # the least recently seen go first
            self._buckets.popitem(last=False)
        return wait
